package pool

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
)

// group is the sink of one Map, Stream or Unordered call. Its tasks come
// back through finish from the pool's goroutines; the caller's goroutine
// feeds new tasks and collects ended ones. There are no goroutines of its
// own: a caller that stops simply drops it (abandon).
type group struct {
	p     *Pool
	mu    sync.Mutex // guards done
	done  []*task
	wake  chan struct{} // 1-buffered: done is not empty
	stop  atomic.Bool   // the caller has gone: skip every task not yet sent
	limit atomic.Int64  // skip tasks with a higher index (Map after a failure)

	// Used by the caller's goroutine only.
	free  []*task // ended tasks for reuse
	spare []*task // the other half of done's double buffer
	batch []*task // tasks to push together

	refused     bool // the pool refused a push (closed): read no more input
	outstanding int  // fed and not yet retired by the caller
	outBytes    int  // their input bytes
	window      int  // bound of outstanding
	minWindow   int  // at least this many whatever their size
	windowBytes int  // bound of outBytes once minWindow is reached
}

func newGroup(p *Pool) *group {
	p.groupMu.Lock()
	if n := len(p.groups); n > 0 {
		g := p.groups[n-1]
		p.groups = p.groups[:n-1]
		p.groupMu.Unlock()
		return g
	}
	p.groupMu.Unlock()
	g := &group{p: p, wake: make(chan struct{}, 1)}
	g.limit.Store(math.MaxInt64)
	n := p.cfg.Workers * p.cfg.MaxInFlight
	g.minWindow = n
	g.window = max(n, min(n*maxBatchItems, maxWindow))
	g.windowBytes = n * maxBatchBytes
	return g
}

func (g *group) finish(ts []*task) {
	g.mu.Lock()
	g.done = append(g.done, ts...)
	g.mu.Unlock()
	signal(g.wake)
}

func (g *group) skip(t *task) bool {
	return g.stop.Load() || int64(t.idx) > g.limit.Load()
}

// full reports whether the window is full: no more tasks may be fed.
func (g *group) full() bool {
	return g.outstanding >= g.window || (g.outstanding >= g.minWindow && g.outBytes >= g.windowBytes)
}

// task returns a task for item idx.
func (g *group) task(idx int, in []byte) *task {
	if len(g.free) == 0 {
		g.free = g.p.tasks.get(g.free, taskSlab)
	}
	t := g.free[len(g.free)-1]
	g.free = g.free[:len(g.free)-1]
	// Field by field, skipping pointer writes that change nothing: each
	// costs a write barrier while the GC runs.
	t.in, t.idx, t.tries, t.freeRuns, t.single = in, idx, 0, 0, false
	if t.out != nil {
		t.out = nil
	}
	if t.err != nil {
		t.err = nil
	}
	if t.snk != sink(g) {
		t.snk = g
	}
	g.outstanding++
	g.outBytes += len(in)
	return t
}

// retire accounts for an ended task the caller is done with and keeps it
// for reuse.
func (g *group) retire(t *task) {
	g.outstanding--
	g.outBytes -= len(t.in)
	g.free = append(g.free, t) // cleared when reused: the window bounds what it holds
}

// feed queues t (with the tasks queued by earlier calls when flush is
// false, pushing them together). A task the pool refuses ends at once
// with the error.
func (g *group) feed(t *task, flush bool) {
	if t != nil {
		g.batch = append(g.batch, t)
	}
	if len(g.batch) == 0 || (!flush && len(g.batch) < pushChunk) {
		return
	}
	if err := g.p.push(g.batch); err != nil {
		for _, t := range g.batch {
			t.err = err
		}
		g.finish(g.batch)
		g.refused = true
	}
	clear(g.batch)
	g.batch = g.batch[:0]
}

// maxWindow bounds the window in items, whatever the pool's size.
const maxWindow = 1 << 16

// pushChunk is how many tasks Map pushes at once.
const pushChunk = 64

// collect returns the tasks ended since the last call, waiting for one if
// need be (block) until ctx ends. The slice is valid until the next call.
func (g *group) collect(ctx context.Context, block bool) ([]*task, error) {
	for {
		g.mu.Lock()
		if len(g.done) > 0 {
			ts := g.done
			g.done = g.spare[:0]
			g.spare = ts
			g.mu.Unlock()
			return ts, nil
		}
		g.mu.Unlock()
		if !block {
			return nil, nil
		}
		select {
		case <-g.wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// abandon drops what is left: queued tasks are removed, and tasks in
// flight end unseen.
//
// A group whose tasks have all come back is reset and kept for the next
// call, with its buffers; one with tasks still in flight is left to the
// garbage collector, since they will still come back to it.
func (g *group) abandon() {
	p := g.p
	if g.outstanding > 0 {
		g.stop.Store(true)
		p.ended(int64(p.q.purge(func(t *task) bool { return t.snk == g })))
	}
	p.tasks.put(g.free)
	clear(g.free)
	g.free = g.free[:0]
	if g.outstanding != 0 {
		return
	}
	g.refused = false
	clear(g.done)
	clear(g.spare)
	clear(g.batch)
	g.done, g.spare, g.batch = g.done[:0], g.spare[:0], g.batch[:0]
	g.outBytes = 0
	g.limit.Store(math.MaxInt64)
	select {
	case <-g.wake:
	default:
	}
	p.groupMu.Lock()
	if len(p.groups) < maxCachedGroups {
		p.groups = append(p.groups, g)
	}
	p.groupMu.Unlock()
}

// maxCachedGroups bounds the groups a pool keeps for reuse.
const maxCachedGroups = 8

// cut skips the queued tasks with an index above limit, which have not run.
func (g *group) cut(limit int) {
	g.limit.Store(int64(limit))
	n := g.p.q.purge(func(t *task) bool { return t.snk == g && t.idx > limit })
	g.p.ended(int64(n))
	g.outstanding -= n
	g.outBytes = 0 // no more feeding: they no longer matter
}
