package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/status"
	"github.com/shmpool/shmpool/worker"
)

// TestStatusCounters runs a known sequence of tasks and checks the
// counters exactly, and the durations for plausibility.
func TestStatusCounters(t *testing.T) {
	for _, sp := range spins {
		t.Run(sp.name, func(t *testing.T) {
			ctx := context.Background()
			h := start(t, worker.Config{Func: "echo", Spin: sp.spin})
			s := h.Status()
			assert.Zero(t, s.Tasks, "SetFunc at start is not a task")
			assert.Equal(t, h.PID(), s.PID)
			assert.Equal(t, "echo", s.Func)

			steps := []struct {
				fn      string
				in      string
				wantErr bool
			}{
				{"echo", "abc", false},   // in 3, out 3
				{"echo", "12345", false}, // in 5, out 5
				{"fail", "xy", true},     // in 2, out 0, error
				{"panic", "p", true},     // in 1, out 0, error and panic
				{"grow", "10", false},    // in 2, out 10
				{"sleep", "50ms", false}, // in 4, out 4, busy >= 50ms
				{"sleep", "30ms", false}, // in 4, out 4, busy >= 30ms
			}
			fn := "echo"
			for _, st := range steps {
				if st.fn != fn {
					require.NoError(t, h.SetFunc(ctx, st.fn, nil))
					fn = st.fn
				}
				_, err := h.Execute(ctx, []byte(st.in))
				if st.wantErr {
					require.Error(t, err)
				} else {
					require.NoError(t, err)
				}
			}
			// A Send/Recv pair counts the same way.
			require.NoError(t, h.Send(ctx, []byte("1ms"))) // in 3, out 3
			_, err := h.Recv(ctx)
			require.NoError(t, err)

			s = h.Status()
			assert.Equal(t, uint64(8), s.Tasks)
			assert.Equal(t, uint64(2), s.Errors)
			assert.Equal(t, uint64(1), s.Panics)
			assert.Equal(t, uint64(3+5+2+1+2+4+4+3), s.BytesIn)
			assert.Equal(t, uint64(3+5+0+0+10+4+4+3), s.BytesOut)
			assert.Equal(t, "sleep", s.Func)
			assert.Equal(t, h.PID(), s.PID)

			assert.GreaterOrEqual(t, s.Busy, 81*time.Millisecond, "busy covers the sleeps run")
			// Back-to-back calls may never find the worker waiting (under
			// load it can be preempted after each answer until the next
			// request is in), but an idle worker does wait, visibly.
			eventually(t, "an idle worker counts as waiting", func() bool { return h.Status().Waiting > 0 })
			assert.LessOrEqual(t, s.Busy+s.Waiting, s.Uptime)
			assert.False(t, s.Started.IsZero())
			assert.WithinDuration(t, time.Now(), s.Started, time.Minute)
			assert.Zero(t, s.TaskElapsed, "no task in progress")
			assert.Contains(t, []status.State{status.Idle}, s.State)
			assert.Positive(t, s.MeanTask())
			assert.InDelta(t, 0.5, s.Efficiency(), 0.5)

			later := h.Status()
			assert.GreaterOrEqual(t, later.Uptime, s.Uptime, "uptime grows")
			assert.Equal(t, s.Tasks, later.Tasks, "Status sends no message")
			assert.LessOrEqual(t, later.Busy+later.Waiting, later.Uptime)
			assert.Equal(t, s.Busy, later.Busy, "no busy time while idle")

			require.NoError(t, h.Close())
			final := h.Status()
			assert.Equal(t, status.Exited, final.State)
			assert.Equal(t, s.Tasks, final.Tasks, "the counters survive Close")
			assert.Equal(t, s.BytesIn, final.BytesIn)
			assert.LessOrEqual(t, final.Busy+final.Waiting, final.Uptime)
			time.Sleep(5 * time.Millisecond)
			assert.Equal(t, final.Uptime, h.Status().Uptime, "uptime stops at exit")
		})
	}
}

func TestStatusBusyWhileATaskRuns(t *testing.T) {
	for _, sp := range spins {
		t.Run(sp.name, func(t *testing.T) {
			h := start(t, worker.Config{Func: "sleep", Spin: sp.spin})
			// Idle once the worker first waits for input; Starting until then.
			assert.Contains(t, []status.State{status.Starting, status.Idle}, h.Status().State)

			res := make(chan error, 1)
			go func() {
				_, err := h.Execute(context.Background(), []byte("500ms"))
				res <- err
			}()
			eventually(t, "the worker says Busy", func() bool { return h.Status().State == status.Busy })
			s := h.Status()
			assert.False(t, s.TaskStarted.IsZero(), "the task's start is known")
			assert.LessOrEqual(t, s.TaskElapsed, s.Busy)
			assert.LessOrEqual(t, s.Busy+s.Waiting, s.Uptime)

			select {
			case err := <-res:
				require.NoError(t, err)
			case <-time.After(liveBound):
				t.Fatal("Execute hangs")
			}
			eventually(t, "the worker goes back to Idle", func() bool { return h.Status().State == status.Idle })
			assert.GreaterOrEqual(t, h.Status().Busy, 500*time.Millisecond)
			require.NoError(t, h.Close())
			assert.Equal(t, status.Exited, h.Status().State)
		})
	}
}

func TestStatusAfterTerminate(t *testing.T) {
	h := start(t, worker.Config{Func: "echo"})
	_, err := h.Execute(context.Background(), []byte("x"))
	require.NoError(t, err)
	require.NoError(t, h.Terminate())
	s := h.Status()
	assert.Equal(t, status.Exited, s.State)
	assert.Equal(t, uint64(1), s.Tasks)
	assert.Equal(t, h.PID(), s.PID)
}
