package status

import (
	"math"
	"sync/atomic"
	"time"
)

// funcNameTries bounds how often Snapshot retries reading the function name
// while the worker rewrites it, so that a worker that keeps the seqlock odd
// cannot make a Reader spin.
const funcNameTries = 4

// Reader reads one worker's status block. It is the parent's side: it only
// loads, never stores, and copies nothing but the words themselves.
//
// A Reader is safe for concurrent use by multiple goroutines.
type Reader struct {
	w    words
	name atomic.Pointer[cachedName] // last name decoded, so Snapshot need not allocate
}

type cachedName struct {
	words nameWords
	name  string
}

// NewReader attaches a Reader to block, which must be at least Size bytes and
// aligned to Alignment (ErrTooSmall, ErrMisaligned); only its first Size
// bytes are read. The contents are not checked: a block a worker has not
// initialised yet reads as a Starting worker with no start time, and any
// other contents read as something sane (see Snapshot).
func NewReader(block []byte) (*Reader, error) {
	w, err := attach("status: new reader", block)
	if err != nil {
		return nil, err
	}
	return &Reader{w: w}, nil
}

// Snapshot returns the worker's status as of now, which should be the
// caller's time.Now().
//
// Each word is loaded once, atomically, but the snapshot is not a
// consistent cut across words: a task that ends while Snapshot runs may be
// counted in Tasks but not yet in Busy. The load order (mirroring the store
// order in layout.go) makes such transients undercount, never double count.
//
// Everything in the block is untrusted, and Snapshot never panics whatever
// it holds. It guarantees: every duration is >= 0; Busy + Waiting <= Uptime;
// TaskElapsed <= Busy; Panics <= Errors <= Tasks; State is a defined state
// or Unknown; Func is printable UTF-8 of at most FuncNameMax bytes; and
// Started, Stopped and TaskStarted are each zero or within [2000-01-01,
// now]. A start time that is not set or before 2000 reads as zero Started
// with zero durations; times after now are clamped to now.
func (r *Reader) Snapshot(now time.Time) Snapshot {
	w := &r.w
	// Load order matters, see layout.go: panics before errors before tasks,
	// and each accumulated duration before its in-progress start word.
	state := w.state.Load()
	pid := w.pid.Load()
	started := int64(w.started.Load())
	stopped := int64(w.stopped.Load())
	panics := w.panics.Load()
	errs := w.errors.Load()
	tasks := w.tasks.Load()
	bytesIn := w.bytesIn.Load()
	bytesOut := w.bytesOut.Load()
	busyDone := satInt64(w.busy.Load())
	taskStart := int64(w.taskStart.Load())
	waitDone := satInt64(w.waiting.Load())
	waitStart := int64(w.waitStart.Load())

	s := Snapshot{
		State:    stateFromWord(state, taskStart != 0),
		Func:     r.funcName(),
		Tasks:    tasks,
		Errors:   min(errs, tasks),
		BytesIn:  bytesIn,
		BytesOut: bytesOut,
	}
	s.Panics = min(panics, s.Errors)
	if pid <= math.MaxInt32 {
		s.PID = int(pid)
	}

	lo, hi := minTime.UnixNano(), unixNanoSat(now)
	if started < lo || hi < lo {
		// No start time (or no sane now): no durations either.
		return s
	}
	started = min(started, hi)
	end := hi
	if stopped != 0 {
		end = clamp(stopped, started, hi)
		s.Stopped = time.Unix(0, end)
	}
	s.Started = time.Unix(0, started)
	s.Uptime = time.Duration(end - started)

	var taskElapsed, waitElapsed int64
	if taskStart != 0 {
		taskStart = clamp(taskStart, started, end)
		taskElapsed = end - taskStart
		s.TaskStarted = time.Unix(0, taskStart)
	}
	if waitStart != 0 {
		waitElapsed = end - clamp(waitStart, started, end)
	}
	busy := min(satAdd(busyDone, taskElapsed), int64(s.Uptime))
	s.Busy = time.Duration(busy)
	s.TaskElapsed = time.Duration(min(taskElapsed, busy))
	s.Waiting = time.Duration(min(satAdd(waitDone, waitElapsed), int64(s.Uptime)-busy))
	return s
}

// Func returns the name of the worker's current function, as Snapshot's
// Func, without reading the rest of the block or the clock.
func (r *Reader) Func() string { return r.funcName() }

// funcName reads the function name under its seqlock. If the worker is
// rewriting it on every try, it returns the last name decoded (or "").
func (r *Reader) funcName() string {
	w := &r.w
	cached := r.name.Load()
	for range funcNameTries {
		seq := w.funcSeq.Load()
		if seq%2 != 0 {
			continue
		}
		var nw nameWords
		for i, word := range w.funcName {
			nw[i] = word.Load()
		}
		if w.funcSeq.Load() != seq {
			continue
		}
		if cached != nil && cached.words == nw {
			return cached.name
		}
		c := &cachedName{words: nw, name: decodeName(nw)}
		r.name.Store(c)
		return c.name
	}
	if cached != nil {
		return cached.name
	}
	return ""
}

// unixNanoSat is t.UnixNano, saturated to the int64 range instead of
// undefined outside it.
func unixNanoSat(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

func clamp(v, lo, hi int64) int64 { return max(lo, min(v, hi)) }
