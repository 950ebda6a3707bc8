package chaos_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/internal/testutil"
	"github.com/shmpool/shmpool/pool"
	"github.com/shmpool/shmpool/worker"
)

// helperParentRole is the helper process of TestKilledParent.
const helperParentRole = "chaos.parent"

func init() {
	helpers[helperParentRole] = helperParent
}

// helperParent is a parent process that TestKilledParent kills. It starts
// workers in every way a program can: a pool of two from the main
// goroutine, one with worker.Start from a goroutine that then returns, and
// one from a goroutine locked to its OS thread that returns without
// unlocking it, which makes the runtime end that thread (the thread that
// forked the worker: Pdeathsig, which follows threads, would fire there).
// It prints, one a line:
//
//	pid <pid>            each worker
//	thread-exited <tid>  once the locked thread is gone from /proc/self/task
//	serving <pid> ok     each worker answered a call after that (or an error)
//	ready
//
// then keeps every worker busy until it is killed.
func helperParent() {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "helper parent:", err)
		os.Exit(1)
	}
	ctx := context.Background()
	cfg := worker.Config{Func: fnTorn}
	p, err := pool.New(ctx, pool.Config{Workers: 2, Worker: cfg})
	if err != nil {
		fail(err)
	}
	type started struct {
		h   *worker.Handle
		tid int
		err error
	}
	fromGoroutine := make(chan started)
	go func() {
		h, err := worker.Start(ctx, cfg)
		fromGoroutine <- started{h: h, err: err}
	}()
	fromThread := make(chan started)
	var try func()
	try = func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if syscall.Gettid() == os.Getpid() {
			// The runtime never ends the main thread, it wedges it: try
			// another.
			runtime.UnlockOSThread()
			go try()
			return
		}
		h, err := worker.Start(ctx, cfg)
		fromThread <- started{h: h, tid: syscall.Gettid(), err: err}
	}
	go try()
	g, th := <-fromGoroutine, <-fromThread
	if g.err != nil || th.err != nil {
		fail(errors.Join(g.err, th.err))
	}
	handles := []*worker.Handle{g.h, th.h}
	for _, w := range p.Status().Workers {
		fmt.Println("pid", w.PID)
	}
	for _, h := range handles {
		fmt.Println("pid", h.PID())
	}
	task := "/proc/self/task/" + strconv.Itoa(th.tid)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(task); errors.Is(err, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			fail(fmt.Errorf("the locked thread %d did not end", th.tid))
		}
	}
	fmt.Println("thread-exited", th.tid)
	time.Sleep(20 * time.Millisecond) // let a parent-death signal land, if one was sent
	in := randomInput(100)
	for _, h := range handles {
		out, err := h.Execute(ctx, in)
		switch {
		case err != nil:
			fmt.Println("serving", h.PID(), err)
		case string(out) != string(checked(in)):
			fmt.Println("serving", h.PID(), "wrong result")
		default:
			fmt.Println("serving", h.PID(), "ok")
		}
	}
	fmt.Println("ready")
	for _, h := range handles {
		go func() {
			for {
				h.Execute(ctx, in)
			}
		}()
	}
	for {
		p.Map(ctx, [][]byte{in, in, in, in})
	}
}

// TestKilledParent SIGKILLs a parent process (no chance to clean up) that
// started workers from its main goroutine (a pool), from a goroutine that
// returned, and from a locked OS thread that ended. Invariants:
//  1. before the parent dies, every worker is alive, and the workers started
//     from the goroutine and the thread that are gone still serve calls;
//  2. 2 s after the parent's death no worker is alive.
//
// 100 parents in the full variant, 5 in the short one.
func TestKilledParent(t *testing.T) {
	n := scale(5, 100)
	var slowest time.Duration
	for i := range n {
		slowest = max(slowest, killParent(t, i))
		if t.Failed() {
			return
		}
	}
	t.Logf("%d parents killed: every worker (4 each) gone at most %v after its parent's death", n, slowest.Round(time.Millisecond))
}

// killParent runs one helper parent, checks its workers, kills it and
// returns how long its last worker outlived it.
func killParent(t *testing.T, i int) time.Duration {
	t.Helper()
	cmd := testutil.HelperCommand(t, helperParentRole)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	var pids []int
	serving := map[int]string{}
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "ready" {
		word, rest, _ := strings.Cut(sc.Text(), " ")
		switch word {
		case "pid":
			pid, err := strconv.Atoi(rest)
			require.NoError(t, err)
			pids = append(pids, pid)
		case "serving":
			pid, status, _ := strings.Cut(rest, " ")
			n, err := strconv.Atoi(pid)
			require.NoError(t, err)
			serving[n] = status
		case "thread-exited":
		default:
			require.Failf(t, "helper parent", "unexpected line %q", sc.Text())
		}
	}
	require.NoError(t, sc.Err())
	require.Len(t, pids, 4, "parent %d: workers", i)
	require.Len(t, serving, 2, "parent %d: the helper did not get to \"ready\"", i)
	for pid, status := range serving {
		assert.Equal(t, "ok", status, "parent %d: worker %d, started from a goroutine or thread that has ended, does not serve", i, pid)
	}
	time.Sleep(time.Duration(rand.IntN(30)) * time.Millisecond) // the workers are busy
	for _, pid := range pids {
		assert.True(t, testutil.Alive(pid), "parent %d: worker %d is not running before the parent's death", i, pid)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	died := time.Now()
	err = cmd.Wait()
	killed = true
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, syscall.SIGKILL, ee.Sys().(syscall.WaitStatus).Signal())
	deadline := died.Add(2 * time.Second)
	var last time.Duration
	for _, pid := range pids {
		for testutil.Alive(pid) {
			if time.Now().After(deadline) {
				assert.Failf(t, "orphan", "parent %d: worker %d still running 2 s after its parent was killed", i, pid)
				syscall.Kill(pid, syscall.SIGKILL)
				break
			}
			time.Sleep(time.Millisecond)
		}
		last = max(last, time.Since(died))
	}
	return last
}
