package worker_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/worker"
)

// randomBytes returns n bytes from a seeded generator, so that a misplaced
// fragment shows up as a content mismatch.
func randomBytes(n int, seed byte) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{seed}).Read(b)
	return b
}

// TestLargePayloads moves 10 MiB messages through 64 KiB rings, both ways,
// so every message is split into hundreds of fragments and reassembled.
func TestLargePayloads(t *testing.T) {
	const size = 10 << 20
	for _, sp := range spins {
		t.Run(sp.name, func(t *testing.T) {
			ctx := context.Background()
			h := start(t, worker.Config{Func: "echo", RingSize: 64 << 10, Spin: sp.spin})

			in := randomBytes(size, 1)
			out, err := h.Execute(ctx, in)
			require.NoError(t, err)
			require.Len(t, out, size)
			require.True(t, bytes.Equal(in, out), "echo of 10 MiB comes back intact")

			// A large result from a small request.
			require.NoError(t, h.SetFunc(ctx, "grow", nil))
			out, err = h.Execute(ctx, []byte(strconv.Itoa(size)))
			require.NoError(t, err)
			require.Len(t, out, size)
			assert.True(t, bytes.Equal(bytes.Repeat([]byte{'g'}, size), out), "grow's 10 MiB result is intact")

			s := h.Status()
			assert.Equal(t, uint64(2), s.Tasks)
			assert.Equal(t, uint64(size+len(strconv.Itoa(size))), s.BytesIn)
			assert.Equal(t, uint64(2*size), s.BytesOut)
			require.NoError(t, h.Close())
		})
	}
}

// TestLargePayloadsPipelined sends 10 MiB messages through 64 KiB rings
// with several in flight: pipelined Sends, concurrent Executes of large and
// small payloads, and large static data for a factory.
func TestLargePayloadsPipelined(t *testing.T) {
	const size = 10 << 20
	ctx := context.Background()
	h := start(t, worker.Config{Func: "echo", RingSize: 64 << 10})
	in, in2 := randomBytes(size, 1), randomBytes(size, 2)
	require.NoError(t, h.Send(ctx, in))
	require.NoError(t, h.Send(ctx, in2))
	for _, want := range [][]byte{in, in2} {
		out, err := h.Recv(ctx)
		require.NoError(t, err)
		require.True(t, bytes.Equal(want, out), "Send/Recv of 10 MiB comes back intact")
	}

	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := size
			if i > 0 {
				n = 1000 * i
			}
			in := randomBytes(n, byte(10+i))
			out, err := h.Execute(ctx, in)
			if assert.NoError(t, err) {
				assert.True(t, bytes.Equal(in, out), "concurrent Execute %d comes back intact", i)
			}
		}()
	}
	wg.Wait()

	static := randomBytes(size, 3)
	require.NoError(t, h.SetFunc(ctx, "prefix", static))
	out, err := h.Execute(ctx, []byte("!"))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(append(static, '!'), out), "10 MiB of static data reach the factory intact")

	s := h.Status()
	assert.Equal(t, uint64(6), s.Tasks)
	assert.Equal(t, uint64(3*size+1000+2000+1), s.BytesIn)
	assert.Equal(t, uint64(4*size+1000+2000+1), s.BytesOut)
	require.NoError(t, h.Close())
}
