package worker_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/internal/proto"
	"github.com/shmpool/shmpool/internal/testutil"
	"github.com/shmpool/shmpool/status"
	"github.com/shmpool/shmpool/worker"
)

// TestCloseAndTerminateInAnyOrder stops a worker with Close and Terminate
// in every order, repeatedly and concurrently. Each time: every call
// returns, Done is closed, Status reads Exited, and no descriptor, child
// process or memfd mapping is left.
func TestCloseAndTerminateInAnyOrder(t *testing.T) {
	closeOK := func(t *testing.T, h *worker.Handle) { assert.NoError(t, h.Close()) }
	terminate := func(t *testing.T, h *worker.Handle) { assert.NoError(t, h.Terminate()) }
	tests := []struct {
		name  string
		stops []func(*testing.T, *worker.Handle)
		// concurrent runs the stops at once instead of one after another.
		concurrent bool
	}{
		{"Close", []func(*testing.T, *worker.Handle){closeOK}, false},
		{"Close twice", []func(*testing.T, *worker.Handle){closeOK, closeOK}, false},
		{"Terminate after Close", []func(*testing.T, *worker.Handle){closeOK, terminate}, false},
		{"Close after Terminate", []func(*testing.T, *worker.Handle){terminate, closeOK}, false},
		{"Terminate twice", []func(*testing.T, *worker.Handle){terminate, terminate}, false},
		{"Close and Terminate concurrently", []func(*testing.T, *worker.Handle){closeOK, terminate, closeOK, terminate}, true},
	}
	for _, tt := range tests {
		for _, sp := range spins {
			t.Run(tt.name+" "+sp.name, func(t *testing.T) {
				before := holding()
				h, err := worker.Start(context.Background(), worker.Config{Func: "echo", Spin: sp.spin})
				require.NoError(t, err)
				out, err := h.Execute(context.Background(), []byte("x"))
				require.NoError(t, err)
				require.Equal(t, "x", string(out))

				if tt.concurrent {
					var wg sync.WaitGroup
					for _, stop := range tt.stops {
						wg.Add(1)
						go func() { defer wg.Done(); stop(t, h) }()
					}
					wg.Wait()
				} else {
					for _, stop := range tt.stops {
						stop(t, h)
					}
				}
				select {
				case <-h.Done():
				default:
					t.Fatal("Done is open after the handle was stopped")
				}
				assert.Equal(t, status.Exited, h.Status().State)
				_, err = h.Execute(context.Background(), []byte("x"))
				assert.ErrorIs(t, err, worker.ErrClosed)
				requireReleased(t, before)
			})
		}
	}
}

// TestCloseFinishesQueuedWork checks that Close is graceful: work sent
// before Close runs to the end and its results can still be taken, and a
// concurrent Execute gets its answer.
func TestCloseFinishesQueuedWork(t *testing.T) {
	for _, sp := range spins {
		t.Run(sp.name, func(t *testing.T) {
			before := holding()
			h, err := worker.Start(context.Background(), worker.Config{Func: "sleep", Spin: sp.spin})
			require.NoError(t, err)
			ctx := context.Background()
			const n = 5
			for i := range n {
				require.NoError(t, h.Send(ctx, []byte(strconv.Itoa(20+i)+"ms")))
			}
			exec := make(chan error, 1)
			go func() {
				out, err := h.Execute(ctx, []byte("30ms"))
				if err == nil && string(out) != "30ms" {
					err = fmt.Errorf("got %q", out)
				}
				exec <- err
			}()
			eventually(t, "the Execute is queued", func() bool { return h.Status().Tasks > 0 || h.Status().State == status.Busy })
			require.NoError(t, h.Close())

			for i := range n {
				out, err := h.Recv(ctx)
				require.NoError(t, err, "queued work finished")
				assert.Equal(t, strconv.Itoa(20+i)+"ms", string(out))
			}
			_, err = h.Recv(ctx)
			assert.ErrorIs(t, err, worker.ErrClosed)
			select {
			case err := <-exec:
				// Either it was queued before Close, and ran, or it came
				// too late and was refused.
				if err != nil {
					assert.ErrorIs(t, err, worker.ErrClosed)
				}
			case <-time.After(liveBound):
				t.Fatal("Execute hangs across Close")
			}
			requireReleased(t, before)
		})
	}
}

// TestCloseKillsAWorkerThatDoesNotStop checks Close's bound: a worker stuck
// in a task past StopTimeout is killed, and Close reports ErrTimeout.
func TestCloseKillsAWorkerThatDoesNotStop(t *testing.T) {
	before := holding()
	h, err := worker.Start(context.Background(), worker.Config{Func: "block", StopTimeout: 200 * time.Millisecond, Spin: -1})
	require.NoError(t, err)
	require.NoError(t, h.Send(context.Background(), []byte("x")))
	eventually(t, "the worker runs the task", func() bool { return h.Status().State == status.Busy })

	err = h.Close()
	require.ErrorIs(t, err, worker.ErrTimeout)
	assert.Contains(t, err.Error(), "did not stop within")
	assert.Equal(t, err, h.Close(), "a second Close returns the first result")

	_, err = h.Recv(context.Background())
	var xerr *worker.ExitError
	require.ErrorAs(t, err, &xerr, "the task it was stuck in fails")
	assert.Equal(t, syscall.SIGKILL, xerr.Signal)
	assert.Contains(t, xerr.Reason, "StopTimeout")
	requireReleased(t, before)
}

// TestKilledWorker kills the worker (SIGKILL from outside, or os.Exit in
// the user function) while calls are pending: some waiting for their
// result, some blocked in Send because the ring is full, some waiting for
// the send lock. Every one of them gets the *ExitError, none blocks, and
// Done is closed.
func TestKilledWorker(t *testing.T) {
	tests := []struct {
		name    string
		fn      string
		payload []byte // 20 KiB for block: three fill the 64 KiB ring
		kill    bool   // SIGKILL the worker once the calls are pending
		signal  syscall.Signal
		code    int
	}{
		{"SIGKILL from outside", "block", make([]byte, 20<<10), true, syscall.SIGKILL, -1},
		{"os.Exit in the function", "exit", []byte("3"), false, 0, 3},
	}
	for _, tt := range tests {
		for _, sp := range spins {
			t.Run(tt.name+" "+sp.name, func(t *testing.T) {
				before := holding()
				h, err := worker.Start(context.Background(), worker.Config{Func: tt.fn, RingSize: 64 << 10, Spin: sp.spin})
				require.NoError(t, err)
				defer h.Terminate()
				ctx := context.Background()

				const executes, sends = 6, 4
				errs := make(chan error, executes+sends)
				for range executes {
					go func() {
						_, err := h.Execute(ctx, tt.payload)
						errs <- err
					}()
				}
				for range sends {
					go func() {
						err := h.Send(ctx, tt.payload)
						if err == nil {
							_, err = h.Recv(ctx)
						}
						errs <- err
					}()
				}
				if tt.kill {
					eventually(t, "the worker runs a task", func() bool { return h.Status().State == status.Busy })
					time.Sleep(20 * time.Millisecond) // let the other callers reach the ring
					require.NoError(t, syscall.Kill(h.PID(), syscall.SIGKILL))
				}

				for i := range executes + sends {
					select {
					case err := <-errs:
						var xerr *worker.ExitError
						require.ErrorAs(t, err, &xerr, "call %d", i)
						assert.ErrorIs(t, err, worker.ErrExited)
						assert.Equal(t, tt.signal, xerr.Signal)
						assert.Equal(t, tt.code, xerr.Code)
						assert.Equal(t, h.PID(), xerr.PID)
					case <-time.After(liveBound):
						t.Fatalf("only %d of %d calls returned after the worker died", i, executes+sends)
					}
				}
				require.True(t, closedWithin(h.Done()), "Done is closed")
				assert.Equal(t, status.Exited, h.Status().State)

				_, err = h.Execute(ctx, tt.payload)
				var xerr *worker.ExitError
				require.ErrorAs(t, err, &xerr, "a call after the death gets the ExitError too")
				_, err = h.Recv(ctx)
				require.ErrorAs(t, err, &xerr, "so does Recv with nothing outstanding")

				require.NoError(t, h.Close())
				_, err = h.Execute(ctx, tt.payload)
				assert.ErrorIs(t, err, worker.ErrClosed, "and ErrClosed once closed")
				requireReleased(t, before)
			})
		}
	}
}

// TestTerminateFailsPendingCalls checks that Terminate kills at once and
// fails the calls in the ring with an *ExitError saying so.
func TestTerminateFailsPendingCalls(t *testing.T) {
	before := holding()
	h, err := worker.Start(context.Background(), worker.Config{Func: "block"})
	require.NoError(t, err)
	ctx := context.Background()
	errs := make(chan error, 3)
	go func() {
		_, err := h.Execute(ctx, []byte("a"))
		errs <- err
	}()
	require.NoError(t, h.Send(ctx, []byte("b")))
	eventually(t, "the worker runs a task", func() bool { return h.Status().State == status.Busy })
	require.NoError(t, h.Terminate())
	go func() {
		_, err := h.Recv(ctx)
		errs <- err
	}()
	for range 2 {
		select {
		case err := <-errs:
			var xerr *worker.ExitError
			require.ErrorAs(t, err, &xerr)
			assert.Equal(t, syscall.SIGKILL, xerr.Signal)
			assert.Equal(t, "terminated", xerr.Reason)
		case <-time.After(liveBound):
			t.Fatal("a pending call hangs after Terminate")
		}
	}
	requireReleased(t, before)
}

// TestSIGTERMIsGraceful sends SIGTERM to a worker with queued work: the
// work finishes, then the worker exits 0.
func TestSIGTERMIsGraceful(t *testing.T) {
	for _, sp := range spins {
		t.Run(sp.name, func(t *testing.T) {
			h := start(t, worker.Config{Func: "sleep", Spin: sp.spin})
			ctx := context.Background()
			const n = 3
			for i := range n {
				require.NoError(t, h.Send(ctx, []byte(strconv.Itoa(50+i)+"ms")))
			}
			require.NoError(t, syscall.Kill(h.PID(), syscall.SIGTERM))
			for i := range n {
				out, err := h.Recv(ctx)
				require.NoError(t, err, "queued work finishes")
				assert.Equal(t, strconv.Itoa(50+i)+"ms", string(out))
			}
			require.True(t, closedWithin(h.Done()), "the worker exits once its queue is empty")

			_, err := h.Execute(ctx, []byte("1ms"))
			var xerr *worker.ExitError
			require.ErrorAs(t, err, &xerr)
			assert.Equal(t, 0, xerr.Code, "a graceful exit")
			assert.Zero(t, xerr.Signal)
			s := h.Status()
			assert.Equal(t, status.Exited, s.State)
			assert.Equal(t, uint64(n), s.Tasks)
			require.NoError(t, h.Close())
		})
	}
}

// TestWorkerExitsWhenItsParentDies starts a helper process that starts a
// worker and prints its pid, kills the helper with SIGKILL, and checks that
// the orphaned worker goes away.
func TestWorkerExitsWhenItsParentDies(t *testing.T) {
	cmd := testutil.HelperCommand(t, "lifeline-parent")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	reaped := false
	defer func() {
		stdin.Close()
		if !reaped {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()

	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(stdout)
		s.Scan()
		line <- s.Text()
	}()
	var pid int
	select {
	case l := <-line:
		pid, err = strconv.Atoi(strings.TrimSpace(l))
		require.NoError(t, err, "the helper prints the worker's pid, not %q", l)
	case <-time.After(liveBound):
		t.Fatal("the helper did not start a worker")
	}
	require.NoError(t, syscall.Kill(pid, 0), "the worker runs")
	require.NotEqual(t, cmd.Process.Pid, pid)

	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	cmd.Wait()
	reaped = true
	deadline := time.Now().Add(2 * time.Second)
	for !gone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("worker %d still runs 2 s after its parent died", pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestStartFromALockedThreadThatEnds starts a worker from a goroutine
// locked to its OS thread that returns without unlocking it, so the runtime
// ends the thread that forked the worker. The worker must live on and serve
// (regression: Pdeathsig, which follows the forking thread, killed it).
func TestStartFromALockedThreadThatEnds(t *testing.T) {
	type started struct {
		h   *worker.Handle
		tid int
		err error
	}
	c := make(chan started)
	var try func()
	try = func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if syscall.Gettid() == os.Getpid() {
			// The main thread is never ended, only wedged: try another.
			runtime.UnlockOSThread()
			go try()
			return
		}
		h, err := worker.Start(context.Background(), worker.Config{Func: "echo"})
		c <- started{h, syscall.Gettid(), err}
	}
	go try()
	s := <-c
	require.NoError(t, s.err)
	defer s.h.Close()
	task := "/proc/self/task/" + strconv.Itoa(s.tid)
	require.Eventually(t, func() bool {
		_, err := os.Stat(task)
		return os.IsNotExist(err)
	}, liveBound, time.Millisecond, "the locked thread did not end")
	// A parent-death signal is sent as the thread ends; give it time to land.
	time.Sleep(50 * time.Millisecond)
	out, err := s.h.Execute(context.Background(), []byte("still here"))
	require.NoError(t, err, "the worker died with the thread that started it")
	assert.Equal(t, "still here", string(out))
	assert.True(t, testutil.Alive(s.h.PID()))
}

// TestStartSurvivesThreadsEndingLater starts a worker from a plain
// goroutine, then ends many OS threads (goroutines that lock their thread
// and return): whichever thread the fork ran on, the worker lives on
// (regression: forking from a fresh goroutine was not enough, since the
// thread it ran on could later be locked and ended).
func TestStartSurvivesThreadsEndingLater(t *testing.T) {
	h, err := worker.Start(context.Background(), worker.Config{Func: "echo"})
	require.NoError(t, err)
	defer h.Close()
	for range 200 {
		done := make(chan struct{})
		go func() {
			defer close(done)
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		}()
		<-done
	}
	// A parent-death signal is sent as a thread ends; give it time to land.
	time.Sleep(50 * time.Millisecond)
	out, err := h.Execute(context.Background(), []byte("still here"))
	require.NoError(t, err, "the worker died with the thread that started it")
	assert.Equal(t, "still here", string(out))
}

// gone reports whether process pid no longer runs: it does not exist, or it
// is a zombie waiting for whoever it was reparented to.
func gone(pid int) bool { return !testutil.Alive(pid) }

// TestWorkerStartedByHand runs the test binary as a worker without a
// proper parent: it must say what is wrong on stderr and exit 1.
func TestWorkerStartedByHand(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	protocol := strconv.FormatUint(uint64(proto.ProtocolVersion), 10)
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"a cookie that is not hex", []string{"SHMPOOL_WORKER_COOKIE=zz"}, "bad cookie"},
		{"a zero cookie", []string{"SHMPOOL_WORKER_COOKIE=0"}, "bad cookie"},
		{"a parent of another protocol version", []string{"SHMPOOL_WORKER_COOKIE=1", "SHMPOOL_WORKER_PROTOCOL=999999"}, "protocol"},
		{"no segment size", []string{"SHMPOOL_WORKER_COOKIE=1", "SHMPOOL_WORKER_PROTOCOL=" + protocol}, "segment size"},
		{"no shared memory handed over", []string{"SHMPOOL_WORKER_COOKIE=1", "SHMPOOL_WORKER_PROTOCOL=" + protocol,
			"SHMPOOL_WORKER_SEGMENT_SIZE=65536", "SHMPOOL_WORKER_SPIN_NS=0"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(exe, "-test.run=^$")
			cmd.Env = append(os.Environ(), tt.env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var xerr *exec.ExitError
			require.ErrorAs(t, err, &xerr, "stderr: %s", stderr.String())
			assert.Equal(t, 1, xerr.ExitCode(), "stderr: %s", stderr.String())
			msg := stderr.String()
			assert.Contains(t, msg, "shmpool worker: ")
			assert.Contains(t, msg, "handshake failed")
			assert.Contains(t, msg, "worker.Start")
			assert.Contains(t, msg, tt.want)
			assert.NotContains(t, msg, "goroutine ", "a message, not a panic")
			assert.Less(t, strings.Count(msg, "\n"), 5, "a short message: %s", msg)
		})
	}
}

// TestStartWithABinaryThatIsNotAWorker starts binaries that never call
// worker.Main: Start fails with an error that names the likely cause, and
// leaves nothing behind.
func TestStartWithABinaryThatIsNotAWorker(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		args     []string
		timeout  bool // the error matches ErrTimeout (else ErrExited)
		contains string
	}{
		{"a binary that never says hello", "/bin/sleep", []string{"30"}, true, "did not say hello within 500ms"},
		{"a binary that exits at once", "/bin/true", nil, false, "exited without saying hello"},
		{"a binary that writes to stderr and fails", "/bin/sh", []string{"-c", "echo no worker here >&2; exit 7"}, false, "no worker here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := os.Stat(tt.path); err != nil {
				t.Skipf("%s: %v", tt.path, err)
			}
			before := holding()
			h, err := worker.Start(context.Background(), worker.Config{
				Func: "echo", Path: tt.path, Args: tt.args, StartTimeout: 500 * time.Millisecond,
				Stderr: &bytes.Buffer{},
			})
			require.Error(t, err)
			assert.Nil(t, h)
			assert.Contains(t, err.Error(), "worker.Main")
			assert.Contains(t, err.Error(), tt.contains)
			if tt.timeout {
				assert.ErrorIs(t, err, worker.ErrTimeout)
			} else {
				assert.NotErrorIs(t, err, worker.ErrTimeout)
				assert.ErrorIs(t, err, worker.ErrExited)
			}
			requireReleased(t, before)
		})
	}
}

func TestStartWithAMissingBinary(t *testing.T) {
	before := holding()
	h, err := worker.Start(context.Background(), worker.Config{Func: "echo", Path: "/nonexistent/worker"})
	require.Error(t, err)
	assert.Nil(t, h)
	assert.ErrorIs(t, err, os.ErrNotExist)
	requireReleased(t, before)
}
