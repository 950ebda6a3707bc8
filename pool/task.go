package pool

import "sync"

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

// taskCache keeps the tasks of finished calls for the next ones, and
// allocates new ones in slabs: a Map of many items would otherwise allocate
// (and the GC trace) one task per item. It is safe for concurrent use.
type taskCache struct {
	mu   sync.Mutex
	free []*task
}

const (
	taskSlab      = 256     // tasks allocated at once
	maxCachedTask = 1 << 16 // tasks kept at most
)

// get appends up to n cleared tasks to ts (at least one).
func (c *taskCache) get(ts []*task, n int) []*task {
	c.mu.Lock()
	if k := min(n, len(c.free)); k > 0 {
		ts = append(ts, c.free[len(c.free)-k:]...)
		clear(c.free[len(c.free)-k:])
		c.free = c.free[:len(c.free)-k]
		c.mu.Unlock()
		return ts
	}
	c.mu.Unlock()
	slab := make([]task, taskSlab)
	for i := range slab {
		ts = append(ts, &slab[i])
	}
	return ts
}

// put takes back tasks nobody refers to any more.
func (c *taskCache) put(ts []*task) {
	if len(ts) == 0 {
		return
	}
	for _, t := range ts {
		// Drop what it refers to, skipping pointer writes that change
		// nothing: each costs a write barrier while the GC runs.
		t.in = nil
		if t.out != nil {
			t.out = nil
		}
		if t.err != nil {
			t.err = nil
		}
		if t.snk != nil {
			t.snk = nil
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ts = ts[:min(len(ts), maxCachedTask-len(c.free))]
	c.free = append(c.free, ts...)
}

// messages recycles messages and their task slices.
var messages = sync.Pool{New: func() any { return new(message) }}

func getMessage() *message { return messages.Get().(*message) }

// putMessage recycles m once nothing refers to it.
func putMessage(m *message) {
	clear(m.tasks)
	m.tasks = m.tasks[:0]
	m.framed, m.seq = false, 0
	messages.Put(m)
}
