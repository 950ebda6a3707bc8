package pool_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/pool"
	"github.com/shmpool/shmpool/status"
	"github.com/shmpool/shmpool/worker"
)

// Every test of a user function runs twice: through the batch wrapper
// (pool.Register) and without it (worker.Register).
var funcVariants = []struct{ name, suffix string }{
	{"batchable function", ""},
	{"unbatchable function", "-raw"},
}

func TestDo(t *testing.T) {
	for _, v := range funcVariants {
		t.Run(v.name, func(t *testing.T) {
			p := newPool(t, pool.Config{Workers: 2, Worker: worker.Config{Func: "fail" + v.suffix}})
			ctx := context.Background()

			out, err := p.Do(ctx, []byte("hello"))
			require.NoError(t, err)
			assert.Equal(t, "HELLO", string(out))

			_, err = p.Do(ctx, []byte("fail here"))
			var re *worker.RemoteError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, "fail"+v.suffix, re.Func, "the user's function name")
			assert.Contains(t, re.Message, `cannot handle "fail here"`)
			assert.False(t, re.Panic)

			_, err = p.Do(ctx, []byte("panic now"))
			require.ErrorAs(t, err, &re)
			assert.Equal(t, "fail"+v.suffix, re.Func)
			assert.True(t, re.Panic)
			assert.Contains(t, re.Message, "boom: panic now")
			assert.Contains(t, re.Stack, "goroutine")

			out, err = p.Do(ctx, nil)
			require.NoError(t, err)
			assert.Empty(t, out)

			// The workers live on.
			assert.Equal(t, 0, p.Status().Restarts)
			require.NoError(t, p.Close())
		})
	}
}

func TestSubmit(t *testing.T) {
	p := newPool(t, pool.Config{Workers: 2, Worker: worker.Config{Func: "upper"}})
	var fs []*pool.Future
	for i := range 200 {
		fs = append(fs, p.Submit(context.Background(), fmt.Appendf(nil, "x%d", i)))
	}
	for i, f := range fs {
		<-f.Done()
		out, err := f.Wait(context.Background())
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("X%d", i), string(out))
	}
}

func TestWaitHonoursItsContextOnly(t *testing.T) {
	p := newPool(t, pool.Config{Workers: 1, Worker: worker.Config{Func: "sleep"}})
	f := p.Submit(context.Background(), []byte("200ms"))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := f.Wait(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	out, err := f.Wait(context.Background())
	require.NoError(t, err, "the task is not affected by Wait's context")
	assert.Equal(t, "200ms", string(out))
}

// TestCancelledBeforeDispatch: a task whose context ends while it waits in
// the queue ends at once with the context's error and never runs.
func TestCancelledBeforeDispatch(t *testing.T) {
	for _, v := range funcVariants {
		t.Run(v.name, func(t *testing.T) {
			p := newPool(t, pool.Config{Workers: 1, MaxInFlight: 1, Worker: worker.Config{Func: "sleep" + v.suffix}})
			busy := p.Submit(context.Background(), []byte("1s"))
			eventually(t, 5*time.Second, func() bool { return p.Status().Total.State == status.Busy }, "worker not busy")
			ctx, cancel := context.WithCancel(context.Background())
			f := p.Submit(ctx, []byte("1ms"))
			require.Equal(t, 1, p.Status().Queued)
			cancel()
			_, err := f.Wait(context.Background())
			require.ErrorIs(t, err, context.Canceled)
			select {
			case <-busy.Done():
				t.Fatal("the cancelled task waited for the busy one")
			default:
			}
			assert.Equal(t, 0, p.Status().Queued)
			_, err = busy.Wait(context.Background())
			require.NoError(t, err)
			assert.EqualValues(t, 1, p.Status().Total.Tasks, "the cancelled task never ran")
		})
	}
}

func TestDoCancelled(t *testing.T) {
	p := newPool(t, pool.Config{Workers: 1, Worker: worker.Config{Func: "sleep"}})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := p.Do(ctx, []byte("2s"))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), time.Second)

	_, err = p.Do(ctx, []byte("1ms"))
	require.ErrorIs(t, err, context.DeadlineExceeded, "a done context fails at once")
	f := p.Submit(ctx, []byte("1ms"))
	<-f.Done()
	_, err = f.Wait(context.Background())
	require.True(t, errors.Is(err, context.DeadlineExceeded))
}

// TestIdleWorkerDoesNotWaitBehindASlowTask: while one worker is stuck on a
// slow task, the other takes all the new work.
func TestIdleWorkerDoesNotWaitBehindASlowTask(t *testing.T) {
	for _, v := range funcVariants {
		t.Run(v.name, func(t *testing.T) {
			p := newPool(t, pool.Config{Workers: 2, Worker: worker.Config{Func: "sleep" + v.suffix}})
			slow := p.Submit(context.Background(), []byte("3s"))
			eventually(t, 5*time.Second, func() bool {
				for _, w := range p.Status().Workers {
					if w.State == status.Busy && w.TaskElapsed > 20*time.Millisecond {
						return true
					}
				}
				return false
			}, "the slow task does not run")
			ins := make([][]byte, 200)
			for i := range ins {
				ins[i] = []byte("1ms")
			}
			start := time.Now()
			_, err := p.Map(context.Background(), ins)
			require.NoError(t, err)
			assert.Less(t, time.Since(start), 2*time.Second, "no item waited behind the slow one")
			select {
			case <-slow.Done():
				t.Fatal("the slow task finished first")
			default:
			}
		})
	}
}

// TestLoadIsSpread: with slow items every worker gets work.
func TestLoadIsSpread(t *testing.T) {
	p := newPool(t, pool.Config{Workers: 3, Worker: worker.Config{Func: "sleep"}})
	ins := make([][]byte, 30)
	for i := range ins {
		ins[i] = []byte("10ms")
	}
	_, err := p.Map(context.Background(), ins)
	require.NoError(t, err)
	for i, w := range p.Status().Workers {
		assert.NotZero(t, w.Tasks, "worker %d got no work", i)
	}
}

// TestSpareWorkersTakeOverFromStuckOnes: with more workers than CPUs and
// tiny items, work is kept on as many workers as CPUs; when those get stuck
// on slow tasks, the spare workers take the work.
func TestSpareWorkersTakeOverFromStuckOnes(t *testing.T) {
	workers := runtime.NumCPU() + 2
	p := newPool(t, pool.Config{Workers: workers, Worker: worker.Config{Func: "fail"}})
	_, err := p.Map(context.Background(), items(50000)) // the items are measured tiny
	require.NoError(t, err)
	var slow []*pool.Future
	for range runtime.NumCPU() {
		// One at a time, each once the previous one runs: a worker already
		// stuck gets no more work, so each lands on a worker of its own.
		slow = append(slow, p.Submit(context.Background(), []byte("sleep 3s")))
		eventually(t, 5*time.Second, func() bool {
			busy := 0
			for _, w := range p.Status().Workers {
				if w.State == status.Busy && w.TaskElapsed > 20*time.Millisecond {
					busy++
				}
			}
			return busy == len(slow)
		}, "the slow tasks do not run")
	}
	start := time.Now()
	outs, err := p.Map(context.Background(), items(20000))
	require.NoError(t, err)
	assert.Equal(t, "ITEM19999", string(outs[19999]))
	assert.Less(t, time.Since(start), 2*time.Second, "the work waited for the stuck workers")
	for _, f := range slow {
		select {
		case <-f.Done():
			t.Fatal("a slow task finished first")
		default:
		}
	}
}
