package pool

// task is one item of work. At any moment it is in exactly one place: the
// caller that made it, the queue, a message being sent or in flight on one
// worker, or ended (handed back to its sink). Whoever holds it is the only
// one to touch it, so its fields need no locking; the hand-overs (the queue
// lock, a worker.Handle call, the sink's lock) order the accesses.
type task struct {
	in  []byte
	out []byte
	err error

	idx      int  // the item's index in its Map, Stream or Unordered call
	tries    int  // runs lost to a worker that died, counted against Retries
	freeRuns int  // runs lost for no fault of the task (see gen.victims)
	single   bool // never batch it again (its batch timed out or overflowed)
	snk      sink
}

// sink is where tasks end: a Future, or the group of a Map, Stream or
// Unordered call.
type sink interface {
	// finish takes back ended tasks (out or err set). It is called once per
	// task, from any goroutine, never with a lock of the pool held.
	finish(ts []*task)
	// skip reports whether a task not yet sent should be dropped: its caller
	// has stopped waiting for it.
	skip(t *task) bool
}

// message is what one ring message carries: a raw item, or a batch frame of
// several.
type message struct {
	tasks  []*task
	framed bool   // sent as a batch frame
	seq    uint64 // position among the task messages sent to this worker
}

// endTasks hands tasks to their sinks, grouping runs of the same sink.
func endTasks(ts []*task) {
	for len(ts) > 0 {
		s := ts[0].snk
		n := 1
		for n < len(ts) && ts[n].snk == s {
			n++
		}
		s.finish(ts[:n])
		ts = ts[n:]
	}
}
