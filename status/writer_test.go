package status_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/internal/atomicx"
	"github.com/shmpool/shmpool/status"
)

func TestAttachRejectsBadBlocks(t *testing.T) {
	aligned := atomicx.AlignedBytes(status.Size + 64)
	tests := []struct {
		name  string
		block []byte
		want  error
	}{
		{"a nil block is too small", nil, status.ErrTooSmall},
		{"a block one byte short is too small", aligned[:status.Size-1], status.ErrTooSmall},
		{"a block one byte off an 8-byte boundary is misaligned", aligned[1 : 1+status.Size], status.ErrMisaligned},
		{"a block four bytes off an 8-byte boundary is misaligned", aligned[4 : 4+status.Size], status.ErrMisaligned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := status.NewWriter(tt.block, 1, t0)
			assert.ErrorIs(t, err, tt.want)
			assert.Nil(t, w)
			r, err := status.NewReader(tt.block)
			assert.ErrorIs(t, err, tt.want)
			assert.Nil(t, r)
		})
	}
	t.Run("a block on an 8-byte boundary but not a cache line is accepted", func(t *testing.T) {
		_, err := status.NewWriter(aligned[8:8+status.Size], 1, t0)
		assert.NoError(t, err)
		_, err = status.NewReader(aligned[8 : 8+status.Size])
		assert.NoError(t, err)
	})
}

func TestNewWriterRejectsBadArguments(t *testing.T) {
	tests := []struct {
		name string
		pid  int
		now  time.Time
	}{
		{"a negative pid", -1, t0},
		{"a pid beyond int32", math.MaxInt32 + 1, t0},
		{"a zero start time", 1, time.Time{}},
		{"a start time before 2000", 1, time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC)},
		{"a start time int64 nanoseconds cannot hold", 1, time.Date(2263, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := status.NewWriter(newBlock(t), tt.pid, tt.now)
			assert.Error(t, err)
			assert.Nil(t, w)
		})
	}
}

func TestNewWriterInitialisesTheBlock(t *testing.T) {
	t.Run("a block full of garbage is reset", func(t *testing.T) {
		block := newBlock(t)
		for i := range block {
			block[i] = 0xff
		}
		_, err := status.NewWriter(block, 99, t0)
		require.NoError(t, err)
		r, err := status.NewReader(block)
		require.NoError(t, err)
		assert.Equal(t, status.Snapshot{
			PID: 99, State: status.Starting, Started: time.Unix(0, t0.UnixNano()), Uptime: time.Minute,
		}, r.Snapshot(at(time.Minute)))
	})
	t.Run("only the first Size bytes of a larger block are touched", func(t *testing.T) {
		block := atomicx.AlignedBytes(status.Size + 64)
		for i := range block {
			block[i] = 0xaa
		}
		_, err := status.NewWriter(block, 1, t0)
		require.NoError(t, err)
		assert.Equal(t, strings.Repeat("\xaa", 64), string(block[status.Size:]))
	})
}

func TestCountersRoundTrip(t *testing.T) {
	type task struct {
		in, out          int
		failed, panicked bool
	}
	tests := []struct {
		name  string
		tasks []task
		want  status.Snapshot // only the counters are compared
	}{
		{"no tasks count nothing", nil, status.Snapshot{}},
		{"a successful task counts bytes and no error", []task{{10, 20, false, false}},
			status.Snapshot{Tasks: 1, BytesIn: 10, BytesOut: 20}},
		{"a failed task counts an error", []task{{1, 0, true, false}},
			status.Snapshot{Tasks: 1, Errors: 1, BytesIn: 1}},
		{"a panic counts as an error and a panic", []task{{0, 0, false, true}},
			status.Snapshot{Tasks: 1, Errors: 1, Panics: 1}},
		{"a failure that panicked counts one error", []task{{0, 0, true, true}},
			status.Snapshot{Tasks: 1, Errors: 1, Panics: 1}},
		{"negative byte counts are taken as zero", []task{{-5, -7, false, false}},
			status.Snapshot{Tasks: 1}},
		{"a mix adds up exactly", []task{
			{1 << 40, 3, false, false}, {5, 1 << 33, true, false}, {7, 11, false, true}, {0, 0, false, false},
		}, status.Snapshot{Tasks: 4, Errors: 2, Panics: 1, BytesIn: 1<<40 + 12, BytesOut: 1<<33 + 14}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, r, _ := newPair(t)
			now := t0
			for _, tk := range tt.tasks {
				now = now.Add(time.Millisecond)
				w.TaskStart(now)
				now = now.Add(time.Millisecond)
				w.TaskEnd(now, tk.in, tk.out, tk.failed, tk.panicked)
			}
			s := r.Snapshot(now)
			assert.Equal(t, tt.want.Tasks, s.Tasks, "tasks")
			assert.Equal(t, tt.want.Errors, s.Errors, "errors")
			assert.Equal(t, tt.want.Panics, s.Panics, "panics")
			assert.Equal(t, tt.want.BytesIn, s.BytesIn, "bytes in")
			assert.Equal(t, tt.want.BytesOut, s.BytesOut, "bytes out")
			assert.Equal(t, time.Duration(len(tt.tasks))*time.Millisecond, s.Busy, "busy")
		})
	}
}

// step is one Writer call at a time offset from t0.
type step struct {
	at   time.Duration
	call string // "wait", "endwait", "task", "endtask", "stop"
}

func (st step) apply(w *status.Writer) {
	now := at(st.at)
	switch st.call {
	case "wait":
		w.WaitStart(now)
	case "endwait":
		w.WaitEnd(now)
	case "task":
		w.TaskStart(now)
	case "endtask":
		w.TaskEnd(now, 0, 0, false, false)
	case "stop":
		w.Stopped(now)
	default:
		panic("unknown step " + st.call)
	}
}

func TestTimeAccounting(t *testing.T) {
	s := time.Second
	tests := []struct {
		name                  string
		steps                 []step
		snapAt                time.Duration
		uptime, busy, waiting time.Duration
		elapsed               time.Duration // TaskElapsed
		taskStarted           time.Duration // -1: none
		state                 status.State
	}{
		{"a fresh worker has uptime only", nil, 10 * s, 10 * s, 0, 0, 0, -1, status.Starting},
		{"a completed wait counts as waiting",
			[]step{{1 * s, "wait"}, {4 * s, "endwait"}}, 10 * s, 10 * s, 0, 3 * s, 0, -1, status.Idle},
		{"a completed task counts as busy",
			[]step{{2 * s, "task"}, {7 * s, "endtask"}}, 10 * s, 10 * s, 5 * s, 0, 0, -1, status.Idle},
		{"a task ends the wait before it",
			[]step{{1 * s, "wait"}, {3 * s, "task"}, {6 * s, "endtask"}}, 10 * s, 10 * s, 3 * s, 2 * s, 0, -1, status.Idle},
		{"the task in progress counts as busy in real time",
			[]step{{2 * s, "task"}, {3 * s, "endtask"}, {4 * s, "task"}}, 10 * s, 10 * s, 7 * s, 0, 6 * s, 4 * s, status.Busy},
		{"the wait in progress counts as waiting in real time",
			[]step{{1 * s, "wait"}}, 10 * s, 10 * s, 0, 9 * s, 0, -1, status.Idle},
		{"a wait started during a task is ignored",
			[]step{{1 * s, "task"}, {2 * s, "wait"}, {5 * s, "endtask"}}, 10 * s, 10 * s, 4 * s, 0, 0, -1, status.Idle},
		{"a second wait start keeps the first",
			[]step{{1 * s, "wait"}, {2 * s, "wait"}, {5 * s, "endwait"}}, 10 * s, 10 * s, 0, 4 * s, 0, -1, status.Idle},
		{"a wait end without a wait does nothing",
			[]step{{1 * s, "endwait"}}, 10 * s, 10 * s, 0, 0, 0, -1, status.Starting},
		{"a task end without a task adds no busy time",
			[]step{{1 * s, "endtask"}}, 10 * s, 10 * s, 0, 0, 0, -1, status.Starting},
		{"a task start during a task ends the first",
			[]step{{1 * s, "task"}, {3 * s, "task"}, {4 * s, "endtask"}}, 10 * s, 10 * s, 3 * s, 0, 0, -1, status.Idle},
		{"an end before its start adds nothing",
			[]step{{5 * s, "task"}, {4 * s, "endtask"}}, 10 * s, 10 * s, 0, 0, 0, -1, status.Idle},
		{"stopping freezes uptime",
			[]step{{1 * s, "task"}, {3 * s, "endtask"}, {4 * s, "stop"}}, 60 * s, 4 * s, 2 * s, 0, 0, -1, status.Exited},
		{"a task running at the stop counts up to the stop",
			[]step{{1 * s, "task"}, {4 * s, "stop"}}, 60 * s, 4 * s, 3 * s, 0, 3 * s, 1 * s, status.Exited},
		{"calls after the stop do nothing",
			[]step{{4 * s, "stop"}, {5 * s, "task"}, {6 * s, "endtask"}}, 60 * s, 4 * s, 0, 0, 0, -1, status.Exited},
		{"a snapshot before a task's recorded start counts nothing of it",
			[]step{{20 * s, "task"}}, 10 * s, 10 * s, 0, 0, 0, 10 * s, status.Busy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, r, _ := newPair(t)
			for _, st := range tt.steps {
				st.apply(w)
			}
			now := at(tt.snapAt)
			got := r.Snapshot(now)
			checkInvariants(t, got, now)
			assert.Equal(t, tt.uptime, got.Uptime, "uptime")
			assert.Equal(t, tt.busy, got.Busy, "busy")
			assert.Equal(t, tt.waiting, got.Waiting, "waiting")
			assert.Equal(t, tt.elapsed, got.TaskElapsed, "task elapsed")
			assert.Equal(t, tt.state, got.State, "state")
			if tt.taskStarted < 0 {
				assert.True(t, got.TaskStarted.IsZero(), "task started %v", got.TaskStarted)
			} else {
				assert.True(t, at(tt.taskStarted).Equal(got.TaskStarted), "task started %v", got.TaskStarted)
			}
		})
	}
}

func TestStateTransitions(t *testing.T) {
	tests := []struct {
		name  string
		calls func(w *status.Writer)
		want  status.State
	}{
		{"a new writer is starting", func(*status.Writer) {}, status.Starting},
		{"waiting for input makes it idle", func(w *status.Writer) { w.WaitStart(at(1)) }, status.Idle},
		{"a task makes it busy", func(w *status.Writer) { w.TaskStart(at(1)) }, status.Busy},
		{"the end of a task makes it idle", func(w *status.Writer) {
			w.TaskStart(at(1))
			w.TaskEnd(at(2), 0, 0, false, false)
		}, status.Idle},
		{"a stopping worker stays stopping through a task", func(w *status.Writer) {
			w.SetState(status.Stopping)
			w.TaskStart(at(1))
			w.TaskEnd(at(2), 0, 0, false, false)
		}, status.Stopping},
		{"a stopping worker stays stopping while it waits", func(w *status.Writer) {
			w.SetState(status.Stopping)
			w.WaitStart(at(1))
		}, status.Stopping},
		{"stopped makes it exited", func(w *status.Writer) { w.Stopped(at(1)) }, status.Exited},
		{"set state is ignored after stopped", func(w *status.Writer) {
			w.Stopped(at(1))
			w.SetState(status.Idle)
		}, status.Exited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, r, _ := newPair(t)
			tt.calls(w)
			assert.Equal(t, tt.want, r.Snapshot(at(time.Second)).State)
		})
	}
	t.Run("set state panics on a state no writer may publish", func(t *testing.T) {
		w, _, _ := newPair(t)
		assert.Panics(t, func() { w.SetState(status.Unknown) })
		assert.Panics(t, func() { w.SetState(status.Exited + 1) })
	})
}

func TestSetFunc(t *testing.T) {
	long := strings.Repeat("x", 63) + "é" // 65 bytes, the rune straddles byte 64
	tests := []struct {
		name, set, want string
	}{
		{"a short name round trips", "resize", "resize"},
		{"an empty name reads as empty", "", ""},
		{"a name of exactly FuncNameMax bytes is kept", strings.Repeat("n", 64), strings.Repeat("n", 64)},
		{"a longer name is cut at FuncNameMax bytes", strings.Repeat("n", 70), strings.Repeat("n", 64)},
		{"a longer name is cut at a rune boundary", long, strings.Repeat("x", 63)},
		{"multi-byte names round trip", "größe→縮小", "größe→縮小"},
		{"a name with a tab reads with the tab replaced", "a\tb", "a?b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, r, _ := newPair(t)
			w.SetFunc("previous")
			w.SetFunc(tt.set)
			assert.Equal(t, tt.want, r.Snapshot(t0).Func)
		})
	}
	t.Run("setting the same name again does not touch the block", func(t *testing.T) {
		w, _, block := newPair(t)
		w.SetFunc("same")
		seq := getWord(t, block, "funcSeq")
		w.SetFunc("same")
		assert.Equal(t, seq, getWord(t, block, "funcSeq"))
	})
}

func TestHotPathsDoNotAllocate(t *testing.T) {
	w, r, _ := newPair(t)
	w.SetFunc("resize")
	now := t0
	assertNoAlloc(t, "a wait and a task", func() {
		now = now.Add(time.Microsecond)
		w.WaitStart(now)
		now = now.Add(time.Microsecond)
		w.TaskStart(now)
		now = now.Add(time.Microsecond)
		w.TaskEnd(now, 64, 64, false, false)
	})
	assertNoAlloc(t, "set func", func() { w.SetFunc("resize") })
	r.Snapshot(now) // decode the name once
	assertNoAlloc(t, "snapshot", func() { _ = r.Snapshot(now) })
}
