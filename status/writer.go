package status

import (
	"fmt"
	"math"
	"time"
)

// minTime is the earliest time a block may hold; anything before it is
// treated as garbage (or as "not set" when it is 0).
var minTime = time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)

// maxTime is the latest time int64 Unix nanoseconds can hold (in 2262).
var maxTime = time.Unix(0, math.MaxInt64).UTC()

// Writer publishes one worker's status into a block. It is the worker's side
// and the block's only writer.
//
// A Writer must not be used concurrently: its methods are meant to be called
// from the worker's serve loop, one at a time. It has no run-time guard
// against misuse (that would add two atomic operations to every task);
// concurrent calls cannot corrupt memory, only skew the figures, which every
// Reader clamps. The methods never allocate and make no system call.
//
// Calls are expected to nest: WaitStart/WaitEnd pairs and TaskStart/TaskEnd
// pairs do not overlap, and Stopped comes last. The methods tolerate other
// orders as documented on each.
type Writer struct {
	_ noCopy

	w words

	state  State     // what was last published to w.state
	task   time.Time // start of the task in progress, as passed (monotonic clock kept)
	wait   time.Time // start of the wait in progress, as passed
	inTask bool
	inWait bool
	done   bool // Stopped was called
	name   nameWords
}

// NewWriter initialises block as a status block for the worker with process
// id pid, started at now, and returns its Writer. Every word is reset: the
// state is Starting and all counters are zero. block must be at least Size
// bytes and aligned to Alignment (ErrTooSmall, ErrMisaligned); only its
// first Size bytes are used. pid must be in [0, MaxInt32] and now must be a
// wall-clock time from 2000 to 2262 (what int64 Unix nanoseconds hold).
func NewWriter(block []byte, pid int, now time.Time) (*Writer, error) {
	const op = "status: new writer"
	w, err := attach(op, block)
	if err != nil {
		return nil, err
	}
	if pid < 0 || pid > math.MaxInt32 {
		return nil, fmt.Errorf("%s: pid %d out of range", op, pid)
	}
	if now.Before(minTime) || now.After(maxTime) {
		return nil, fmt.Errorf("%s: start time %v outside [%v, %v]", op, now, minTime, maxTime)
	}
	for _, word := range w.all() {
		word.Store(0)
	}
	w.pid.Store(uint64(pid))
	w.started.Store(uint64(now.UnixNano()))
	w.state.Store(uint64(Starting))
	return &Writer{w: w, state: Starting}, nil
}

// SetState publishes s. It panics if s is not one of the defined states
// (Unknown included): that is a bug in the caller. TaskStart, WaitStart and
// Stopped update the state themselves, and Busy needs no call (an Idle
// worker with a task in progress reads as Busy, which saves the hot path two
// atomic stores per task); SetState is for Stopping and for states the loop
// reaches otherwise.
func (w *Writer) SetState(s State) {
	if !s.valid() {
		panic(fmt.Sprintf("status: SetState(%v): not a state a writer may publish", s))
	}
	if w.done {
		return
	}
	w.setState(s)
}

func (w *Writer) setState(s State) {
	if w.state != s {
		w.state = s
		w.w.state.Store(uint64(s))
	}
}

// SetFunc publishes the name of the function the worker runs. A name longer
// than FuncNameMax bytes is truncated at a rune boundary. A Reader never sees
// a mix of two names (the name is published under a seqlock, see
// funcname.go).
func (w *Writer) SetFunc(name string) {
	nw := encodeName(name)
	if nw == w.name || w.done {
		return
	}
	w.name = nw
	w.w.funcSeq.Add(1) // odd: being rewritten
	for i, word := range w.w.funcName {
		word.Store(nw[i])
	}
	w.w.funcSeq.Add(1) // even: stable
}

// TaskStart records that a task started at now. Readers show an Idle worker
// with a task in progress as Busy (a Stopping worker that drains its queue
// stays Stopping); a Starting worker becomes Idle. A wait in progress ends
// at now. A task still in progress ends first, as if TaskEnd(now, 0, 0,
// false, false) had been called, so its time is not lost.
func (w *Writer) TaskStart(now time.Time) {
	if w.done {
		return
	}
	if w.inWait {
		w.WaitEnd(now)
	}
	if w.inTask {
		w.TaskEnd(now, 0, 0, false, false)
	}
	w.task, w.inTask = now, true
	w.w.taskStart.Store(uint64(now.UnixNano()))
	if w.state == Starting {
		w.setState(Idle)
	}
}

// TaskEnd records that the task in progress ended at now, having read
// bytesIn payload bytes and written bytesOut (negative counts are taken as
// 0). failed means the task's function returned an error, panicked that it
// panicked; a panic counts as a failure too, so Errors counts both and Panics
// the subset that panicked. Without a task in progress the task is counted
// with no busy time.
//
// The busy time added is now minus the start passed to TaskStart, measured
// on Go's monotonic clock when both times carry it (time.Now does), so a
// wall-clock step during a task does not distort it.
func (w *Writer) TaskEnd(now time.Time, bytesIn, bytesOut int, failed, panicked bool) {
	if w.done {
		return
	}
	var d time.Duration
	if w.inTask {
		d = max(now.Sub(w.task), 0)
		w.inTask = false
	}
	// Order matters: see the publication order in layout.go.
	w.w.taskStart.Store(0)
	w.w.busy.Add(uint64(d))
	w.w.tasks.Add(1)
	if failed || panicked {
		w.w.errors.Add(1)
	}
	if panicked {
		w.w.panics.Add(1)
	}
	if bytesIn > 0 {
		w.w.bytesIn.Add(uint64(bytesIn))
	}
	if bytesOut > 0 {
		w.w.bytesOut.Add(uint64(bytesOut))
	}
}

// WaitStart records that the worker began, at now, to wait for input with
// nothing else to do: the time until WaitEnd (or TaskStart) counts as
// Waiting, the time the worker was starved. A Starting state becomes Idle.
// It does nothing while a task or another wait is in progress: a worker that
// is running a task is not starved.
func (w *Writer) WaitStart(now time.Time) {
	if w.done || w.inTask || w.inWait {
		return
	}
	w.wait, w.inWait = now, true
	w.w.waitStart.Store(uint64(now.UnixNano()))
	if w.state == Starting {
		w.setState(Idle)
	}
}

// WaitEnd records that the wait in progress ended at now. It does nothing
// when no wait is in progress.
func (w *Writer) WaitEnd(now time.Time) {
	if w.done || !w.inWait {
		return
	}
	d := max(now.Sub(w.wait), 0)
	w.inWait = false
	// Order matters: see the publication order in layout.go.
	w.w.waitStart.Store(0)
	w.w.waiting.Add(uint64(d))
}

// Stopped records that the worker stopped at now and publishes Exited.
// Uptime stops growing at now; a task or wait still in progress is counted up
// to now by Readers. It is the last call: later calls do nothing.
func (w *Writer) Stopped(now time.Time) {
	if w.done {
		return
	}
	w.w.stopped.Store(uint64(now.UnixNano()))
	w.setState(Exited)
	w.done = true
}

// noCopy makes go vet's copylocks check report copies of a Writer, whose
// local task and wait clocks must stay with the one instance.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}
