package pool_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/internal/testutil"
	"github.com/shmpool/shmpool/pool"
	"github.com/shmpool/shmpool/status"
	"github.com/shmpool/shmpool/worker"
)

func TestWorkerDeathFailsItsTask(t *testing.T) {
	for _, v := range funcVariants {
		t.Run(v.name, func(t *testing.T) {
			p := newPool(t, pool.Config{Workers: 2, Worker: worker.Config{Func: "fail" + v.suffix}})
			_, err := p.Do(context.Background(), []byte("exit"))
			var ee *worker.ExitError
			require.ErrorAs(t, err, &ee)
			require.ErrorIs(t, err, worker.ErrExited)
			assert.Equal(t, 7, ee.Code)
			eventually(t, 5*time.Second, func() bool { return p.Status().Restarts == 1 }, "the dead worker was not replaced")
			outs, err := p.Map(context.Background(), items(1000))
			require.NoError(t, err, "the pool goes on")
			assert.Equal(t, "ITEM999", string(outs[999]))
			st := p.Status()
			require.Len(t, st.Workers, 2)
			assert.Equal(t, 1, st.Workers[0].Restarts+st.Workers[1].Restarts)
		})
	}
}

// TestRetries: each item kills its worker the first time it runs; with
// Retries it succeeds on the replacement or the other worker.
func TestRetries(t *testing.T) {
	p := newPool(t, pool.Config{Workers: 2, Retries: 1, Worker: worker.Config{Func: "exit-once", Static: []byte(t.TempDir())}})
	ins := items(6)
	outs, err := p.Map(context.Background(), ins)
	require.NoError(t, err)
	for i := range ins {
		assert.Equal(t, fmt.Sprint("ITEM", i), string(outs[i]))
	}
	assert.GreaterOrEqual(t, p.Status().Restarts, 1)
}

func TestRetriesExhausted(t *testing.T) {
	p := newPool(t, pool.Config{Workers: 2, Retries: 2, Worker: worker.Config{Func: "fail"}})
	_, err := p.Do(context.Background(), []byte("exit"))
	require.ErrorIs(t, err, worker.ErrExited)
	eventually(t, 10*time.Second, func() bool { return p.Status().Restarts == 3 }, "not 3 runs: %d restarts", p.Status().Restarts)
	out, err := p.Do(context.Background(), []byte("ok"))
	require.NoError(t, err)
	assert.Equal(t, "OK", string(out))
}

func TestNoRespawn(t *testing.T) {
	p := newPool(t, pool.Config{Workers: 2, NoRespawn: true, Worker: worker.Config{Func: "echo"}})
	pids := []int{p.Status().Workers[0].PID, p.Status().Workers[1].PID}
	require.NoError(t, syscall.Kill(pids[0], syscall.SIGKILL))
	eventually(t, 5*time.Second, func() bool { return len(p.Status().Workers) == 1 }, "the dead worker is still listed")
	assert.Equal(t, pids[1], p.Status().Workers[0].PID)
	_, err := p.Map(context.Background(), items(100))
	require.NoError(t, err, "the other worker takes the work")

	require.NoError(t, syscall.Kill(pids[1], syscall.SIGKILL))
	eventually(t, 5*time.Second, func() bool { return len(p.Status().Workers) == 0 }, "the dead worker is still listed")
	_, err = p.Do(context.Background(), []byte("x"))
	require.ErrorIs(t, err, pool.ErrNoWorkers)
	assert.Contains(t, err.Error(), "NoRespawn")
	assert.Equal(t, 0, p.Status().Restarts)
}

// TestGiveUpAfterFailedStarts: a worker whose replacements keep failing to
// start makes its slot give up after 5 tries, with an error that says so,
// instead of restarting it forever.
func TestGiveUpAfterFailedStarts(t *testing.T) {
	gate := filepath.Join(t.TempDir(), "gate")
	p := newPool(t, pool.Config{Workers: 1, Worker: worker.Config{Func: "gated", Static: []byte(gate)}})
	require.NoError(t, os.WriteFile(gate, nil, 0o600)) // starts fail from now on
	require.NoError(t, syscall.Kill(p.Status().Workers[0].PID, syscall.SIGKILL))
	eventually(t, 5*time.Second, func() bool {
		ws := p.Status().Workers
		return len(ws) == 0 || ws[0].State == status.Exited
	}, "the worker did not die")
	queued := p.Submit(context.Background(), []byte("queued"))
	_, err := queued.Wait(ctxTimeout(t, 10*time.Second))
	require.ErrorIs(t, err, pool.ErrNoWorkers)
	assert.Contains(t, err.Error(), "gave up after 5 consecutive failed starts")
	assert.Contains(t, err.Error(), "the gate is closed")
	_, err = p.Do(context.Background(), []byte("x"))
	require.ErrorIs(t, err, pool.ErrNoWorkers)
	assert.Empty(t, p.Status().Workers)
}

// TestTaskTimeout: the worker running a task longer than TaskTimeout is
// killed and replaced; that task fails with worker.ErrTimeout, the others
// (in its batch or queued behind it) succeed.
func TestTaskTimeout(t *testing.T) {
	for _, v := range funcVariants {
		t.Run(v.name, func(t *testing.T) {
			p := newPool(t, pool.Config{Workers: 2, TaskTimeout: 300 * time.Millisecond, Worker: worker.Config{Func: "fail" + v.suffix}})
			ins := items(400)
			for i := range 50 {
				ins[i] = []byte("sleep 2ms")
			}
			ins[20] = []byte("sleep 1h")
			start := time.Now()
			n := 0
			for r := range p.Stream(context.Background(), seq(ins)) {
				n++
				if r.Index == 20 {
					require.ErrorIs(t, r.Err, worker.ErrTimeout)
					assert.Contains(t, r.Err.Error(), "TaskTimeout")
					continue
				}
				require.NoError(t, r.Err, "item %d", r.Index)
				require.Equal(t, strings.ToUpper(string(ins[r.Index])), string(r.Out))
			}
			assert.Equal(t, len(ins), n)
			assert.Less(t, time.Since(start), 10*time.Second)
			eventually(t, 5*time.Second, func() bool { return p.Status().Restarts >= 1 }, "the worker was not replaced")
		})
	}
}

func TestTaskTimeoutSparesTasksWithinIt(t *testing.T) {
	p := newPool(t, pool.Config{Workers: 2, TaskTimeout: 200 * time.Millisecond, Worker: worker.Config{Func: "sleep"}})
	ins := make([][]byte, 40)
	for i := range ins {
		ins[i] = []byte("40ms")
	}
	_, err := p.Map(context.Background(), ins)
	require.NoError(t, err)
	assert.Equal(t, 0, p.Status().Restarts)
}

// TestChaos kills random workers while a Map runs with Retries. Invariants:
//  1. every result is right;
//  2. no item runs to completion twice unless on a worker that died: each
//     item has at most one completion on a worker that was not killed
//     (the function logs "<item> <pid>" after each completion).
func TestChaos(t *testing.T) {
	n, kills := 20000, 25
	if testing.Short() {
		n, kills = 4000, 8
	}
	log := filepath.Join(t.TempDir(), "completions")
	p := newPool(t, pool.Config{Workers: 4, Retries: 1000, Worker: worker.Config{Func: "count", Static: []byte(log)}})
	ins := make([][]byte, n)
	for i := range ins {
		ins[i] = []byte(strconv.Itoa(i))
	}
	killed := map[int]bool{}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for k := 0; k < kills; {
			select {
			case <-done:
				return
			case <-time.After(time.Duration(5+rand.IntN(20)) * time.Millisecond):
			}
			ws := p.Status().Workers
			if len(ws) == 0 {
				continue
			}
			w := ws[rand.IntN(len(ws))]
			if w.State == status.Exited || w.PID == 0 || killed[w.PID] {
				continue
			}
			killed[w.PID] = true
			syscall.Kill(w.PID, syscall.SIGKILL)
			k++
		}
	}()
	outs, err := p.Map(context.Background(), ins)
	close(done)
	wg.Wait()
	require.NoError(t, err)
	for i, out := range outs {
		require.Equal(t, "r"+strconv.Itoa(i), string(out), "item %d", i)
	}
	t.Logf("%d workers killed, %d restarts", len(killed), p.Status().Restarts)
	require.NotEmpty(t, killed)
	require.NoError(t, p.Close()) // every worker has stopped writing

	f, err := os.Open(log)
	require.NoError(t, err)
	defer f.Close()
	completions := make([]int, n)
	survivors := make([]int, n)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		item, pid, ok := strings.Cut(sc.Text(), " ")
		require.True(t, ok, "bad line %q", sc.Text())
		i, err := strconv.Atoi(item)
		require.NoError(t, err)
		pidN, err := strconv.Atoi(pid)
		require.NoError(t, err)
		completions[i]++
		if !killed[pidN] {
			survivors[i]++
		}
	}
	require.NoError(t, sc.Err())
	reran := 0
	for i := range n {
		require.GreaterOrEqual(t, completions[i], 1, "item %d never completed", i)
		require.LessOrEqual(t, survivors[i], 1, "item %d completed %d times on workers that did not die", i, survivors[i])
		if completions[i] > 1 {
			reran++
		}
	}
	t.Logf("%d items ran to completion more than once, each time on a killed worker", reran)
}

// TestKilledParentLeavesNoWorkers: a parent killed with SIGKILL (no chance
// to clean up) leaves no worker behind: they exit within 2 s.
func TestKilledParentLeavesNoWorkers(t *testing.T) {
	cmd := testutil.HelperCommand(t, "parent")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var pids []int
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "ready" {
		pid, err := strconv.Atoi(sc.Text())
		require.NoError(t, err)
		pids = append(pids, pid)
	}
	require.Len(t, pids, 3)
	for _, pid := range pids {
		require.True(t, testutil.Alive(pid), "worker %d not running", pid)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	err = cmd.Wait()
	var ee interface{ ExitCode() int }
	require.True(t, errors.As(err, &ee))
	deadline := time.Now().Add(2 * time.Second)
	for _, pid := range pids {
		for testutil.Alive(pid) {
			require.True(t, time.Now().Before(deadline), "worker %d still running 2 s after its parent was killed", pid)
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// TestOnlyTheRunningTaskPaysForACrash: when a worker dies, the task it was
// running uses up a try (here: none left, so it fails); the tasks behind it
// in its ring, and the other items of a batch it was running, run again.
func TestOnlyTheRunningTaskPaysForACrash(t *testing.T) {
	for _, v := range funcVariants {
		t.Run(v.name, func(t *testing.T) {
			p := newPool(t, pool.Config{Workers: 1, Worker: worker.Config{Func: "fail" + v.suffix}})
			ins := [][]byte{[]byte("sleep 30ms"), []byte("a"), []byte("exit"), []byte("b"), []byte("c")}
			for r := range p.Stream(context.Background(), seq(ins)) {
				if r.Index == 2 {
					require.ErrorIs(t, r.Err, worker.ErrExited)
					continue
				}
				require.NoError(t, r.Err, "item %d", r.Index)
				assert.Equal(t, strings.ToUpper(string(ins[r.Index])), string(r.Out))
			}
		})
	}
}
