package pool

import (
	"context"
	"iter"
)

// Result is one item's outcome in Stream and Unordered.
type Result struct {
	Index int    // the item's position in the input
	Out   []byte // the function's result; nil when Err is set
	Err   error  // the item's error
}

// Map runs the pool's function on every item and returns the results in
// input order. On failure it returns a *ItemError for the failing item with
// the lowest index (every item before it succeeded): it stops dispatching
// the items after it and returns once the work in flight has drained. An
// empty input returns an empty result at once. When ctx ends, Map stops
// dispatching and returns ctx.Err() at once; work in flight finishes unseen.
//
// Map queues a bounded window of items at a time, so other callers' work
// is not stuck behind a long Map.
func (p *Pool) Map(ctx context.Context, ins [][]byte) ([][]byte, error) {
	if len(ins) == 0 {
		return [][]byte{}, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	g := newGroup(p)
	defer g.abandon()
	outs := make([][]byte, len(ins))
	fed := 0
	failed := -1
	var failErr error
	for {
		for fed < len(ins) && failed < 0 && !g.full() {
			g.feed(g.task(fed, ins[fed]), false)
			fed++
		}
		g.feed(nil, true)
		if g.outstanding == 0 {
			break
		}
		ts, err := g.collect(ctx, true)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			switch {
			case t.err == errSkipped:
			case t.err != nil:
				if failed < 0 || t.idx < failed {
					failed, failErr = t.idx, t.err
					g.cut(failed)
				}
			case failed < 0 || t.idx < failed:
				outs[t.idx] = t.out
			}
			g.retire(t)
		}
	}
	if failed >= 0 {
		return nil, &ItemError{Index: failed, Err: failErr}
	}
	return outs, nil
}

// Stream runs the pool's function on the items of ins, read lazily, and
// yields the results in input order. Memory stays bounded whatever the
// input's length: at most a window of items is read ahead of the oldest
// result not yet yielded, so a slow item holds back further reading rather
// than growing the reorder buffer. The window is Workers * MaxInFlight
// items, or as many more as fit in Workers * MaxInFlight * 128 KiB of input
// (up to 1024 times more, and 65536 items at most) so that small items can
// be batched. An item's failure is its Result's Err;
// the stream goes on. Breaking out of the loop drops the work not yet sent
// and leaks nothing. When ctx ends, Stream yields a last Result with
// ctx.Err() and the index of the first item not yielded, and stops; once
// the pool is closed, the first item it refuses has ErrClosed and is the
// last.
func (p *Pool) Stream(ctx context.Context, ins iter.Seq[[]byte]) iter.Seq[Result] {
	return func(yield func(Result) bool) {
		g := newGroup(p)
		defer g.abandon()
		// The reorder buffer, by index modulo its length, a power of two
		// that grows up to the window as needed: every index in it is in
		// [next, fed), and fed - next <= window.
		ready := make([]*task, 64)
		next, fed := 0, 0
		grow := func() {
			r := make([]*task, 2*len(ready))
			for _, t := range ready {
				if t != nil {
					r[t.idx%len(r)] = t
				}
			}
			ready = r
		}
		// drain yields what is in order; false when the caller stopped.
		drain := func(ts []*task) bool {
			for _, t := range ts {
				ready[t.idx%len(ready)] = t
			}
			for {
				t := ready[next%len(ready)]
				if t == nil || t.idx != next {
					return true
				}
				ready[next%len(ready)] = nil
				r := Result{Index: t.idx, Out: t.out, Err: t.err}
				g.retire(t)
				next++
				if !yield(r) {
					return false
				}
			}
		}
		wait := func(block bool) (bool, error) {
			ts, err := g.collect(ctx, block)
			if err != nil {
				return false, err
			}
			return drain(ts), nil
		}
		stopped, ctxErr := pump(ctx, g, ins, &fed, func() {
			if fed-next >= len(ready) {
				grow()
			}
		}, func() bool { return next < fed }, wait)
		if !stopped && ctxErr != nil {
			yield(Result{Index: next, Err: ctxErr})
		}
	}
}

// Unordered is Stream with the results yielded as they finish, not in
// input order; at most a window of items is in flight. When ctx ends, it
// yields a last Result with ctx.Err() and Index -1, and stops; once the
// pool is closed, it stops after the first item the pool refuses.
func (p *Pool) Unordered(ctx context.Context, ins iter.Seq[[]byte]) iter.Seq[Result] {
	return func(yield func(Result) bool) {
		g := newGroup(p)
		defer g.abandon()
		fed, got := 0, 0
		wait := func(block bool) (bool, error) {
			ts, err := g.collect(ctx, block)
			if err != nil {
				return false, err
			}
			for i, t := range ts {
				r := Result{Index: t.idx, Out: t.out, Err: t.err}
				g.retire(t)
				got++
				if !yield(r) {
					clear(ts[i+1:]) // dropped: their group is abandoned
					return false, nil
				}
			}
			return true, nil
		}
		stopped, ctxErr := pump(ctx, g, ins, &fed, func() {}, func() bool { return got < fed }, wait)
		if !stopped && ctxErr != nil {
			yield(Result{Index: -1, Err: ctxErr})
		}
	}
}

// pump feeds ins into g, counting in *fed, and hands results to wait
// (block says whether it must wait for one; it reports false when the
// caller stopped). A full window blocks further feeding: g.full() bounds
// the items in flight. Once ins is done it waits until pending reports
// false. It returns whether the caller stopped, and the context's (or the
// group's) error. prepare runs before each item is fed.
func pump(ctx context.Context, g *group, ins iter.Seq[[]byte], fed *int, prepare func(), pending func() bool, wait func(block bool) (bool, error)) (stopped bool, ctxErr error) {
	for in := range ins {
		if ctxErr = ctx.Err(); ctxErr != nil {
			break
		}
		prepare()
		g.feed(g.task(*fed, in), true)
		*fed++
		for {
			block := g.full()
			ok, err := wait(block)
			if err != nil {
				ctxErr = err
				break
			}
			if !ok {
				stopped = true
				break
			}
			if !block {
				break
			}
		}
		if stopped || ctxErr != nil || g.refused {
			break
		}
	}
	for !stopped && ctxErr == nil && pending() {
		ok, err := wait(true)
		if err != nil {
			ctxErr = err
		} else if !ok {
			stopped = true
		}
	}
	return stopped, ctxErr
}
