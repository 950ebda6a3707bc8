package pool

import "sync"

// queue holds the tasks accepted but not yet taken by a dispatcher, in
// FIFO order (retries go to the front), and the dispatchers waiting for
// work. It is safe for concurrent use.
type queue struct {
	mu   sync.Mutex // guards everything below; never held while waiting or calling out
	buf  []*task    // ring buffer; len is a power of two
	head int
	n    int
	idle []*slot // dispatchers with room that found the queue empty
	// closedErr, once set, fails push (Close: ErrClosed); deadErr fails
	// push and pushFront and was used to fail every queued task
	// (Terminate, or no live workers).
	closedErr error
	deadErr   error
}

func (q *queue) grow() {
	nb := make([]*task, max(64, 2*len(q.buf)))
	for i := range q.n {
		nb[i] = q.buf[(q.head+i)&(len(q.buf)-1)]
	}
	q.buf, q.head = nb, 0
}

func (q *queue) at(i int) *task { return q.buf[(q.head+i)&(len(q.buf)-1)] }

func (q *queue) popFront() *task {
	t := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = (q.head + 1) & (len(q.buf) - 1)
	q.n--
	return t
}

// push appends ts and returns the dispatchers to kick, or the error that
// stops the pool accepting work.
func (q *queue) push(ts []*task, pick func(idle []*slot, n int) []*slot) ([]*slot, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.deadErr != nil {
		return nil, q.deadErr
	}
	if q.closedErr != nil {
		return nil, q.closedErr
	}
	for _, t := range ts {
		if q.n == len(q.buf) {
			q.grow()
		}
		q.buf[(q.head+q.n)&(len(q.buf)-1)] = t
		q.n++
	}
	return q.wake(len(ts), pick), nil
}

// pushFront puts ts back at the front, in their order: tasks to run again.
func (q *queue) pushFront(ts []*task, pick func(idle []*slot, n int) []*slot) ([]*slot, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.deadErr != nil {
		return nil, q.deadErr
	}
	for i := len(ts) - 1; i >= 0; i-- {
		if q.n == len(q.buf) {
			q.grow()
		}
		q.head = (q.head - 1) & (len(q.buf) - 1)
		q.buf[q.head] = ts[i]
		q.n++
	}
	return q.wake(len(ts), pick), nil
}

// wake removes from the idle list the dispatchers pick chooses for n new
// tasks and returns them. The caller holds mu.
func (q *queue) wake(n int, pick func(idle []*slot, n int) []*slot) []*slot {
	if len(q.idle) == 0 || n == 0 {
		return nil
	}
	chosen := pick(q.idle, n)
	if len(chosen) == 0 {
		return nil
	}
	kept := q.idle[:0]
	for _, s := range q.idle {
		if !contains(chosen, s) {
			kept = append(kept, s)
		}
	}
	clear(q.idle[len(kept):])
	q.idle = kept
	return chosen
}

func contains(ss []*slot, s *slot) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// setIdle records s as waiting for work (or not) under mu.
func (q *queue) setIdleLocked(s *slot, idle bool) {
	for i, x := range q.idle {
		if x == s {
			if !idle {
				q.idle = append(q.idle[:i], q.idle[i+1:]...)
			}
			return
		}
	}
	if idle {
		q.idle = append(q.idle, s)
	}
}

// purge removes the queued tasks drop chooses and returns how many.
func (q *queue) purge(drop func(*task) bool) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	kept := 0
	for i := range q.n {
		t := q.at(i)
		if drop(t) {
			continue
		}
		q.buf[(q.head+kept)&(len(q.buf)-1)] = t
		kept++
	}
	for i := kept; i < q.n; i++ {
		q.buf[(q.head+i)&(len(q.buf)-1)] = nil
	}
	removed := q.n - kept
	q.n = kept
	return removed
}

// remove removes one queued task and reports whether it was queued.
func (q *queue) remove(t *task) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i := range q.n {
		if q.at(i) != t {
			continue
		}
		for j := i; j < q.n-1; j++ {
			q.buf[(q.head+j)&(len(q.buf)-1)] = q.at(j + 1)
		}
		q.buf[(q.head+q.n-1)&(len(q.buf)-1)] = nil
		q.n--
		return true
	}
	return false
}

// kill sets deadErr (the first one sticks) and takes every queued task
// out, to be failed by the caller.
func (q *queue) kill(err error) []*task {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.deadErr == nil {
		q.deadErr = err
	}
	ts := make([]*task, 0, q.n)
	for q.n > 0 {
		ts = append(ts, q.popFront())
	}
	return ts
}

// close makes push fail with err; pushFront still works, so retries of
// tasks in flight can finish.
func (q *queue) close(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closedErr == nil {
		q.closedErr = err
	}
}

// len returns the number of queued tasks.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}
