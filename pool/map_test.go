package pool_test

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/pool"
	"github.com/shmpool/shmpool/worker"
)

func TestMap(t *testing.T) {
	for _, v := range funcVariants {
		t.Run(v.name, func(t *testing.T) {
			p := newPool(t, pool.Config{Workers: 3, Worker: worker.Config{Func: "upper" + v.suffix}})
			ins := items(5000)
			outs, err := p.Map(context.Background(), ins)
			require.NoError(t, err)
			require.Len(t, outs, len(ins))
			for i := range ins {
				require.Equal(t, string(bytes.ToUpper(ins[i])), string(outs[i]), "item %d", i)
			}
			// Results with spare capacity must not share it.
			if len(outs) > 1 {
				_ = append(outs[0], "XXXX"...)
				require.Equal(t, "ITEM1", string(outs[1]))
			}
		})
	}
}

func TestMapEmpty(t *testing.T) {
	p := newPool(t, pool.Config{Workers: 1, Worker: worker.Config{Func: "echo"}})
	for _, ins := range [][][]byte{nil, {}} {
		outs, err := p.Map(context.Background(), ins)
		require.NoError(t, err)
		assert.NotNil(t, outs)
		assert.Empty(t, outs)
	}
}

func TestMapMixedSizes(t *testing.T) {
	p := newPool(t, pool.Config{Workers: 2, Worker: worker.Config{Func: "echo"}})
	var ins [][]byte
	for i := range 300 {
		size := []int{0, 1, 7, 100, 8 << 10, 8<<10 + 1, 70 << 10, 1 << 20}[i%8]
		b := make([]byte, size)
		for j := range b {
			b[j] = byte(i + j)
		}
		ins = append(ins, b)
	}
	outs, err := p.Map(context.Background(), ins)
	require.NoError(t, err)
	for i := range ins {
		require.True(t, bytes.Equal(ins[i], outs[i]), "item %d of %d bytes", i, len(ins[i]))
	}
}

// TestMapStopsAtTheFirstFailingItem: the error is the failing item with
// the lowest index, even when a later item fails first; items after it
// are not dispatched.
func TestMapStopsAtTheFirstFailingItem(t *testing.T) {
	for _, v := range funcVariants {
		t.Run(v.name, func(t *testing.T) {
			p := newPool(t, pool.Config{Workers: 2, Worker: worker.Config{Func: "fail" + v.suffix}})
			ins := make([][]byte, 2000)
			for i := range ins {
				ins[i] = []byte("sleep 1ms")
			}
			ins[10] = []byte("sleep 100ms")
			ins[11] = []byte("fail eleven")
			ins[12] = []byte("fail twelve")
			ins[30] = []byte("panic thirty")
			_, err := p.Map(context.Background(), ins)
			var ie *pool.ItemError
			require.ErrorAs(t, err, &ie)
			assert.Equal(t, 11, ie.Index)
			var re *worker.RemoteError
			require.ErrorAs(t, err, &re)
			assert.Contains(t, re.Message, "fail eleven")
			st := p.Status()
			assert.Less(t, st.Total.Tasks, uint64(len(ins)), "dispatch stopped")
			assert.Equal(t, 0, st.Queued, "nothing left queued")
		})
	}
}

// TestMapReturnsOnceInFlightWorkDrained: after a failure Map waits for the
// items in flight; with a slow item in flight it returns after it.
func TestMapReturnsOnceInFlightWorkDrained(t *testing.T) {
	p := newPool(t, pool.Config{Workers: 2, Worker: worker.Config{Func: "fail-raw"}})
	ins := [][]byte{[]byte("sleep 300ms"), []byte("fail now")}
	start := time.Now()
	_, err := p.Map(context.Background(), ins)
	var ie *pool.ItemError
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, 1, ie.Index)
	assert.GreaterOrEqual(t, time.Since(start), 250*time.Millisecond)
	assert.Equal(t, "idle", p.Status().Total.State.String())
}

func TestMapCancelled(t *testing.T) {
	p := newPool(t, pool.Config{Workers: 2, Worker: worker.Config{Func: "sleep"}})
	ins := make([][]byte, 200)
	for i := range ins {
		ins[i] = []byte("100ms")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := p.Map(ctx, ins)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), time.Second, "promptly")
	eventually(t, 5*time.Second, func() bool { return p.Status().Queued == 0 }, "work still queued")
	// The pool is fine afterwards.
	out, err := p.Do(context.Background(), []byte("1ms"))
	require.NoError(t, err)
	assert.Equal(t, "1ms", string(out))
}

func TestStream(t *testing.T) {
	for _, v := range funcVariants {
		t.Run(v.name, func(t *testing.T) {
			p := newPool(t, pool.Config{Workers: 3, Worker: worker.Config{Func: "fail" + v.suffix}})
			ins := items(3000)
			ins[5] = []byte("fail five")
			ins[6] = []byte("sleep 50ms")
			next := 0
			for r := range p.Stream(context.Background(), seq(ins)) {
				require.Equal(t, next, r.Index, "in order")
				if next == 5 {
					var re *worker.RemoteError
					require.ErrorAs(t, r.Err, &re, "an item's error is its result's")
				} else {
					require.NoError(t, r.Err)
					require.Equal(t, string(bytes.ToUpper(ins[next])), string(r.Out))
				}
				next++
			}
			assert.Equal(t, len(ins), next)
		})
	}
}

func TestStreamEmpty(t *testing.T) {
	p := newPool(t, pool.Config{Workers: 1, Worker: worker.Config{Func: "echo"}})
	for range p.Stream(context.Background(), seq(nil)) {
		t.Fatal("a result from no input")
	}
	for range p.Unordered(context.Background(), seq(nil)) {
		t.Fatal("a result from no input")
	}
}

// TestStreamIsLazyAndBounded: a slow first item holds back reading the
// input; the read-ahead stays within the window however long the input.
func TestStreamIsLazyAndBounded(t *testing.T) {
	const workers, inflight = 2, 2
	p := newPool(t, pool.Config{Workers: workers, MaxInFlight: inflight, Worker: worker.Config{Func: "fail"}})
	var read atomic.Int64
	big := strings.Repeat("x", 64<<10) // large items: the window is counted in bytes
	in := func(yield func([]byte) bool) {
		for i := 0; ; i++ {
			read.Add(1)
			b := []byte(big)
			if i == 0 {
				b = []byte("sleep 300ms")
			}
			if !yield(b) {
				return
			}
		}
	}
	got := 0
	maxAhead := int64(0)
	for r := range p.Stream(context.Background(), in) {
		require.Equal(t, got, r.Index)
		maxAhead = max(maxAhead, read.Load()-int64(got))
		got++
		if got == 200 {
			break
		}
	}
	// 2 messages of 128 KiB (or 2 items) per worker in flight, plus one.
	assert.LessOrEqual(t, maxAhead, int64(2*workers*inflight+2), "read ahead of the oldest result")
	assert.Greater(t, maxAhead, int64(1), "some read-ahead")
}

// TestBreakLeavesNothingBehind: breaking out of Stream and Unordered drops
// the queued work at once; nothing runs for it afterwards.
func TestBreakLeavesNothingBehind(t *testing.T) {
	for _, name := range []string{"Stream", "Unordered"} {
		t.Run(name, func(t *testing.T) {
			p := newPool(t, pool.Config{Workers: 2, Worker: worker.Config{Func: "sleep"}})
			iterate := iterator(p, name)
			in := endless([]byte("2ms"))
			n := 0
			for r := range iterate(context.Background(), in) {
				require.NoError(t, r.Err)
				if n++; n == 10 {
					break
				}
			}
			assert.Equal(t, 0, p.Status().Queued, "queued work dropped")
			// What was in flight finishes; nothing else runs.
			var tasks uint64
			eventually(t, 5*time.Second, func() bool {
				before := p.Status().Total.Tasks
				time.Sleep(100 * time.Millisecond)
				tasks = p.Status().Total.Tasks
				return tasks == before
			}, "work still running")
			// At most 2 items a message until batches are sized.
			assert.LessOrEqual(t, tasks, uint64(n+2*2*pool.DefaultMaxInFlight), "more ran than was in flight")
			time.Sleep(100 * time.Millisecond)
			assert.Equal(t, tasks, p.Status().Total.Tasks, "nothing more ran")
		})
	}
}

func TestStreamCancelled(t *testing.T) {
	for _, name := range []string{"Stream", "Unordered"} {
		t.Run(name, func(t *testing.T) {
			p := newPool(t, pool.Config{Workers: 2, Worker: worker.Config{Func: "sleep"}})
			iterate := iterator(p, name)
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			in := endless([]byte("20ms"))
			start := time.Now()
			var last pool.Result
			n := 0
			for r := range iterate(ctx, in) {
				last = r
				n++
			}
			assert.Less(t, time.Since(start), time.Second)
			require.ErrorIs(t, last.Err, context.DeadlineExceeded, "the last result says why")
			if name == "Stream" {
				assert.Equal(t, n-1, last.Index, "the first item not yielded")
			} else {
				assert.Equal(t, -1, last.Index)
			}
		})
	}
}

func TestUnordered(t *testing.T) {
	for _, v := range funcVariants {
		t.Run(v.name, func(t *testing.T) {
			p := newPool(t, pool.Config{Workers: 2, Worker: worker.Config{Func: "fail" + v.suffix}})
			ins := items(2000)
			ins[0] = []byte("sleep 200ms")
			ins[7] = []byte("fail seven")
			seen := make([]bool, len(ins))
			var order []int
			for r := range p.Unordered(context.Background(), seq(ins)) {
				require.False(t, seen[r.Index], "item %d twice", r.Index)
				seen[r.Index] = true
				order = append(order, r.Index)
				switch r.Index {
				case 7:
					require.Error(t, r.Err)
				case 0:
					require.NoError(t, r.Err)
					require.Equal(t, "SLEEP 200MS", string(r.Out))
				default:
					require.NoError(t, r.Err)
					require.Equal(t, string(bytes.ToUpper(ins[r.Index])), string(r.Out))
				}
			}
			require.Len(t, order, len(ins))
			assert.NotEqual(t, 0, order[0], "the slow item does not hold back the others")
		})
	}
}

// TestBatching: many small queued items travel in batches; a lone item, a
// large item, or an unbatchable function's items travel alone; an item
// that looks like a batch frame still round-trips.
func TestBatching(t *testing.T) {
	t.Run("many small items are batched", func(t *testing.T) {
		p := newPool(t, pool.Config{Workers: 2, Worker: worker.Config{Func: "echo"}})
		_, err := p.Map(context.Background(), items(20000))
		require.NoError(t, err)
		msgs, items := pool.Batches(p)
		assert.Greater(t, items, 10*msgs, "mostly batched: %d items in %d batches", items, msgs)
		assert.EqualValues(t, 20000, p.Status().Total.Tasks, "Status counts items")
	})
	t.Run("a lone item is not", func(t *testing.T) {
		p := newPool(t, pool.Config{Workers: 2, Worker: worker.Config{Func: "echo"}})
		for range 20 {
			_, err := p.Do(context.Background(), []byte("x"))
			require.NoError(t, err)
		}
		msgs, _ := pool.Batches(p)
		assert.Zero(t, msgs)
	})
	t.Run("large items are not", func(t *testing.T) {
		p := newPool(t, pool.Config{Workers: 2, Worker: worker.Config{Func: "echo"}})
		ins := make([][]byte, 100)
		for i := range ins {
			ins[i] = make([]byte, 64<<10)
		}
		_, err := p.Map(context.Background(), ins)
		require.NoError(t, err)
		msgs, _ := pool.Batches(p)
		assert.Zero(t, msgs)
	})
	t.Run("an unbatchable function's items are not", func(t *testing.T) {
		p := newPool(t, pool.Config{Workers: 2, Worker: worker.Config{Func: "echo-raw"}})
		_, err := p.Map(context.Background(), items(2000))
		require.NoError(t, err)
		msgs, _ := pool.Batches(p)
		assert.Zero(t, msgs)
	})
	t.Run("nor with a worker binary of its own", func(t *testing.T) {
		exe, err := os.Executable()
		require.NoError(t, err)
		p := newPool(t, pool.Config{Workers: 2, Worker: worker.Config{Func: "echo", Path: exe}})
		_, err = p.Map(context.Background(), items(2000))
		require.NoError(t, err)
		msgs, _ := pool.Batches(p)
		assert.Zero(t, msgs, "another binary might not know the batch wrapper")
	})
	t.Run("an item that looks like a batch frame round-trips", func(t *testing.T) {
		p := newPool(t, pool.Config{Workers: 1, Worker: worker.Config{Func: "upper"}})
		in := append(pool.BatchMagic(), "abc"...)
		out, err := p.Do(context.Background(), in)
		require.NoError(t, err)
		assert.Equal(t, string(bytes.ToUpper(in)), string(out))
		ins := [][]byte{in, []byte("x"), in, []byte("y")}
		outs, err := p.Map(context.Background(), ins)
		require.NoError(t, err)
		for i := range ins {
			assert.Equal(t, string(bytes.ToUpper(ins[i])), string(outs[i]))
		}
	})
	t.Run("batches stay under a small MaxPayload", func(t *testing.T) {
		p := newPool(t, pool.Config{Workers: 1, Worker: worker.Config{Func: "echo", MaxPayload: 4 << 10}})
		ins := make([][]byte, 2000)
		for i := range ins {
			ins[i] = bytes.Repeat([]byte{byte(i)}, 1000)
		}
		outs, err := p.Map(context.Background(), ins)
		require.NoError(t, err)
		for i := range ins {
			require.Equal(t, ins[i], outs[i])
		}
		assert.Equal(t, 0, p.Status().Restarts)
	})
	t.Run("results larger than MaxPayload together run alone", func(t *testing.T) {
		p := newPool(t, pool.Config{Workers: 1, Worker: worker.Config{Func: "prefix", Static: bytes.Repeat([]byte("p"), 3000), MaxPayload: 64 << 10}})
		outs, err := p.Map(context.Background(), items(400))
		require.NoError(t, err)
		for i, out := range outs {
			require.Equal(t, fmt.Sprintf("%sitem%d", strings.Repeat("p", 3000), i), string(out))
		}
	})
}

// TestStreamEndsWhenThePoolCloses: an endless Stream ends with ErrClosed
// once the pool is closed under it.
func TestStreamEndsWhenThePoolCloses(t *testing.T) {
	for _, name := range []string{"Stream", "Unordered"} {
		t.Run(name, func(t *testing.T) {
			p := newPool(t, pool.Config{Workers: 2, Worker: worker.Config{Func: "echo"}})
			iterate := iterator(p, name)
			in := endless([]byte("x"))
			closed := make(chan error, 1)
			var last pool.Result
			refused := 0
			n := 0
			for r := range iterate(context.Background(), in) {
				if n++; n == 1000 {
					go func() { closed <- p.Close() }()
				}
				if r.Err != nil {
					require.ErrorIs(t, r.Err, pool.ErrClosed)
					refused++
				}
				last = r
			}
			assert.Equal(t, 1, refused, "one refused item, then the end")
			if name == "Stream" {
				require.ErrorIs(t, last.Err, pool.ErrClosed, "in order: the refused item is the last")
			}
			require.NoError(t, <-closed)
		})
	}
}

// iterator returns p.Stream, or p.Unordered when name is "Unordered".
func iterator(p *pool.Pool, name string) func(context.Context, iter.Seq[[]byte]) iter.Seq[pool.Result] {
	if name == "Unordered" {
		return p.Unordered
	}
	return p.Stream
}

// endless yields b until the caller stops.
func endless(b []byte) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for yield(b) {
		}
	}
}
