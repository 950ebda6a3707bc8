package status_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/shmpool/shmpool/status"
)

func TestDerivedMetrics(t *testing.T) {
	s := time.Second
	tests := []struct {
		name                                string
		snap                                status.Snapshot
		efficiency, utilization, starvation float64
		meanTask                            time.Duration
	}{
		{"a zero snapshot gives zeros", status.Snapshot{}, 0, 0, 0, 0},
		{"uptime alone gives zeros", status.Snapshot{Uptime: 10 * s}, 0, 0, 0, 0},
		{"a worker busy all the time is fully efficient and utilised",
			status.Snapshot{Uptime: 10 * s, Busy: 10 * s, Tasks: 5}, 1, 1, 0, 2 * s},
		{"a worker that only waited is fully starved",
			status.Snapshot{Uptime: 10 * s, Waiting: 10 * s}, 0, 0, 1, 0},
		{"busy and waiting share the time",
			status.Snapshot{Uptime: 10 * s, Busy: 6 * s, Waiting: 2 * s, Tasks: 3}, 0.75, 0.6, 0.2, 2 * s},
		{"the task in progress is left out of the mean",
			status.Snapshot{Uptime: 10 * s, Busy: 8 * s, TaskElapsed: 5 * s, Tasks: 3}, 1, 0.8, 0, s},
		{"a first task in progress gives no mean",
			status.Snapshot{Uptime: 10 * s, Busy: 8 * s, TaskElapsed: 8 * s}, 1, 0.8, 0, 0},
		{"busy without uptime gives zero utilisation",
			status.Snapshot{Busy: 8 * s, Tasks: 1}, 1, 0, 0, 8 * s},
		{"negative durations count as zero",
			status.Snapshot{Uptime: -s, Busy: -s, Waiting: -s, TaskElapsed: -s, Tasks: 1}, 0, 0, 0, 0},
		{"ratios of inconsistent snapshots are capped at one",
			status.Snapshot{Uptime: s, Busy: 5 * s, Waiting: 5 * s}, 0.5, 1, 1, 0},
		{"extreme durations give finite ratios",
			status.Snapshot{Uptime: math.MaxInt64, Busy: math.MaxInt64, Waiting: math.MaxInt64, Tasks: math.MaxUint64}, 0.5, 1, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.InDelta(t, tt.efficiency, tt.snap.Efficiency(), 1e-12, "efficiency")
			assert.InDelta(t, tt.utilization, tt.snap.Utilization(), 1e-12, "utilization")
			assert.InDelta(t, tt.starvation, tt.snap.Starvation(), 1e-12, "starvation")
			assert.Equal(t, tt.meanTask, tt.snap.MeanTask(), "mean task")
		})
	}
}

func TestSum(t *testing.T) {
	s := time.Second
	a := status.Snapshot{
		PID: 10, State: status.Idle, Func: "resize",
		Started: at(0), Uptime: 100 * s, Busy: 60 * s, Waiting: 30 * s,
		Tasks: 10, Errors: 2, Panics: 1, BytesIn: 1000, BytesOut: 2000, Restarts: 1,
	}
	b := status.Snapshot{
		PID: 11, State: status.Busy, Func: "resize",
		Started: at(50 * s), TaskStarted: at(140 * s), Uptime: 50 * s, Busy: 40 * s, Waiting: 5 * s, TaskElapsed: 10 * s,
		Tasks: 5, Errors: 1, BytesIn: 10, BytesOut: 20, Restarts: 2,
	}
	c := status.Snapshot{PID: 12, State: status.Exited, Func: "crop", Stopped: at(30 * s), Started: at(-10 * s), Uptime: 40 * s}

	t.Run("the sum of nothing is the zero snapshot", func(t *testing.T) {
		assert.Equal(t, status.Snapshot{}, status.Sum())
	})
	t.Run("the sum of one snapshot is that snapshot without its pid", func(t *testing.T) {
		want := a
		want.PID = 0
		assert.Equal(t, want, status.Sum(a))
	})
	t.Run("counters and durations add up", func(t *testing.T) {
		got := status.Sum(a, b)
		assert.Equal(t, status.Snapshot{
			State: status.Busy, Func: "resize",
			Started: at(0), TaskStarted: at(140 * s), Uptime: 150 * s, Busy: 100 * s, Waiting: 35 * s, TaskElapsed: 10 * s,
			Tasks: 15, Errors: 3, Panics: 1, BytesIn: 1010, BytesOut: 2020, Restarts: 3,
		}, got)
		assert.InDelta(t, 100.0/150, got.Utilization(), 1e-12, "share of all workers' time")
		assert.Equal(t, 6*s, got.MeanTask(), "in-progress time left out")
	})
	t.Run("different functions sum to no function and the earliest start wins", func(t *testing.T) {
		got := status.Sum(a, c)
		assert.Empty(t, got.Func)
		assert.Equal(t, at(-10*s), got.Started)
		assert.True(t, got.Stopped.IsZero(), "one worker still runs")
	})
	t.Run("stopped is the latest stop when all have stopped", func(t *testing.T) {
		d := c
		d.Stopped = at(90 * s)
		assert.Equal(t, at(90*s), status.Sum(c, d, c).Stopped)
	})
	t.Run("zero times are ignored for the earliest start", func(t *testing.T) {
		assert.Equal(t, at(50*s), status.Sum(status.Snapshot{}, b).Started)
	})
	t.Run("saturation keeps busy plus waiting within uptime", func(t *testing.T) {
		huge := status.Snapshot{Uptime: math.MaxInt64, Busy: math.MaxInt64 / 2, Waiting: math.MaxInt64 / 2, Tasks: math.MaxUint64}
		got := status.Sum(huge, huge, huge)
		assert.Equal(t, time.Duration(math.MaxInt64), got.Uptime)
		assert.LessOrEqual(t, got.Busy, got.Uptime-got.Waiting)
		assert.GreaterOrEqual(t, got.Waiting, time.Duration(0))
		assert.Equal(t, uint64(math.MaxUint64), got.Tasks)
	})

	states := []struct {
		name string
		in   []status.State
		want status.State
	}{
		{"any busy worker makes the sum busy", []status.State{status.Idle, status.Busy, status.Exited}, status.Busy},
		{"idle beats starting", []status.State{status.Starting, status.Idle}, status.Idle},
		{"starting beats stopping", []status.State{status.Stopping, status.Starting}, status.Starting},
		{"stopping beats exited", []status.State{status.Exited, status.Stopping}, status.Stopping},
		{"exited beats unknown", []status.State{status.Unknown, status.Exited}, status.Exited},
		{"all unknown is unknown", []status.State{status.Unknown, status.Unknown}, status.Unknown},
	}
	for _, tt := range states {
		t.Run("state: "+tt.name, func(t *testing.T) {
			var ss []status.Snapshot
			for _, st := range tt.in {
				ss = append(ss, status.Snapshot{State: st})
			}
			assert.Equal(t, tt.want, status.Sum(ss...).State)
		})
	}
}

func TestStateString(t *testing.T) {
	tests := []struct {
		state status.State
		want  string
	}{
		{status.Starting, "starting"},
		{status.Idle, "idle"},
		{status.Busy, "busy"},
		{status.Stopping, "stopping"},
		{status.Exited, "exited"},
		{status.Unknown, "unknown"},
		{status.Exited + 1, "unknown(5)"},
	}
	for _, tt := range tests {
		t.Run(tt.want+" reads as "+tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.state.String())
		})
	}
}
