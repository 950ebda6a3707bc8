package status

import (
	"math"
	"time"
)

// Snapshot is one worker's status at one moment, or a summary of many (Sum).
// It is a plain value: it holds no reference to shared memory. See the
// package documentation for the exact meaning of Uptime, Busy and Waiting.
type Snapshot struct {
	PID   int    // worker process id; 0 in a Sum or before the worker published it
	State State  // what the worker is doing; the most active state in a Sum
	Func  string // name of the function the worker runs; "" if unset or mixed in a Sum

	Started     time.Time     // when the worker started; zero if unknown
	Stopped     time.Time     // when the worker recorded that it stopped; zero while running
	TaskStarted time.Time     // start of the task in progress; zero when none (earliest in a Sum)
	Uptime      time.Duration // Started to now (or to Stopped)
	Busy        time.Duration // running tasks, including the task in progress
	Waiting     time.Duration // starved: waiting for input with nothing to do, including the wait in progress
	TaskElapsed time.Duration // how long the task in progress has run (part of Busy); 0 when none

	Tasks    uint64 // tasks completed, failed ones included
	Errors   uint64 // tasks that failed: returned an error or panicked
	Panics   uint64 // tasks that panicked (also counted in Errors)
	BytesIn  uint64 // payload bytes read by completed tasks
	BytesOut uint64 // payload bytes written by completed tasks

	// Restarts is how often the worker slot was restarted. The block does not
	// hold it (a new process starts a new block); whoever replaces workers,
	// such as a pool, fills it in. Reader.Snapshot leaves it 0.
	Restarts int
}

// Efficiency is Busy / (Busy + Waiting): the share of the time the worker
// was either working or starved that it spent working (doctable's
// efficiency). It is 0 when both are 0, and always within [0, 1].
func (s Snapshot) Efficiency() float64 {
	b, w := nonNeg(s.Busy), nonNeg(s.Waiting)
	return ratio(b, b+w)
}

// Utilization is Busy / Uptime: the share of its life the worker spent
// running tasks (doctable's total_efficiency). It is 0 when Uptime is 0, and
// always within [0, 1]. For a Sum it is the share of all workers' time.
func (s Snapshot) Utilization() float64 {
	return ratio(nonNeg(s.Busy), nonNeg(s.Uptime))
}

// Starvation is Waiting / Uptime: the share of its life the worker spent
// waiting for input. It is 0 when Uptime is 0, and always within [0, 1].
func (s Snapshot) Starvation() float64 {
	return ratio(nonNeg(s.Waiting), nonNeg(s.Uptime))
}

// MeanTask is the mean time a completed task took: (Busy - TaskElapsed) /
// Tasks (doctable's sec_per_job). The task in progress is left out, so a
// long task does not inflate the mean before it ends. It is 0 when no task
// has completed.
func (s Snapshot) MeanTask() time.Duration {
	if s.Tasks == 0 {
		return 0
	}
	done := max(s.Busy-max(s.TaskElapsed, 0), 0)
	return time.Duration(uint64(done) / s.Tasks)
}

// Sum summarises many snapshots, typically the workers of a pool:
// durations, counters and Restarts are summed (saturating rather than
// wrapping), so Uptime is total worker time and the ratios of the sum are
// shares of all workers' time; Started is the earliest start and
// TaskStarted the earliest task in progress; Stopped is the latest stop if
// every snapshot has stopped, else zero; State is the most active state
// (Busy if any is busy, else Idle, Starting, Stopping, Exited, Unknown in
// that order); Func is the common function name, or "" if they differ; PID
// is 0. The sum of nothing is the zero Snapshot. Busy + Waiting <= Uptime
// holds for the sum whenever it holds for each part.
func Sum(ss ...Snapshot) Snapshot {
	var t Snapshot
	for i, s := range ss {
		if i == 0 || s.State.rank() > t.State.rank() {
			t.State = s.State
		}
		if i == 0 {
			t.Func = s.Func
			t.Stopped = s.Stopped
		} else {
			if s.Func != t.Func {
				t.Func = ""
			}
			if s.Stopped.IsZero() || t.Stopped.IsZero() {
				t.Stopped = time.Time{}
			} else if s.Stopped.After(t.Stopped) {
				t.Stopped = s.Stopped
			}
		}
		t.Started = earliest(t.Started, s.Started)
		t.TaskStarted = earliest(t.TaskStarted, s.TaskStarted)

		t.Uptime = addDur(t.Uptime, s.Uptime)
		t.Busy = addDur(t.Busy, s.Busy)
		t.Waiting = addDur(t.Waiting, s.Waiting)
		t.TaskElapsed = addDur(t.TaskElapsed, s.TaskElapsed)

		t.Tasks = satAddU(t.Tasks, s.Tasks)
		t.Errors = satAddU(t.Errors, s.Errors)
		t.Panics = satAddU(t.Panics, s.Panics)
		t.BytesIn = satAddU(t.BytesIn, s.BytesIn)
		t.BytesOut = satAddU(t.BytesOut, s.BytesOut)
		t.Restarts = addInt(t.Restarts, s.Restarts)
	}
	// Saturation could otherwise break Busy + Waiting <= Uptime.
	if t.Busy+t.Waiting > t.Uptime || t.Busy+t.Waiting < 0 {
		t.Busy = min(t.Busy, t.Uptime)
		t.Waiting = min(t.Waiting, t.Uptime-t.Busy)
	}
	t.TaskElapsed = min(t.TaskElapsed, t.Busy)
	return t
}

// earliest returns the earlier of two times, ignoring zero times.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// addDur adds two durations, negative ones taken as 0, saturating.
func addDur(a, b time.Duration) time.Duration {
	return time.Duration(satAdd(int64(max(a, 0)), int64(max(b, 0))))
}

func addInt(a, b int) int {
	a, b = max(a, 0), max(b, 0)
	if a > math.MaxInt-b {
		return math.MaxInt
	}
	return a + b
}

func nonNeg(d time.Duration) float64 { return float64(max(d, 0)) }

// ratio returns num/den clamped to [0, 1], and 0 when den is 0.
func ratio(num, den float64) float64 {
	if den <= 0 || num <= 0 {
		return 0
	}
	r := num / den
	if !(r <= 1) { // also catches NaN
		return 1
	}
	return r
}
