package ring_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/internal/atomicx"
	"github.com/shmpool/shmpool/internal/testutil"
	"github.com/shmpool/shmpool/ring"
)

func TestMain(m *testing.M) { testutil.Main(m, helpers) }

// newRing returns a producer and consumer over a fresh heap region.
func newRing(tb testing.TB, capacity int) (*ring.Ring, *ring.Producer, *ring.Consumer) {
	tb.Helper()
	r, err := ring.Init(atomicx.AlignedBytes(ring.RegionSize(capacity)))
	require.NoError(tb, err)
	return r, r.Producer(), r.Consumer(64 << 20)
}

// pattern is a source of deterministic payload bytes: message i of size n
// is pattern[i%4096:][:n].
var pattern = func() []byte {
	b := make([]byte, 4096+8<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], rng.Uint64())
	}
	return b
}()

func payload(i uint64, n int) []byte { return pattern[i%4096:][:n] }

// push writes a message of any size, yielding while the ring is full.
func push(tb testing.TB, p *ring.Producer, kind ring.Kind, id uint64, data []byte, drain func()) {
	var o ring.Outgoing
	o.Reset(kind, id, data)
	for {
		done, _, err := p.PushMessage(&o)
		require.NoError(tb, err)
		if done {
			return
		}
		if drain != nil {
			drain()
		} else {
			runtime.Gosched()
		}
	}
}

func TestInitAndAttachValidate(t *testing.T) {
	tests := []struct {
		name   string
		region func() []byte
	}{
		{"a region smaller than the header", func() []byte { return atomicx.AlignedBytes(100) }},
		{"a capacity that is not a power of two", func() []byte { return atomicx.AlignedBytes(ring.HeaderSize + 5000) }},
		{"a capacity below the minimum", func() []byte { return atomicx.AlignedBytes(ring.HeaderSize + 2048) }},
		{"a misaligned region", func() []byte { return atomicx.AlignedBytes(ring.RegionSize(4096) + 4)[4:] }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ring.Init(tt.region())
			require.Error(t, err)
			_, err = ring.Attach(tt.region())
			require.Error(t, err)
		})
	}

	t.Run("attach checks the magic", func(t *testing.T) {
		_, err := ring.Attach(atomicx.AlignedBytes(ring.RegionSize(4096)))
		require.ErrorIs(t, err, ring.ErrCorrupt)
		assert.ErrorContains(t, err, "magic")
	})
	t.Run("attach checks the capacity against the region", func(t *testing.T) {
		region := atomicx.AlignedBytes(ring.RegionSize(8192))
		_, err := ring.Init(region[:ring.RegionSize(4096)])
		require.NoError(t, err)
		_, err = ring.Attach(region)
		require.ErrorIs(t, err, ring.ErrCorrupt)
	})
	t.Run("attach checks the index distance", func(t *testing.T) {
		region := atomicx.AlignedBytes(ring.RegionSize(4096))
		_, err := ring.Init(region)
		require.NoError(t, err)
		binary.LittleEndian.PutUint64(region[128:], 8192) // tail two capacities ahead
		_, err = ring.Attach(region)
		var ce *ring.CorruptError
		require.ErrorAs(t, err, &ce)
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	})
	t.Run("attach accepts what init wrote", func(t *testing.T) {
		region := atomicx.AlignedBytes(ring.RegionSize(4096))
		_, err := ring.Init(region)
		require.NoError(t, err)
		r, err := ring.Attach(region)
		require.NoError(t, err)
		assert.Equal(t, 4096, r.Capacity())
		assert.Equal(t, 2048-16, r.MaxRecord())
	})
}

func TestEdgeCases(t *testing.T) {
	const capacity = 4096
	tests := []struct {
		name string
		run  func(t *testing.T, r *ring.Ring, p *ring.Producer, c *ring.Consumer)
	}{
		{"an empty ring has nothing to pop", func(t *testing.T, r *ring.Ring, p *ring.Producer, c *ring.Consumer) {
			_, ok, err := c.Peek()
			require.NoError(t, err)
			assert.False(t, ok)
			assert.False(t, c.Ready())
			assert.Equal(t, capacity, p.Free())
		}},
		{"a full ring refuses a reservation until the consumer releases", func(t *testing.T, r *ring.Ring, p *ring.Producer, c *ring.Consumer) {
			msg := make([]byte, capacity/4-16)
			for i := range 4 {
				ok, _, err := p.TryPush(1, uint64(i), msg)
				require.NoError(t, err)
				require.True(t, ok, "record %d fits", i)
			}
			assert.Zero(t, p.Free())
			ok, _, err := p.TryPush(1, 9, nil)
			require.NoError(t, err)
			assert.False(t, ok, "not even an empty record fits in a full ring")
			m, ok, err := c.TryPop(nil)
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, uint64(0), m.ID)
			ok, _, err = p.TryPush(1, 9, nil)
			require.NoError(t, err)
			assert.True(t, ok)
		}},
		{"a record that exactly fits the end needs no padding", func(t *testing.T, r *ring.Ring, p *ring.Producer, c *ring.Consumer) {
			pushPop(t, p, c, 1, capacity/2-16) // fills [0, 2048)
			pushPop(t, p, c, 2, capacity/2-16) // fills [2048, 4096) exactly
			pushPop(t, p, c, 3, 8)             // starts at offset 0 again
			assert.Equal(t, capacity, p.Free())
		}},
		{"a record that would cross the end is padded and wraps to the start", func(t *testing.T, r *ring.Ring, p *ring.Producer, c *ring.Consumer) {
			pushPop(t, p, c, 1, 2000) // ends at 2016
			pushPop(t, p, c, 2, 1900) // ends at 3936
			pushPop(t, p, c, 3, 1000) // 160 left at the end: padding, then offset 0
			pushPop(t, p, c, 4, 1000)
		}},
		{"padding of a single word at the end", func(t *testing.T, r *ring.Ring, p *ring.Producer, c *ring.Consumer) {
			pushPop(t, p, c, 1, capacity/2-16)
			pushPop(t, p, c, 2, capacity/2-16-8) // ends at 4088: 8 bytes before the end
			pushPop(t, p, c, 3, 0)
		}},
		{"a record of the largest size goes in one record", func(t *testing.T, r *ring.Ring, p *ring.Producer, c *ring.Consumer) {
			ok, _, err := p.TryPush(7, 1, payload(1, r.MaxRecord()))
			require.NoError(t, err)
			require.True(t, ok)
			m, ok, err := c.Peek()
			require.NoError(t, err)
			require.True(t, ok)
			assert.False(t, m.Owned, "one record is read in place")
			assert.Equal(t, payload(1, r.MaxRecord()), m.Data)
			_, err = c.Release()
			require.NoError(t, err)
		}},
		{"a reservation larger than a record is refused", func(t *testing.T, r *ring.Ring, p *ring.Producer, c *ring.Consumer) {
			_, ok, err := p.Reserve(r.MaxRecord() + 1)
			assert.False(t, ok)
			require.ErrorIs(t, err, ring.ErrTooLarge)
			_, _, err = p.Reserve(-1)
			require.ErrorIs(t, err, ring.ErrTooLarge)
			ok, _, err = p.TryPush(1, 1, make([]byte, capacity*2))
			assert.False(t, ok)
			require.ErrorIs(t, err, ring.ErrTooLarge)
		}},
		{"a message reassembles across the wrap", func(t *testing.T, r *ring.Ring, p *ring.Producer, c *ring.Consumer) {
			pushPop(t, p, c, 1, 2000) // move the indices past the middle
			pushPop(t, p, c, 2, 1000)
			want := payload(5, 10*capacity+123)
			var got ring.Msg
			push(t, p, 9, 5, want, func() {
				m, ok, err := c.Peek()
				require.NoError(t, err)
				if ok {
					got = m
				}
			})
			for got.Data == nil {
				m, ok, err := c.Peek()
				require.NoError(t, err)
				if ok {
					got = m
				}
			}
			assert.True(t, got.Owned)
			assert.Equal(t, ring.Kind(9), got.Kind)
			assert.Equal(t, uint64(5), got.ID)
			assert.True(t, bytes.Equal(want, got.Data))
			_, err := c.Release()
			require.NoError(t, err)
			assert.Equal(t, capacity, p.Free())
		}},
		{"a shorter commit frees the rest of the reservation", func(t *testing.T, r *ring.Ring, p *ring.Producer, c *ring.Consumer) {
			buf, ok, err := p.Reserve(1000)
			require.NoError(t, err)
			require.True(t, ok)
			copy(buf, "hello")
			_, err = p.Commit(5, 3, 42)
			require.NoError(t, err)
			assert.Equal(t, capacity-24, p.Free())
			m, ok, err := c.TryPop(nil)
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, "hello", string(m.Data))
		}},
		{"commit without a reservation is an error", func(t *testing.T, r *ring.Ring, p *ring.Producer, c *ring.Consumer) {
			_, err := p.Commit(0, 1, 1)
			require.Error(t, err)
		}},
		{"the waiting words are reported after publish and release", func(t *testing.T, r *ring.Ring, p *ring.Producer, c *ring.Consumer) {
			r.ConsumerWaiting().Store(1)
			_, wake, err := p.TryPush(1, 1, []byte("x"))
			require.NoError(t, err)
			assert.True(t, wake)
			r.ProducerWaiting().Store(1)
			_, ok, err := c.Peek()
			require.NoError(t, err)
			require.True(t, ok)
			wake, err = c.Release()
			require.NoError(t, err)
			assert.True(t, wake)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, p, c := newRing(t, capacity)
			tt.run(t, r, p, c)
		})
	}
}

func pushPop(t *testing.T, p *ring.Producer, c *ring.Consumer, id uint64, n int) {
	t.Helper()
	ok, _, err := p.TryPush(1, id, payload(id, n))
	require.NoError(t, err)
	require.True(t, ok, "record %d of %d bytes fits", id, n)
	m, ok, err := c.TryPop(nil)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, id, m.ID)
	assert.True(t, bytes.Equal(payload(id, n), m.Data), "content of record %d", id)
}

// TestStress runs a producer and a consumer goroutine over a heap ring under
// the race detector. Invariants: 1. every message is received exactly once,
// in order, with its kind, id and content; 2. messages up to three times the
// largest record pass (fragmentation); 3. no error is ever reported.
func TestStress(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 20_000
	}
	r, p, c := newRing(t, 8192)
	maxSize := 3 * r.MaxRecord()
	size := func(rng *rand.Rand) int {
		if rng.IntN(4) == 0 {
			return rng.IntN(maxSize + 1)
		}
		return rng.IntN(129)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		rng := rand.New(rand.NewPCG(7, 7))
		for i := range uint64(n) {
			push(t, p, ring.Kind(1+i%200), i, payload(i, size(rng)), nil)
		}
	}()
	rng := rand.New(rand.NewPCG(7, 7))
	var buf []byte
	for i := uint64(0); i < uint64(n); {
		m, ok, err := c.TryPop(buf)
		require.NoError(t, err)
		if !ok {
			runtime.Gosched()
			continue
		}
		want := payload(i, size(rng))
		if m.ID != i || m.Kind != ring.Kind(1+i%200) || !bytes.Equal(m.Data, want) {
			t.Fatalf("message %d: got id %d kind %d len %d, want len %d", i, m.ID, m.Kind, len(m.Data), len(want))
		}
		if cap(m.Data) > cap(buf) {
			buf = m.Data
		}
		i++
	}
	<-done
	_, ok, err := c.Peek()
	require.NoError(t, err)
	assert.False(t, ok, "nothing beyond the last message")
}

func TestConsumerLimitsReassembly(t *testing.T) {
	r, err := ring.Init(atomicx.AlignedBytes(ring.RegionSize(4096)))
	require.NoError(t, err)
	p, c := r.Producer(), r.Consumer(5000)
	var o ring.Outgoing
	o.Reset(1, 1, make([]byte, 6000))
	_, _, err = p.PushMessage(&o) // the first fragment announces 6000 bytes
	require.NoError(t, err)
	_, _, err = c.Peek()
	require.ErrorIs(t, err, ring.ErrCorrupt)
	assert.ErrorContains(t, err, "limit 5000")
	_, _, err = c.Peek()
	require.ErrorIs(t, err, ring.ErrCorrupt, "the error is sticky")
}

func TestNoAllocations(t *testing.T) {
	_, p, c := newRing(t, 1<<16)
	msg := make([]byte, 64)
	buf := make([]byte, 0, 64)
	allocs := testing.AllocsPerRun(1000, func() {
		if ok, _, err := p.TryPush(1, 1, msg); !ok || err != nil {
			panic("push failed")
		}
		if _, ok, err := c.TryPop(buf); !ok || err != nil {
			panic("pop failed")
		}
	})
	assert.Zero(t, allocs)
}

func TestClone(t *testing.T) {
	for _, n := range []int{0, 1, 4095, 256 << 10, 256<<10 + 1, 1 << 20, 2<<20 + 3, 5 << 20} {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(i*7 + i>>16)
		}
		got := ring.Clone(src)
		require.NotNil(t, got, "size %d", n)
		assert.Equal(t, src, got, "size %d", n)
		assert.Equal(t, n, cap(got), "size %d: no spare capacity", n)
		if n > 0 {
			got[0]++
			assert.NotEqual(t, src[0], got[0], "size %d: the clone shares memory with its source", n)
		}
	}
}
