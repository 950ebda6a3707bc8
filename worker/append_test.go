package worker_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/worker"
)

func TestExecuteAppend(t *testing.T) {
	ctx := context.Background()
	// A 64 KiB ring: the 1 MiB result arrives in fragments, reassembled
	// before it is appended.
	h := start(t, worker.Config{Func: "upper", RingSize: 64 << 10})
	big := randomBytes(1<<20, 7)
	tests := []struct {
		name string
		dst  []byte
		in   []byte
	}{
		{"a nil dst gets a fresh buffer", nil, []byte("abc")},
		{"the result follows what dst holds", []byte("prefix:"), []byte("abc")},
		{"an empty result leaves dst as it is", []byte("prefix:"), nil},
		{"a dst without room grows", make([]byte, 3, 4), []byte("abcdef")},
		{"a result larger than the ring", []byte("p"), big},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := append(append([]byte(nil), tt.dst...), bytes.ToUpper(tt.in)...)
			out, err := h.ExecuteAppend(ctx, tt.dst, tt.in)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(want, out), "got %.40q, want %.40q", out, want)
		})
	}

	t.Run("a dst with room is filled in place", func(t *testing.T) {
		buf := make([]byte, 0, 64)
		out, err := h.ExecuteAppend(ctx, buf, []byte("in place"))
		require.NoError(t, err)
		assert.Equal(t, "IN PLACE", string(out))
		assert.Equal(t, "IN PLACE", string(buf[:len(out)]), "the result is in dst's own memory")
	})

	t.Run("an error returns dst unchanged", func(t *testing.T) {
		require.NoError(t, h.SetFunc(ctx, "fail", nil))
		dst := []byte("kept")
		out, err := h.ExecuteAppend(ctx, dst, []byte("x"))
		var re *worker.RemoteError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, "kept", string(out))
	})
	require.NoError(t, h.Close())
}

// TestExecuteAppendReusesItsBuffer is the point of ExecuteAppend: with a
// buffer that has room, a round trip allocates nothing in the parent.
func TestExecuteAppendReusesItsBuffer(t *testing.T) {
	ctx := context.Background()
	h := start(t, worker.Config{Func: "echo"})
	in := randomBytes(4<<10, 3)
	buf := make([]byte, 0, len(in))
	allocs := testing.AllocsPerRun(200, func() {
		out, err := h.ExecuteAppend(ctx, buf[:0], in)
		if err != nil || !bytes.Equal(in, out) {
			t.Fatalf("ExecuteAppend: %v (%d bytes back)", err, len(out))
		}
	})
	assert.Zero(t, allocs, "allocations per ExecuteAppend into a buffer with room")
	require.NoError(t, h.Close())
}

// TestExecuteAppendNeverWritesAfterReturning: a result that arrives after
// the caller's context ended is dropped, not copied into the caller's
// buffer, which by then may hold something else.
func TestExecuteAppendNeverWritesAfterReturning(t *testing.T) {
	for _, sp := range spins {
		t.Run(sp.name, func(t *testing.T) {
			h := start(t, worker.Config{Func: "slowgrow", Spin: sp.spin})
			ctx := context.Background()
			const size = 256 << 10
			buf := make([]byte, 0, size)
			short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
			defer cancel()
			out, err := h.ExecuteAppend(short, buf, []byte(fmt.Sprint(100*time.Millisecond, size)))
			require.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Empty(t, out)

			// The late result has been read by the time a later call is
			// answered (answers come in order).
			_, err = h.Execute(ctx, []byte("0s 1"))
			require.NoError(t, err)
			assert.Zero(t, bytes.Count(buf[:size], []byte{'g'}), "bytes of the late result written into the caller's buffer")
			require.NoError(t, h.Close())
		})
	}
}

// TestExecuteAppendAbandonRace races callers that give up against the
// reader that would copy their results: concurrent ExecuteAppend calls
// with timeouts around the time a result takes, each into a buffer filled
// with a marker. After every call returns and the results in flight have
// been read, a buffer whose call failed is all marker, and one whose call
// succeeded holds its result and then the marker.
func TestExecuteAppendAbandonRace(t *testing.T) {
	const (
		goroutines = 4
		calls      = 200
		size       = 4 << 10
		marker     = 0xa5
	)
	if testing.Short() {
		t.Skip("a stress test")
	}
	ctx := context.Background()
	h := start(t, worker.Config{Func: "slowgrow"})
	type record struct {
		buf []byte // the whole buffer, capacity included
		n   int    // bytes of result returned, -1 for an error
	}
	var mu sync.Mutex
	var records []record
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			in := []byte(fmt.Sprint(time.Duration(0), size))
			for range calls {
				buf := bytes.Repeat([]byte{marker}, size)[:0]
				// 1 us to 4 ms: some calls give up, some do not.
				cctx, cancel := context.WithTimeout(ctx, time.Microsecond<<rng.IntN(13))
				out, err := h.ExecuteAppend(cctx, buf, in)
				cancel()
				r := record{buf: buf[:size], n: -1}
				if err == nil {
					r.n = len(out)
				}
				mu.Lock()
				records = append(records, r)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// Every result in flight has been read once a later call is answered.
	_, err := h.Execute(ctx, []byte("0s 1"))
	require.NoError(t, err)
	failed := 0
	for _, r := range records {
		want := bytes.Repeat([]byte{marker}, size)
		if r.n >= 0 {
			require.Equal(t, size, r.n)
			want = bytes.Repeat([]byte{'g'}, size)
		} else {
			failed++
		}
		require.True(t, bytes.Equal(want, r.buf), "a buffer written after its call returned (result %d bytes)", r.n)
	}
	t.Logf("%d of %d calls gave up", failed, len(records))
	assert.Positive(t, failed, "no call gave up: the race was not exercised")
	assert.Less(t, failed, len(records), "every call gave up: the race was not exercised")
	require.NoError(t, h.Close())
}
