package pool_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/pool"
	"github.com/shmpool/shmpool/worker"
)

func TestSetFunc(t *testing.T) {
	for _, from := range []string{"upper", "upper-raw"} {
		for _, to := range []string{"prefix", "echo-raw"} {
			t.Run(from+" to "+to, func(t *testing.T) {
				// No more workers than CPUs: tiny items then go to all of them.
				p := newPool(t, pool.Config{Workers: min(runtime.NumCPU(), 3), Worker: worker.Config{Func: from}})
				ctx := context.Background()
				require.NoError(t, p.SetFunc(ctx, to, []byte("p:")))
				want := func(in string) string {
					if to == "prefix" {
						return "p:" + in
					}
					return in
				}
				outs, err := p.Map(ctx, items(3000))
				require.NoError(t, err)
				for i, out := range outs {
					require.Equal(t, want(fmt.Sprint("item", i)), string(out))
				}
				st := p.Status()
				for i, w := range st.Workers {
					assert.Equal(t, to, w.Func, "worker %d", i)
					assert.NotZero(t, w.Tasks, "worker %d ran nothing: the test did not reach it", i)
				}
			})
		}
	}
}

// TestSetFuncFailureChangesNothing: an unknown name or a failing factory
// fails SetFunc, and every worker keeps the old function.
func TestSetFuncFailureChangesNothing(t *testing.T) {
	for _, tc := range []struct {
		name, fn, static string
		check            func(t *testing.T, err error)
	}{
		{"unknown function", "no such function", "", func(t *testing.T, err error) { require.ErrorIs(t, err, worker.ErrUnknownFunc) }},
		{"factory error", "prefix", "bad", func(t *testing.T, err error) {
			var re *worker.RemoteError
			require.ErrorAs(t, err, &re)
			assert.Contains(t, re.Message, "static data says bad")
		}},
		{"factory error in one worker of three", "third-fails", t.TempDir(), func(t *testing.T, err error) {
			assert.ErrorContains(t, err, "the third worker fails")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPool(t, pool.Config{Workers: 3, Worker: worker.Config{Func: "upper"}})
			err := p.SetFunc(context.Background(), tc.fn, []byte(tc.static))
			require.Error(t, err)
			tc.check(t, err)
			outs, err := p.Map(context.Background(), items(3000))
			require.NoError(t, err)
			for i, out := range outs {
				require.Equal(t, fmt.Sprint("ITEM", i), string(out))
			}
			st := p.Status()
			for _, w := range st.Workers {
				assert.Equal(t, "upper", w.Func)
			}
			assert.Equal(t, 0, st.Restarts, "the workers live on")
		})
	}
}

// TestSetFuncOrdersWithWork: while Map calls run, SetFunc switches; every
// item submitted after SetFunc returns runs the new function, on every
// worker.
func TestSetFuncOrdersWithWork(t *testing.T) {
	p := newPool(t, pool.Config{Workers: 3, Worker: worker.Config{Func: "upper"}})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				p.Map(ctx, items(500))
			}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	for i := range 5 {
		static := fmt.Sprintf("v%d:", i)
		require.NoError(t, p.SetFunc(context.Background(), "prefix", []byte(static)))
		outs, err := p.Map(context.Background(), items(1000))
		require.NoError(t, err)
		for j, out := range outs {
			require.Equal(t, fmt.Sprint(static, "item", j), string(out))
		}
		for range 20 {
			out, err := p.Do(context.Background(), []byte("x"))
			require.NoError(t, err)
			require.Equal(t, static+"x", string(out))
		}
	}
	cancel()
	wg.Wait()
}

// TestReplacementRunsTheNewFunction: a worker started after SetFunc runs the
// new function.
func TestReplacementRunsTheNewFunction(t *testing.T) {
	p := newPool(t, pool.Config{Workers: 2, Worker: worker.Config{Func: "upper"}})
	require.NoError(t, p.SetFunc(context.Background(), "prefix", []byte("new:")))
	for _, w := range p.Status().Workers {
		require.NoError(t, syscall.Kill(w.PID, syscall.SIGKILL))
	}
	eventually(t, 10*time.Second, func() bool {
		st := p.Status()
		return st.Restarts >= 2 && st.Total.State.String() == "idle"
	}, "workers not replaced")
	outs, err := p.Map(context.Background(), items(2000))
	require.NoError(t, err)
	for i, out := range outs {
		require.Equal(t, fmt.Sprint("new:item", i), string(out))
	}
	for _, w := range p.Status().Workers {
		assert.Equal(t, "prefix", w.Func)
		assert.Equal(t, 1, w.Restarts)
	}
}

func TestSetFuncCancelled(t *testing.T) {
	p := newPool(t, pool.Config{Workers: 1, Worker: worker.Config{Func: "sleep"}})
	f := p.Submit(context.Background(), []byte("300ms")) // SetFunc queues behind it
	time.Sleep(20 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, p.SetFunc(ctx, "prefix", []byte("late:")), context.DeadlineExceeded)
	_, err := f.Wait(context.Background())
	require.NoError(t, err)
	// The change completes without the caller.
	eventually(t, 5*time.Second, func() bool { return p.Status().Workers[0].Func == "prefix" }, "the change did not complete")
	out, err := p.Do(context.Background(), []byte("x"))
	require.NoError(t, err)
	assert.Equal(t, "late:x", string(out))
}
