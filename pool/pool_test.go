package pool_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/internal/testutil"
	"github.com/shmpool/shmpool/pool"
	"github.com/shmpool/shmpool/status"
	"github.com/shmpool/shmpool/worker"
)

func TestNewStartsTheWorkers(t *testing.T) {
	p := newPool(t, pool.Config{Workers: 3, Worker: worker.Config{Func: "upper"}})
	st := p.Status()
	require.Len(t, st.Workers, 3)
	pids := map[int]bool{}
	for _, w := range st.Workers {
		assert.NotZero(t, w.PID)
		assert.Equal(t, "upper", w.Func, "the user's function, not the batch wrapper")
		assert.NotEqual(t, status.Exited, w.State)
		pids[w.PID] = true
	}
	assert.Len(t, pids, 3, "distinct processes")
	assert.Equal(t, 0, st.Restarts)
	assert.Equal(t, 0, st.Queued)
	require.NoError(t, p.Close())
}

func TestConfig(t *testing.T) {
	t.Run("defaults to one worker per CPU", func(t *testing.T) {
		p := newPool(t, pool.Config{Worker: worker.Config{Func: "echo"}})
		assert.Len(t, p.Status().Workers, runtime.NumCPU())
	})
	for _, tc := range []struct {
		name string
		cfg  pool.Config
	}{
		{"no function", pool.Config{Workers: 1}},
		{"negative workers", pool.Config{Workers: -1, Worker: worker.Config{Func: "echo"}}},
		{"negative retries", pool.Config{Retries: -1, Worker: worker.Config{Func: "echo"}}},
		{"negative timeout", pool.Config{TaskTimeout: -time.Second, Worker: worker.Config{Func: "echo"}}},
		{"negative in-flight bound", pool.Config{MaxInFlight: -1, Worker: worker.Config{Func: "echo"}}},
	} {
		t.Run(tc.name+" is an error", func(t *testing.T) {
			p, err := pool.New(context.Background(), tc.cfg)
			require.Error(t, err)
			assert.Nil(t, p)
		})
	}
}

// TestNewFailureLeavesNothingRunning: the third of four workers fails to
// build its function, so New fails and stops the three others.
func TestNewFailureLeavesNothingRunning(t *testing.T) {
	before := len(testutil.Children())
	p, err := pool.New(context.Background(), pool.Config{Workers: 4, Worker: worker.Config{Func: "third-fails", Static: []byte(t.TempDir())}})
	require.Error(t, err)
	assert.Nil(t, p)
	assert.Contains(t, err.Error(), "the third worker fails")
	assert.Len(t, testutil.Children(), before, "no worker process left")
}

func TestNewUnknownFunction(t *testing.T) {
	_, err := pool.New(context.Background(), pool.Config{Workers: 2, Worker: worker.Config{Func: "no such function"}})
	require.ErrorIs(t, err, worker.ErrUnknownFunc)
}

func TestNewCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := pool.New(ctx, pool.Config{Workers: 2, Worker: worker.Config{Func: "echo"}})
	require.Error(t, err)
}

func TestStatus(t *testing.T) {
	p := newPool(t, pool.Config{Workers: 2, MaxInFlight: 1, Worker: worker.Config{Func: "sleep-raw"}})
	// Two slow tasks occupy both workers; the rest wait in the queue.
	var fs []*pool.Future
	for range 2 {
		fs = append(fs, p.Submit(context.Background(), []byte("300ms")))
	}
	eventually(t, 5*time.Second, func() bool {
		st := p.Status()
		return st.Queued == 0 && st.Workers[0].State == status.Busy && st.Workers[1].State == status.Busy
	}, "the workers are not both busy")
	for range 5 {
		fs = append(fs, p.Submit(context.Background(), []byte("1ms")))
	}
	st := p.Status()
	assert.Equal(t, 5, st.Queued)
	require.Len(t, st.Workers, 2)
	assert.Equal(t, status.Sum(st.Workers...).Tasks, st.Total.Tasks)
	for _, f := range fs {
		_, err := f.Wait(context.Background())
		require.NoError(t, err)
	}
	st = p.Status()
	assert.Equal(t, 0, st.Queued)
	assert.EqualValues(t, 7, st.Total.Tasks)
	assert.Equal(t, "sleep-raw", st.Total.Func)
}

func TestCloseIsGracefulAndIdempotent(t *testing.T) {
	p := newPool(t, pool.Config{Workers: 2, Worker: worker.Config{Func: "sleep"}})
	var fs []*pool.Future
	for range 20 {
		fs = append(fs, p.Submit(context.Background(), []byte("10ms")))
	}
	require.NoError(t, p.Close())
	for _, f := range fs {
		select {
		case <-f.Done():
		default:
			t.Fatal("Close returned before the queued work finished")
		}
		out, err := f.Wait(context.Background())
		require.NoError(t, err, "queued work finishes")
		assert.Equal(t, "10ms", string(out))
	}
	require.NoError(t, p.Close())
	_, err := p.Do(context.Background(), []byte("1ms"))
	require.ErrorIs(t, err, pool.ErrClosed)
	_, err = p.Map(context.Background(), [][]byte{[]byte("1ms")})
	require.ErrorIs(t, err, pool.ErrClosed)
	require.ErrorIs(t, p.SetFunc(context.Background(), "echo", nil), pool.ErrClosed)
	require.NoError(t, p.Terminate())
}

func TestTerminate(t *testing.T) {
	p := newPool(t, pool.Config{Workers: 2, Worker: worker.Config{Func: "sleep"}})
	pids := []int{}
	for _, w := range p.Status().Workers {
		pids = append(pids, w.PID)
	}
	var fs []*pool.Future
	for range 10 {
		fs = append(fs, p.Submit(context.Background(), []byte("1h")))
	}
	eventually(t, 5*time.Second, func() bool { return p.Status().Total.State == status.Busy }, "no worker busy")
	start := time.Now()
	closed := make(chan error, 1)
	go func() { closed <- p.Close() }() // blocks on the hour-long tasks...
	require.NoError(t, p.Terminate())   // ...until Terminate cuts it short
	<-closed
	assert.Less(t, time.Since(start), 5*time.Second)
	for _, f := range fs {
		_, err := f.Wait(context.Background())
		require.ErrorIs(t, err, pool.ErrClosed)
	}
	for _, pid := range pids {
		assert.False(t, testutil.Alive(pid), "worker %d still running", pid)
	}
	require.NoError(t, p.Terminate())
	_, err := p.Do(context.Background(), []byte("1ms"))
	require.ErrorIs(t, err, pool.ErrClosed)
}

func TestErrorsMatch(t *testing.T) {
	err := &pool.ItemError{Index: 3, Err: worker.ErrTimeout}
	require.ErrorIs(t, err, worker.ErrTimeout)
	assert.Equal(t, "pool: item 3: worker: timeout", err.Error())
	require.True(t, errors.Is(pool.ErrClosed, worker.ErrClosed))
}
