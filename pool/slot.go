package pool

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shmpool/shmpool/status"
	"github.com/shmpool/shmpool/worker"
)

// slot is one worker position of a pool. Its goroutine (run) starts and
// restarts the worker and is the dispatcher: the only sender to the
// worker's request ring. It takes tasks from the queue while the worker has
// room (fewer than MaxInFlight messages in flight) and does not seem stuck.
// A receiver goroutine per worker process (gen.receive) takes the results.
type slot struct {
	p    *Pool
	idx  int
	kick chan struct{} // 1-buffered: look at the queue, the function, the pool again

	ready     atomic.Bool  // the dispatcher runs a worker that takes work
	waking    atomic.Bool  // kicked by a push to take work, not yet looked
	lastWork  atomic.Int64 // p.now() when it last sent or received a message
	inflight  atomic.Int32 // messages sent (or being sent) and not yet received
	headSince atomic.Int64 // p.now() when the oldest message in flight became the oldest

	// Function changes (SetFunc): the generation the worker runs, and the
	// last one it failed to switch to, with the error.
	appliedGen atomic.Uint64
	failedGen  atomic.Uint64

	mu       sync.Mutex // guards the fields below
	cur      *gen       // the current worker, nil before the first and between restarts
	last     status.Snapshot
	hasLast  bool
	retired  bool  // no worker any more: gave up, or died under NoRespawn
	gone     bool  // the goroutine has returned
	restarts int   // workers started to replace a dead one
	failErr  error // why the last function change failed

	buf   []byte      // the request frame; dispatcher only
	timer *time.Timer // spare recheck; dispatcher only
}

func newSlot(p *Pool, idx int) *slot {
	return &slot{p: p, idx: idx, kick: make(chan struct{}, 1)}
}

func (s *slot) signal() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Why a worker's dispatch ended.
type exitReason int

const (
	exitDied      exitReason = iota // the worker died or was killed: replace it
	exitClose                       // the pool is closing and has no work left
	exitTerminate                   // the pool is terminating
)

// maxStartFailures is how many consecutive failed starts make a slot give up.
const maxStartFailures = 5

// Backoff between restarts of a worker that keeps dying young.
const (
	minBackoff = 10 * time.Millisecond
	maxBackoff = time.Second
	youngAge   = time.Second
)

// run is the slot's goroutine. g is the worker New started.
func (s *slot) run(g *gen) {
	p := s.p
	defer p.wg.Done()
	defer func() {
		s.mu.Lock()
		s.gone = true
		s.mu.Unlock()
		p.reportFn()
	}()
	young := 0 // consecutive deaths of young workers
	for {
		if g == nil {
			h, fn, err := s.restart(young)
			if h == nil {
				if err != nil {
					s.retire(err)
				}
				return
			}
			g = s.newGen(h, fn)
		}
		why := s.dispatch(g)
		s.endGen(g, why)
		switch why {
		case exitClose, exitTerminate:
			return
		}
		if p.cfg.NoRespawn {
			s.retire(fmt.Errorf("worker %d died and NoRespawn is set: %w", s.idx, g.deathErr()))
			return
		}
		if time.Since(g.started) < youngAge {
			young++
		} else {
			young = 0
		}
		g = nil
	}
}

// restart starts a replacement worker, after a backoff if its predecessors
// died young. It returns a nil handle when the pool is ending (err nil) or
// the slot gives up (err says why).
func (s *slot) restart(young int) (*worker.Handle, *funcState, error) {
	p := s.p
	var fails int
	var lastErr error
	for {
		delay := time.Duration(0)
		if n := max(young, fails); n > 0 {
			delay = min(maxBackoff, minBackoff<<min(n-1, 10))
		}
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-p.termCh:
				t.Stop()
				return nil, nil, nil
			}
		}
		if p.terminated.Load() || (p.closing.Load() && p.pending.Load() == 0) {
			return nil, nil, nil
		}
		fn := p.fn.Load()
		h, err := worker.Start(p.ctx, p.workerConfig(fn))
		if err == nil {
			p.restarts.Add(1)
			s.mu.Lock()
			s.restarts++
			s.mu.Unlock()
			return h, fn, nil
		}
		if p.terminated.Load() {
			return nil, nil, nil
		}
		s.fnFailed(fn.gen, err)
		lastErr = err
		fails++
		if fails >= maxStartFailures {
			return nil, nil, fmt.Errorf("worker slot %d gave up after %d consecutive failed starts: %w", s.idx, fails, lastErr)
		}
	}
}

// retire marks the slot as having no worker any more.
func (s *slot) retire(cause error) {
	s.mu.Lock()
	s.retired = true
	s.mu.Unlock()
	s.p.retire(cause)
}

// dispatch feeds the worker of g until it dies or the pool ends.
func (s *slot) dispatch(g *gen) exitReason {
	p := s.p
	defer s.ready.Store(false)
	for {
		if p.terminated.Load() {
			return exitTerminate
		}
		select {
		case <-g.dead:
			return exitDied
		default:
		}
		if fn := p.fn.Load(); fn.gen != g.fn.Load().gen {
			switch {
			case s.failedGen.Load() == fn.gen:
				// The worker could not build it and runs the previous
				// function still: send nothing until SetFunc rolls back.
				select {
				case <-s.kick:
				case <-g.dead:
				case <-g.h.Done():
					g.markDead(nil)
				case <-p.termCh:
				}
			case fn.wname == g.fn.Load().wname && bytes.Equal(fn.wstatic, g.fn.Load().wstatic):
				// A roll-back to what the worker runs: nothing to send.
				g.fn.Store(fn)
				s.appliedGen.Store(fn.gen)
				p.reportFn()
			case !s.apply(g, fn):
				return exitDied
			}
			continue
		}
		if p.closing.Load() && p.pending.Load() == 0 {
			return exitClose
		}
		ok, spare, self := s.eligible()
		if ok {
			m, skipped := s.take(g, self)
			p.fail(skipped, errSkipped)
			if m != nil {
				s.send(g, m)
				s.waking.Store(false)
				continue
			}
		}
		s.waking.Store(false)
		var recheck <-chan time.Time
		if spare || (s.inflight.Load() == 0 && p.load().concentrate) {
			// Idle while others run the tiny items: a push may still pick
			// it, and it looks again in case they got stuck on a slow one
			// (which no event would tell it).
			p.q.mu.Lock()
			p.q.setIdleLocked(s, true)
			p.q.mu.Unlock()
			if s.timer == nil {
				s.timer = time.NewTimer(time.Hour)
			}
			s.timer.Reset(max(time.Duration(p.stallAfter()), spareRecheck))
			recheck = s.timer.C
		}
		select {
		case <-s.kick:
		case <-recheck:
		case <-g.dead:
		case <-g.h.Done():
			g.markDead(nil)
		case <-p.termCh:
		}
		if s.timer != nil {
			s.timer.Stop()
		}
	}
}

// spareRecheck is how often at least a spare worker looks for work it
// should take over (see eligible).
const spareRecheck = 10 * time.Millisecond

// take takes the next message's worth of tasks from the queue, and the
// tasks it found their callers no longer want. With an empty queue it
// records the slot as idle, so that the next push kicks it.
func (s *slot) take(g *gen, self bool) (*message, []*task) {
	p := s.p
	q := &p.q
	var skipped []*task
	q.mu.Lock()
	if self && p.anyWaking(s) {
		// A push has just picked another worker for this work (pick runs
		// under the queue's lock too): leave it to that one.
		q.setIdleLocked(s, true)
		q.mu.Unlock()
		return nil, nil
	}
	var first *task
	for q.n > 0 {
		t := q.popFront()
		if t.snk.skip(t) {
			skipped = append(skipped, t)
			continue
		}
		first = t
		break
	}
	if first == nil {
		q.setIdleLocked(s, true)
		q.mu.Unlock()
		return nil, skipped
	}
	q.setIdleLocked(s, false)
	batch := g.fn.Load().batch
	m := getMessage()
	m.tasks = append(m.tasks, first)
	if batch && !first.single && len(first.in) <= smallItem && q.n > 0 {
		limit := p.batchLimit(q.n + 1)
		m.tasks = slices.Grow(m.tasks, min(limit, q.n+1))
		size := reqHeader + itemHeader + len(first.in)
		for len(m.tasks) < limit && q.n > 0 {
			t := q.at(0)
			if t.snk.skip(t) {
				skipped = append(skipped, q.popFront())
				continue
			}
			if t.single || len(t.in) > smallItem || size+itemHeader+len(t.in) > p.maxFrame {
				break
			}
			m.tasks = append(m.tasks, q.popFront())
			size += itemHeader + len(t.in)
		}
	}
	q.mu.Unlock()
	m.framed = len(m.tasks) > 1 || (batch && isBatch(first.in))
	return m, skipped
}

// send puts m into the worker's request ring.
func (s *slot) send(g *gen, m *message) {
	p := s.p
	payload := m.tasks[0].in
	if m.framed {
		s.buf = appendRequest(s.buf[:0], m.tasks)
		payload = s.buf
	}
	now := p.now()
	s.lastWork.Store(now)
	if s.inflight.Add(1) == 1 {
		s.headSince.Store(now)
	}
	// Only this goroutine sends, so the fifo is in ring order. The
	// receiver takes a message's result only once it is in the fifo.
	err := g.h.Send(p.ctx, payload)
	if err == nil {
		g.mu.Lock()
		m.seq = g.sent
		g.sent++
		wasEmpty := len(g.fifo) == 0
		g.fifo = append(g.fifo, m)
		g.mu.Unlock()
		signal(g.recvKick)
		if wasEmpty {
			signal(g.watchKick)
		}
		return
	}
	s.inflight.Add(-1)
	if errors.Is(err, worker.ErrTooLarge) {
		if !m.framed {
			p.fail(m.tasks, err)
			return
		}
		for _, t := range m.tasks { // cannot happen (see maxFrame); be safe
			t.single = true
		}
		p.requeue(m.tasks)
		return
	}
	// Nothing reached the worker: it is gone, or the pool is terminating.
	g.markDead(err)
	if p.terminated.Load() {
		p.fail(m.tasks, ErrClosed)
		return
	}
	p.requeue(m.tasks)
}

// apply switches the worker of g to the function fn, and reports whether
// the worker lives on. A worker that cannot build the function keeps the
// one it has (see dispatch).
func (s *slot) apply(g *gen, fn *funcState) bool {
	p := s.p
	err := g.h.SetFunc(p.ctx, fn.wname, fn.wstatic)
	if err == nil {
		g.fn.Store(fn)
		s.appliedGen.Store(fn.gen)
		p.reportFn()
		return true
	}
	if p.terminated.Load() || isDeath(err) {
		g.markDead(err)
		return false
	}
	s.fnFailed(fn.gen, err)
	return true
}

// fnFailed records that the slot could not run function generation gen.
func (s *slot) fnFailed(gen uint64, err error) {
	s.mu.Lock()
	s.failErr = err
	s.mu.Unlock()
	s.failedGen.Store(gen)
	s.p.reportFn()
}

// snapshot returns the status of the slot's worker, and false for a retired
// slot.
func (s *slot) snapshot() (status.Snapshot, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.retired {
		return status.Snapshot{}, false
	}
	var snap status.Snapshot
	switch {
	case s.cur != nil:
		snap = s.cur.snapshot()
	case s.hasLast:
		snap = s.last
	default:
		return status.Snapshot{State: status.Starting, Restarts: s.restarts}, true
	}
	snap.Restarts = s.restarts
	return snap, true
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
