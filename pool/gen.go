package pool

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shmpool/shmpool/status"
	"github.com/shmpool/shmpool/worker"
)

// gen is one worker process of a slot, from start to death, with its
// receiver goroutine and, with a TaskTimeout, its watchdog goroutine.
type gen struct {
	s       *slot
	h       *worker.Handle
	fn      atomic.Pointer[funcState] // what the worker runs; set by the dispatcher
	started time.Time

	dead     chan struct{} // closed once the worker is known dead or killed
	deadOnce sync.Once
	deadErr  error // why, when known; written before dead is closed

	mu       sync.Mutex // guards the fields below
	fifo     []*message // sent and not yet received, in ring order
	sent     uint64     // task messages sent
	stopped  bool       // the dispatcher sends no more: the receiver may end
	killed   string     // why we killed the worker for no fault of its tasks
	timedOut *message   // the message the watchdog killed the worker over
	// The message the worker was running when it died, read from its
	// status block once it is dead.
	culpritKnown, hasCulprit bool
	culprit                  uint64

	recvKick  chan struct{} // 1-buffered: the fifo grew, or stopped was set
	recvDone  chan struct{}
	watchKick chan struct{} // 1-buffered: the fifo became non-empty
	watchDone chan struct{}
	quit      chan struct{} // closed when the generation ends

	// adjustCap's last look at the status block (guarded by Pool.capMu).
	capWait, capAt int64

	// The receiver's last look at the status block (measure), and the
	// worker time of batches it has received.
	lastBusy, framedTime, lastFramedTime time.Duration
	lastTasks, lastFramed                uint64

	// Batches, for Status: messages and items completed, item failures.
	framedMsgs, framedItems, itemErrs, itemPanics atomic.Uint64
}

func (s *slot) newGen(h *worker.Handle, fn *funcState) *gen {
	g := &gen{
		s:         s,
		h:         h,
		started:   time.Now(),
		dead:      make(chan struct{}),
		recvKick:  make(chan struct{}, 1),
		recvDone:  make(chan struct{}),
		watchKick: make(chan struct{}, 1),
		watchDone: make(chan struct{}),
		quit:      make(chan struct{}),
	}
	g.fn.Store(fn)
	s.inflight.Store(0)
	s.waking.Store(false)
	s.ready.Store(true)
	s.appliedGen.Store(fn.gen)
	s.mu.Lock()
	s.cur = g
	s.mu.Unlock()
	s.p.reportFn()
	go g.receive()
	if s.p.cfg.TaskTimeout > 0 {
		go g.watch()
	} else {
		close(g.watchDone)
	}
	return g
}

// endGen stops the worker of g (gracefully when the pool is closing) and
// waits for the generation's goroutines.
func (s *slot) endGen(g *gen, why exitReason) {
	if why == exitClose {
		if err := g.h.Close(); err != nil {
			s.p.addStopErr(fmt.Errorf("pool: close worker %d: %w", s.idx, err))
		}
	} else {
		g.h.Terminate()
	}
	g.mu.Lock()
	g.stopped = true
	g.mu.Unlock()
	signal(g.recvKick)
	close(g.quit)
	<-g.recvDone
	<-g.watchDone
	snap := g.snapshot()
	s.mu.Lock()
	s.cur, s.last, s.hasLast = nil, snap, true
	s.mu.Unlock()
	s.appliedGen.Store(0)
}

// markDead records that the worker is dead (or being killed) and wakes the
// dispatcher.
func (g *gen) markDead(err error) {
	g.deadOnce.Do(func() {
		g.deadErr = err
		close(g.dead)
	})
	g.s.signal()
}

// deathErr returns why the worker died, once dead is closed.
func (g *gen) deathErr() error {
	if g.deadErr != nil {
		return g.deadErr
	}
	return fmt.Errorf("worker process %d exited: %w", g.h.PID(), worker.ErrExited)
}

// receive is the receiver goroutine: it takes the results of the messages
// in the fifo, in order, until the dispatcher has stopped and the fifo is
// empty. Every message it takes ends each of its tasks exactly once: with a
// result or an error, or back in the queue to run again.
func (g *gen) receive() {
	defer close(g.recvDone)
	s, p := g.s, g.s.p
	for {
		g.mu.Lock()
		for len(g.fifo) == 0 {
			if g.stopped {
				g.mu.Unlock()
				return
			}
			g.mu.Unlock()
			<-g.recvKick
			g.mu.Lock()
		}
		m := g.fifo[0]
		g.mu.Unlock()

		out, err := g.h.Recv(context.Background())

		now := p.now()
		g.mu.Lock()
		g.fifo[0] = nil
		g.fifo = g.fifo[1:]
		g.mu.Unlock()
		s.lastWork.Store(now)
		took := now - s.headSince.Load()
		if s.inflight.Add(-1) > 0 {
			s.headSince.Store(now)
		}
		if err == nil {
			ewma(&p.ewmaMsg, took)
			p.adjustCap(now)
		}
		s.signal()
		g.complete(m, out, err)
	}
}

// measure feeds the estimate of an item's run time from the worker's
// status block (busy time over tasks since the last look), for messages
// that carry no timing of their own: those of one item. Receiver only.
// Batches, which carry their own timing, are taken out of the counts.
func (g *gen) measure() {
	st := g.h.Status()
	busy := st.Busy - g.lastBusy - (g.framedTime - g.lastFramedTime)
	tasks := int64(st.Tasks-g.lastTasks) - int64(g.framedMsgs.Load()-g.lastFramed)
	g.lastBusy, g.lastTasks = st.Busy, st.Tasks
	g.lastFramedTime, g.lastFramed = g.framedTime, g.framedMsgs.Load()
	if tasks > 0 && tasks < 1<<20 && busy >= 0 {
		g.s.p.observeItems(int64(busy), int(tasks))
	}
}

// isDeath reports whether a call's error means the worker is gone.
func isDeath(err error) bool {
	return errors.Is(err, worker.ErrExited) || errors.Is(err, worker.ErrCorrupt) ||
		errors.Is(err, worker.ErrClosed) || errors.Is(err, worker.ErrNoSend)
}

// complete ends the tasks of m given the worker's answer.
func (g *gen) complete(m *message, out []byte, err error) {
	p := g.s.p
	switch {
	case err == nil && !m.framed:
		t := m.tasks[0]
		t.out, t.err = out, nil
		p.end(m.tasks)
		putMessage(m)
		g.measure()
	case err == nil:
		if g.completeBatch(m, out) {
			putMessage(m)
		}
	case isDeath(err):
		g.markDead(err)
		g.victims(m, err)
	case m.framed && errors.Is(err, worker.ErrTooLarge):
		// The batch's results together are too large: run each alone.
		for _, t := range m.tasks {
			t.single = true
		}
		p.requeue(m.tasks)
	default:
		p.fail(m.tasks, g.fixRemote(err))
	}
}

// fixRemote names the user's function, not the batch wrapper, in a
// *worker.RemoteError.
func (g *gen) fixRemote(err error) error {
	var re *worker.RemoteError
	if errors.As(err, &re) && re.Func == batchFunc {
		c := *re
		c.Func = g.fn.Load().name
		return &c
	}
	return err
}

// completeBatch ends the tasks of a batch from its response frame, and
// reports whether m may be recycled.
func (g *gen) completeBatch(m *message, out []byte) bool {
	p := g.s.p
	name := g.fn.Load().name
	var rerun []*task
	var errs, panics uint64
	elapsed, perr := parseResponse(out, len(m.tasks), func(i int, r itemResult) {
		t := m.tasks[i]
		if t.err != nil { // skip a write barrier when it is already nil
			t.err = nil
		}
		switch r.tag {
		case tagOK:
			t.out = r.data
		case tagError:
			t.err = &worker.RemoteError{Func: name, Message: string(r.data)}
			errs++
		case tagPanic:
			t.err = &worker.RemoteError{Func: name, Message: string(r.data), Panic: true, Stack: string(r.stack)}
			errs++
			panics++
		case tagTooLarge:
			t.err = fmt.Errorf("pool: result of %d bytes exceeds MaxPayload %d: %w", r.size, p.cfg.Worker.MaxPayload, worker.ErrTooLarge)
			errs++
		case tagSkipped:
			t.single = true
			rerun = append(rerun, t)
		}
		if r.tag != tagOK && t.out != nil {
			t.out = nil
		}
	})
	if perr != nil {
		err := fmt.Errorf("pool: worker process %d sent a bad batch response (%v): %w", g.h.PID(), perr, worker.ErrCorrupt)
		g.h.Terminate()
		g.markDead(err)
		g.victims(m, err)
		return false
	}
	g.framedTime += elapsed
	if ran := len(m.tasks) - len(rerun); ran > 0 {
		p.observeItems(int64(elapsed), ran)
	}
	g.framedMsgs.Add(1)
	g.framedItems.Add(uint64(len(m.tasks) - len(rerun)))
	g.itemErrs.Add(errs)
	g.itemPanics.Add(panics)
	if len(rerun) == 0 {
		p.end(m.tasks)
		return true
	}
	done := make([]*task, 0, len(m.tasks)-len(rerun))
	for _, t := range m.tasks {
		if !containsTask(rerun, t) {
			done = append(done, t)
		}
	}
	p.end(done)
	p.requeue(rerun)
	return true
}

// containsTask reports whether ts holds t.
func containsTask(ts []*task, t *task) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// victims ends or requeues the tasks of a message lost with its worker.
//
// Only the message the worker was running when it died (its status block
// says which) used up a try: the messages behind it in the ring never
// started, and run again for free. A batch that was running is split, its
// items run again alone for free, and whichever item kills a worker on its
// own then uses up its tries. Free runs are bounded (maxFreeRuns), in case
// the status block cannot be trusted.
func (g *gen) victims(m *message, err error) {
	p := g.s.p
	g.mu.Lock()
	if !g.culpritKnown {
		g.culpritKnown = true
		if st := g.h.Status(); !st.TaskStarted.IsZero() { // State says Exited by now
			g.culprit, g.hasCulprit = st.Tasks, true
		}
	}
	killed, timedOut := g.killed, g.timedOut == m
	running := g.hasCulprit && g.culprit == m.seq
	g.mu.Unlock()
	free := killed != "" || !running || len(m.tasks) > 1
	var again, failed []*task
	for _, t := range m.tasks {
		t.out = nil
		switch {
		case p.terminated.Load():
			t.err = ErrClosed
			failed = append(failed, t)
		case timedOut && len(m.tasks) == 1:
			t.err = g.timeoutErr()
			failed = append(failed, t)
		case t.snk.skip(t):
			t.err = errSkipped
			failed = append(failed, t)
		case free && t.freeRuns < maxFreeRuns:
			t.freeRuns++
			t.single = t.single || (running && len(m.tasks) > 1)
			again = append(again, t)
		case t.tries < p.cfg.Retries:
			t.tries++
			again = append(again, t)
		default:
			t.err = err
			failed = append(failed, t)
		}
	}
	p.end(failed)
	p.requeue(again)
}

// maxFreeRuns bounds how often a task runs again without using up a try.
const maxFreeRuns = 16

// snapshot returns the worker's status, with the user's function name and
// item counts for batches.
func (g *gen) snapshot() status.Snapshot {
	// The pool's counters first: they never exceed what the worker counted.
	msgs, items := g.framedMsgs.Load(), g.framedItems.Load()
	errs, panics := g.itemErrs.Load(), g.itemPanics.Load()
	snap := g.h.Status()
	if snap.Func == batchFunc {
		snap.Func = g.fn.Load().name
	}
	if snap.Tasks >= msgs {
		snap.Tasks += items - msgs
	}
	snap.Errors += errs
	snap.Panics += panics
	return snap
}
