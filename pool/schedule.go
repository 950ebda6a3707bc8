package pool

import (
	"runtime"
	"sync/atomic"
	"time"
)

// Scheduling: which worker takes the next message, how large a batch is,
// and when a worker seems stuck. Every decision reads a few atomics of the
// slots; none takes a lock but the queue's, which pick runs under.

// pick chooses, from the dispatchers waiting for work, those to kick for n
// new tasks: the least loaded first, skipping any whose worker seems stuck
// on a slow task. The queue's lock is held.
func (p *Pool) pick(idle []*slot, n int) []*slot {
	l := p.load()
	var chosen []*slot
	for len(chosen) < n {
		var best *slot
		var bestLoad int32
		for _, s := range idle {
			if contains(chosen, s) {
				continue
			}
			load := s.inflight.Load()
			if load == 0 && l.concentrate {
				if l.active >= l.cap {
					continue // concentrated elsewhere (see loadView)
				}
			} else if !s.accepts(load, l) {
				continue
			}
			// Ties go to the worker that had work last, then to the lowest
			// slot: the same workers (and their rings, warm in the caches)
			// get the work.
			if best == nil || load < bestLoad || (load == bestLoad && better(s, best)) {
				best, bestLoad = s, load
			}
		}
		if best == nil {
			break
		}
		if bestLoad == 0 && l.concentrate {
			best.waking.Store(true)
			l.active++ // it will be
		}
		chosen = append(chosen, best)
	}
	return chosen
}

// better breaks a tie between two idle workers (see pick): the one that
// had work last, then the lower slot.
func better(a, b *slot) bool {
	if la, lb := a.lastWork.Load(), b.lastWork.Load(); la != lb {
		return la > lb
	}
	return a.idx < b.idx
}

// Scheduling constants.
const (
	// A worker whose oldest message has been running for longer than
	// stallFactor times the usual service time of a message (at least
	// minStall) gets no more work while it has some: an idle worker takes
	// it instead of the work queueing behind a slow task.
	stallFactor = 8
	minStall    = time.Millisecond

	// Batching: items of at most smallItem bytes are batched, at most
	// maxBatchItems or maxBatchBytes a message, and no more than about
	// batchTime of estimated work.
	smallItem     = 8 << 10
	maxBatchItems = 1024
	maxBatchBytes = 128 << 10
	batchTime     = time.Millisecond
	// initialItemEstimate makes the first batches small (2 items) until
	// the time an item takes has been measured: items may be slow.
	initialItemEstimate = batchTime / 2
)

func (p *Pool) stallAfter() int64 {
	return max(int64(minStall), stallFactor*p.ewmaMsg.Load())
}

// observeItems updates the estimate of one item's run time from a batch
// of items that the worker ran in d nanoseconds.
// The worker's clock is not skewed by scheduling the way round trips are,
// so the estimate follows it fast: it takes the first measurement as is,
// then moves halfway towards each new one.
func (p *Pool) observeItems(d int64, items int) {
	sample := max(d/int64(items), 1)
	if !p.itemMeasured.Swap(true) {
		p.ewmaItem.Store(sample)
		return
	}
	old := p.ewmaItem.Load()
	p.ewmaItem.Store(max(old+(sample-old)/2, 1))
}

// ewma moves an estimate an eighth of the way towards a sample, which
// first moves at most fourfold (a GC pause or a descheduled worker should
// not swing it).
func ewma(v *atomic.Int64, sample int64) {
	old := v.Load()
	if old <= 0 {
		v.Store(max(sample, 1))
		return
	}
	sample = min(max(sample, old/4), 4*old)
	v.Store(max(old+(sample-old)/8, 1))
}

// batchLimit returns how many items the next batch may hold, with queued
// items waiting (the first one taken included).
func (p *Pool) batchLimit(queued int) int {
	// A fair share for each worker that can run at once: more workers than
	// CPUs would only make more, smaller messages.
	share := min(int(p.live.Load()), runtime.NumCPU())
	if p.itemMeasured.Load() && p.ewmaItem.Load() < int64(tinyItem) {
		share = min(share, int(p.activeCap.Load())) // concentrated (see loadView)
	}
	share = max(share, 1)
	limit := min(maxBatchItems, (queued+share-1)/share)
	per := max(p.ewmaItem.Load(), 1)
	budget := int64(batchTime)
	if t := p.cfg.TaskTimeout; t > 0 {
		budget = min(budget, int64(t)/8)
	}
	return max(1, min(limit, int(budget/per)))
}

// eligible reports whether the worker may take more work now: it accepts
// work (see accepts), and no other worker that accepts work has fewer
// messages in flight (least-loaded dispatch). A slot that defers is kicked
// again when one of its messages completes. idle reports an idle worker
// kept idle while others run tiny items (see loadView), self one that takes
// work on its own under concentration (see accepts).
func (s *slot) eligible() (ok, idle, self bool) {
	p := s.p
	l := p.load()
	n := s.inflight.Load()
	if !s.accepts(n, l) {
		return false, n == 0, false
	}
	if n == 0 {
		return true, false, l.concentrate && !s.waking.Load()
	}
	for _, o := range p.slots {
		if o != s && o.ready.Load() {
			if m := o.inflight.Load(); m < n && o.accepts(m, l) {
				return false, false, false
			}
		}
	}
	return true, false, false
}

// anyWaking reports whether a worker other than s was just kicked to take
// work.
func (p *Pool) anyWaking(s *slot) bool {
	for _, o := range p.slots {
		if o != s && o.ready.Load() && o.waking.Load() {
			return true
		}
	}
	return false
}

// loadView is what dispatch decisions look at, read once per decision.
//
// Concentration: when items are tiny (under tinyItem of the worker's time
// each), more workers do not make the work go faster, only split it into
// more, smaller messages and make workers take turns on the CPUs: the pool
// (one goroutine per call feeding, one per worker receiving) is then the
// bottleneck, not the workers. So work goes to at most activeCap workers,
// which adjustCap tunes from how busy they are (from one up to as many as
// CPUs). The rules, under concentration:
//
//   - a worker with work takes more like any other (least loaded first);
//   - an idle worker takes work when a push picked it (pick allows no more
//     than activeCap active workers, and prefers the one that had work
//     last, whose rings are warm in the caches); or on its own when fewer
//     than activeCap are active and either one seems stuck (idle workers
//     look every 10 ms or so) or none has work and it is the one that had
//     work last.
type loadView struct {
	now, stall  int64
	concentrate bool
	cap         int  // how many workers may be active (Pool.activeCap)
	active      int  // workers with work that are not stuck, and picked ones
	stuck       bool // some worker with work seems stuck
	last        *slot
}

const tinyItem = 20 * time.Microsecond // items below this are concentrated

func (p *Pool) load() loadView {
	l := loadView{now: p.now(), stall: p.stallAfter()}
	if !p.itemMeasured.Load() || p.ewmaItem.Load() >= int64(tinyItem) {
		return l
	}
	l.cap = int(p.activeCap.Load())
	if l.cap >= len(p.slots) {
		return l
	}
	l.concentrate = true
	// Stuck, by a lenient measure: a worker descheduled for a moment is
	// not stuck.
	stuck := max(4*l.stall, int64(spareRecheck))
	for _, o := range p.slots {
		if !o.ready.Load() {
			continue
		}
		switch {
		case o.inflight.Load() > 0:
			if l.now-o.headSince.Load() <= stuck {
				l.active++
			} else {
				l.stuck = true
			}
		case o.waking.Load():
			l.active++
		case l.last == nil || o.lastWork.Load() > l.last.lastWork.Load():
			l.last = o
		}
	}
	return l
}

// accepts reports whether a worker with n messages in flight may take
// more: it has room and does not seem stuck on a slow task (an idle worker
// should take the work instead); under concentration an idle worker
// follows the rules of loadView.
func (s *slot) accepts(n int32, l loadView) bool {
	if n > 0 {
		return s.canTake(n, l.now, l.stall)
	}
	if !l.concentrate || s.waking.Load() {
		return true // a push picked it knowing how many were active
	}
	return l.active < l.cap && (l.stuck || (l.active == 0 && l.last == s))
}

// canTake reports whether a worker with n messages in flight has room and
// does not seem stuck.
func (s *slot) canTake(n int32, now, stall int64) bool {
	return n == 0 || (n < int32(s.p.cfg.MaxInFlight) && now-s.headSince.Load() <= stall)
}

// adjustCap tunes activeCap, at most once per capPeriod: up by one while
// the active workers are busy (they waited for input less than 20% of the
// time), down by one while they mostly wait (over 70%). Any goroutine may
// call it; one at a time does the work (under capMu, which also guards the
// gens' capWait and capAt).
func (p *Pool) adjustCap(now int64) {
	if now-p.capAt.Load() < int64(capPeriod) || !p.capMu.TryLock() {
		return
	}
	defer p.capMu.Unlock()
	if now-p.capAt.Load() < int64(capPeriod) {
		return
	}
	p.capAt.Store(now)
	var waited, span int64
	for _, s := range p.slots {
		s.mu.Lock()
		g := s.cur
		s.mu.Unlock()
		if g == nil || !s.ready.Load() {
			continue
		}
		st := g.h.Status()
		w := int64(st.Waiting)
		if g.capAt > 0 && now > g.capAt && (s.inflight.Load() > 0 || now-s.lastWork.Load() < int64(capPeriod)) {
			waited += w - g.capWait
			span += now - g.capAt
		}
		g.capWait, g.capAt = w, now
	}
	if span <= 0 {
		return
	}
	c := p.activeCap.Load()
	switch idle := float64(waited) / float64(span); {
	case idle < 0.2 && c < int32(min(len(p.slots), runtime.NumCPU())):
		p.activeCap.Store(c + 1)
	case idle > 0.7 && c > 1:
		p.activeCap.Store(c - 1)
	}
}

// capPeriod is how often adjustCap looks.
const capPeriod = 10 * time.Millisecond
