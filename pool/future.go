package pool

import (
	"context"
	"sync/atomic"
)

// Future is the pending result of Submit. It is safe for concurrent use.
type Future struct {
	t         task
	p         *Pool
	ctx       context.Context
	done      chan struct{}
	cancelled atomic.Bool
	stop      func() bool // unregisters the context callback
}

// Submit queues in for the pool's function and returns at once. The task
// runs unless ctx ends before a worker takes it; once sent, it runs to the
// end whatever ctx does. Submit never blocks: the queue is unbounded (Map,
// Stream and Unordered bound what they queue). in must not be modified
// until the Future is done.
func (p *Pool) Submit(ctx context.Context, in []byte) *Future {
	f := &Future{p: p, ctx: ctx, done: make(chan struct{})}
	f.t = task{in: in, snk: f}
	if err := ctx.Err(); err != nil {
		f.t.err = err
		close(f.done)
		return f
	}
	if ctx.Done() != nil {
		f.stop = context.AfterFunc(ctx, f.cancel)
	}
	if err := p.push([]*task{&f.t}); err != nil {
		f.t.err = err
		f.finish(nil)
	}
	return f
}

// Do runs the pool's function on in and returns its result. When ctx ends
// first it returns ctx.Err() at once; the task is dropped if it has not
// been sent yet, and its late result is dropped otherwise.
func (p *Pool) Do(ctx context.Context, in []byte) ([]byte, error) {
	return p.Submit(ctx, in).Wait(ctx)
}

// Wait waits for the result. When ctx ends first it returns ctx.Err(),
// without affecting the task; Wait can be called again.
func (f *Future) Wait(ctx context.Context) ([]byte, error) {
	select {
	case <-f.done:
		return f.t.out, f.t.err
	default:
	}
	select {
	case <-f.done:
		return f.t.out, f.t.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Done returns a channel closed once the result is ready.
func (f *Future) Done() <-chan struct{} { return f.done }

// cancel runs when Submit's context ends: a task still queued is taken out
// and ends with the context's error; one already taken by a dispatcher is
// skipped unless sent.
func (f *Future) cancel() {
	f.cancelled.Store(true)
	if f.p.q.remove(&f.t) {
		f.t.err = f.ctx.Err()
		f.finish(nil)
		f.p.ended(1)
	}
}

func (f *Future) finish([]*task) {
	if f.t.err == errSkipped {
		f.t.err = f.ctx.Err()
	}
	if f.stop != nil {
		f.stop()
	}
	close(f.done)
}

func (f *Future) skip(*task) bool { return f.cancelled.Load() }
