package worker_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/status"
	"github.com/shmpool/shmpool/worker"
)

func TestRemoteError(t *testing.T) {
	tests := []struct {
		name    string
		fn      string
		in      string
		message string
		panic   bool
	}{
		{"a returned error comes back as a RemoteError", "fail", "x", `cannot handle "x"`, false},
		{"a panic comes back as a RemoteError with its stack", "panic", "x", "boom: x", true},
		{"a runtime error panic comes back too", "panic", "nil", "assignment to entry in nil map", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, worker.Config{Func: tt.fn})
			before := h.PID()
			for range 3 { // the worker lives on: the same error every time
				out, err := h.Execute(context.Background(), []byte(tt.in))
				assert.Nil(t, out)
				var rerr *worker.RemoteError
				require.ErrorAs(t, err, &rerr)
				assert.Equal(t, tt.fn, rerr.Func)
				assert.Contains(t, rerr.Message, tt.message)
				assert.Equal(t, tt.panic, rerr.Panic)
				if tt.panic {
					assert.NotEmpty(t, rerr.Stack)
					assert.Contains(t, rerr.Stack, "goroutine")
					assert.Contains(t, err.Error(), "panicked")
				} else {
					assert.Empty(t, rerr.Stack)
				}
				assert.NotErrorIs(t, err, worker.ErrExited)
			}
			require.NoError(t, h.SetFunc(context.Background(), "echo", nil))
			out, err := h.Execute(context.Background(), []byte("alive"))
			require.NoError(t, err, "the worker lives on")
			assert.Equal(t, "alive", string(out))
			assert.Equal(t, before, h.PID())
			select {
			case <-h.Done():
				t.Fatal("the worker exited")
			default:
			}
			require.NoError(t, h.Close())
		})
	}
}

func TestRemoteErrorThroughRecv(t *testing.T) {
	h := start(t, worker.Config{Func: "fail"})
	ctx := context.Background()
	require.NoError(t, h.Send(ctx, []byte("a")))
	require.NoError(t, h.Send(ctx, []byte("b")))
	for _, in := range []string{"a", "b"} {
		_, err := h.Recv(ctx)
		var rerr *worker.RemoteError
		require.ErrorAs(t, err, &rerr)
		assert.Equal(t, `cannot handle "`+in+`"`, rerr.Message)
	}
}

func TestTooLargePayload(t *testing.T) {
	const limit = 1 << 10
	h := start(t, worker.Config{Func: "echo", MaxPayload: limit})
	ctx := context.Background()
	big := bytes.Repeat([]byte{'b'}, limit+1)

	_, err := h.Execute(ctx, big)
	require.ErrorIs(t, err, worker.ErrTooLarge)
	require.ErrorIs(t, h.Send(ctx, big), worker.ErrTooLarge)
	assert.ErrorIs(t, h.SetFunc(ctx, "prefix", big), worker.ErrTooLarge, "static data counts too")
	_, err = h.Recv(ctx)
	require.ErrorIs(t, err, worker.ErrNoSend, "a refused Send is not outstanding")

	out, err := h.Execute(ctx, big[:limit])
	require.NoError(t, err, "a payload of exactly MaxPayload passes")
	assert.Equal(t, big[:limit], out)
	s := h.Status()
	assert.Equal(t, uint64(1), s.Tasks, "nothing was sent for the refused payloads")
	assert.Equal(t, uint64(limit), s.BytesIn)
	assert.Equal(t, "echo", s.Func, "the refused SetFunc was not sent")
}

func TestTooLargeResult(t *testing.T) {
	for _, sp := range spins {
		t.Run(sp.name, func(t *testing.T) {
			const limit = 4 << 10
			h := start(t, worker.Config{Func: "grow", MaxPayload: limit, Spin: sp.spin})
			ctx := context.Background()

			_, err := h.Execute(ctx, []byte(strconv.Itoa(limit+1)))
			require.ErrorIs(t, err, worker.ErrTooLarge)
			assert.NotErrorIs(t, err, worker.ErrExited)

			require.NoError(t, h.Send(ctx, []byte(strconv.Itoa(10*limit))))
			_, err = h.Recv(ctx)
			require.ErrorIs(t, err, worker.ErrTooLarge, "through Recv too")

			out, err := h.Execute(ctx, []byte(strconv.Itoa(limit)))
			require.NoError(t, err, "the worker lives on")
			assert.Len(t, out, limit)
			require.NoError(t, h.Close())
		})
	}
}

func TestStartTooLargeStatic(t *testing.T) {
	before := holding()
	_, err := worker.Start(context.Background(), worker.Config{Func: "prefix", MaxPayload: 16, Static: make([]byte, 17)})
	require.ErrorIs(t, err, worker.ErrTooLarge)
	requireReleased(t, before)
}

func TestCancelledExecute(t *testing.T) {
	for _, sp := range spins {
		t.Run(sp.name, func(t *testing.T) {
			h := start(t, worker.Config{Func: "sleep", Spin: sp.spin})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			out, err := h.Execute(ctx, []byte("600ms"))
			require.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Nil(t, out)
			assert.Equal(t, status.Busy, h.Status().State, "Execute returned while the task still runs")

			// The late result of "600ms" must not reach a later call.
			for _, in := range []string{"1ms", "2ms", "3ms"} {
				out, err := h.Execute(context.Background(), []byte(in))
				require.NoError(t, err)
				require.Equal(t, in, string(out))
			}
			require.NoError(t, h.Send(context.Background(), []byte("4ms")))
			out, err = h.Recv(context.Background())
			require.NoError(t, err)
			assert.Equal(t, "4ms", string(out), "nor a later Recv")
			_, err = h.Recv(context.Background())
			require.ErrorIs(t, err, worker.ErrNoSend)
			require.NoError(t, h.Close())
		})
	}
}

func TestCancelledBeforeExecute(t *testing.T) {
	h := start(t, worker.Config{Func: "echo"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := h.Execute(ctx, []byte("x"))
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, h.Send(ctx, []byte("x")), context.Canceled)
	require.ErrorIs(t, h.SetFunc(ctx, "upper", nil), context.Canceled)
	out, err := h.Execute(context.Background(), []byte("y"))
	require.NoError(t, err)
	assert.Equal(t, "y", string(out), "a done context sends nothing: the function is unchanged")
	assert.Equal(t, uint64(1), h.Status().Tasks, "only the last call ran")
}

func TestCancelledSendWhileTheRingIsFull(t *testing.T) {
	// A 64 KiB ring holds fewer than four 20 KiB payloads, and "block" never
	// returns, so the ring fills and the next Send waits for room.
	h := start(t, worker.Config{Func: "block", RingSize: 64 << 10, Spin: -1})
	payload := make([]byte, 20<<10)
	var sent int
	for ; sent < 10; sent++ {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		err := h.Send(ctx, payload)
		cancel()
		if err != nil {
			require.ErrorIs(t, err, context.DeadlineExceeded)
			break
		}
	}
	require.Less(t, sent, 10, "the ring filled up")
	require.NoError(t, h.Terminate())
	for range sent {
		_, err := h.Recv(context.Background())
		var xerr *worker.ExitError
		require.ErrorAs(t, err, &xerr)
	}
	_, err := h.Recv(context.Background())
	require.ErrorIs(t, err, worker.ErrClosed, "the cancelled Send is not outstanding")
}

func TestErrClosed(t *testing.T) {
	tests := []struct {
		name string
		stop func(*worker.Handle) error
	}{
		{"after Close", (*worker.Handle).Close},
		{"after Terminate", (*worker.Handle).Terminate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, worker.Config{Func: "echo"})
			ctx := context.Background()
			require.NoError(t, tt.stop(h))

			_, err := h.Execute(ctx, []byte("x"))
			assert.ErrorIs(t, err, worker.ErrClosed, "Execute")
			assert.ErrorIs(t, h.Send(ctx, []byte("x")), worker.ErrClosed, "Send")
			_, err = h.Recv(ctx)
			assert.ErrorIs(t, err, worker.ErrClosed, "Recv")
			assert.ErrorIs(t, h.SetFunc(ctx, "upper", nil), worker.ErrClosed, "SetFunc")
			assert.False(t, h.Poll())
			assert.ErrorIs(t, worker.ErrClosed, os.ErrClosed)
		})
	}
}

func TestStartUnknownFunc(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	tests := []struct {
		name string
		cfg  worker.Config
	}{
		{"a name this binary does not register", worker.Config{Func: "no-such-function"}},
		{"a name the worker binary does not register", worker.Config{Func: "no-such-function", Path: exe}},
		{"a name the worker binary does not register, without spinning", worker.Config{Func: "no-such-function", Path: exe, Spin: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := holding()
			h, err := worker.Start(context.Background(), tt.cfg)
			require.ErrorIs(t, err, worker.ErrUnknownFunc)
			assert.Nil(t, h)
			assert.Contains(t, err.Error(), "no-such-function")
			requireReleased(t, before)
		})
	}
}

func TestStartFactoryError(t *testing.T) {
	before := holding()
	h, err := worker.Start(context.Background(), worker.Config{Func: "prefix", Static: []byte("bad"), Spin: -1})
	assert.Nil(t, h)
	var rerr *worker.RemoteError
	require.ErrorAs(t, err, &rerr)
	assert.Contains(t, rerr.Message, "static data says bad")
	assert.NotErrorIs(t, err, worker.ErrUnknownFunc)
	requireReleased(t, before)
}

func TestStartConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  worker.Config
	}{
		{"no function", worker.Config{}},
		{"a ring size that is not a power of two", worker.Config{Func: "echo", RingSize: 100 << 10}},
		{"a ring size that is too small", worker.Config{Func: "echo", RingSize: 8}},
		{"a negative MaxPayload", worker.Config{Func: "echo", MaxPayload: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := holding()
			h, err := worker.Start(context.Background(), tt.cfg)
			require.Error(t, err)
			assert.Nil(t, h)
			requireReleased(t, before)
		})
	}
}

func TestStartCancelled(t *testing.T) {
	before := holding()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h, err := worker.Start(ctx, worker.Config{Func: "echo"})
	require.ErrorIs(t, err, context.Canceled)
	assert.Nil(t, h)
	requireReleased(t, before)
}

func TestExitErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		err  *worker.ExitError
		want string
	}{
		{"an exit status", &worker.ExitError{PID: 7, Code: 3}, "worker: process 7 exited with status 3"},
		{"a signal, a reason and stderr", &worker.ExitError{PID: 7, Code: -1, Signal: 9, Reason: "terminated", Stderr: "oops\n"},
			"worker: process 7 killed by signal killed (terminated); stderr: oops"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.err.Error())
			assert.ErrorIs(t, tt.err, worker.ErrExited)
			assert.True(t, errors.Is(error(tt.err), worker.ErrExited))
		})
	}
}

// TestCancelledSendMidMessage cancels a Send whose message is partly in the
// ring: the rest must still go in before anything else (it is finished by
// the next call), its result is dropped, and every later call gets its own
// answer.
func TestCancelledSendMidMessage(t *testing.T) {
	for _, sp := range spins {
		t.Run(sp.name, func(t *testing.T) {
			h := start(t, worker.Config{Func: "sleep", RingSize: 64 << 10, Spin: sp.spin})
			ctx := context.Background()
			// The worker holds "300ms" in the ring while it sleeps, so the
			// 200 KiB message below only partly fits.
			require.NoError(t, h.Send(ctx, []byte("300ms")))
			eventually(t, "the worker runs the task", func() bool { return h.Status().State == status.Busy })
			tctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
			err := h.Send(tctx, bytes.Repeat([]byte{'z'}, 200<<10))
			cancel()
			require.ErrorIs(t, err, context.DeadlineExceeded)

			tctx, cancel = context.WithTimeout(ctx, 30*time.Millisecond)
			_, err = h.Execute(tctx, bytes.Repeat([]byte{'y'}, 200<<10))
			cancel()
			require.ErrorIs(t, err, context.DeadlineExceeded, "an Execute cancelled mid-message too")

			out, err := h.Execute(ctx, []byte("1ms"))
			require.NoError(t, err)
			assert.Equal(t, "1ms", string(out))
			out, err = h.Recv(ctx)
			require.NoError(t, err)
			assert.Equal(t, "300ms", string(out))
			_, err = h.Recv(ctx)
			require.ErrorIs(t, err, worker.ErrNoSend, "the cancelled Send's result is dropped")

			s := h.Status()
			// Whichever of the cancelled messages reached the worker ran
			// (and failed: they are not durations); the rest was never sent.
			assert.GreaterOrEqual(t, s.Tasks, uint64(3))
			assert.Equal(t, s.Tasks-2, s.Errors)
			require.NoError(t, h.Close())
		})
	}
}

// TestStatusDuringStop reads Status from other goroutines while the worker
// is closed or terminated: the segment is unmapped under them, which must
// never fault, and the last reading stays available.
func TestStatusDuringStop(t *testing.T) {
	for _, stop := range []struct {
		name string
		fn   func(*worker.Handle) error
	}{{"Close", (*worker.Handle).Close}, {"Terminate", (*worker.Handle).Terminate}} {
		t.Run(stop.name, func(t *testing.T) {
			h := start(t, worker.Config{Func: "echo"})
			_, err := h.Execute(context.Background(), []byte("x"))
			require.NoError(t, err)
			done := make(chan struct{})
			var wg sync.WaitGroup
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						s := h.Status()
						if s.Tasks != 1 {
							t.Errorf("Tasks = %d during %s", s.Tasks, stop.name)
							return
						}
						select {
						case <-done:
							return
						default:
						}
					}
				}()
			}
			require.NoError(t, stop.fn(h))
			close(done)
			wg.Wait()
			assert.Equal(t, status.Exited, h.Status().State)
		})
	}
}
