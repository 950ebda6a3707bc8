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
			if load == 0 && l.concentrate && !s.warm(l.now) {
				if l.active >= runtime.NumCPU() {
					continue // concentrated elsewhere (see accepts)
				}
			} else if !s.accepts(load, l) {
				continue
			}
			// Ties go to a worker that had work a moment ago, then to the
			// lowest slot: the same workers (and their rings, warm in the
			// caches) get the work.
			if best == nil || load < bestLoad || (load == bestLoad && better(s, best, l.now)) {
				best, bestLoad = s, load
			}
		}
		if best == nil {
			break
		}
		if bestLoad == 0 && l.concentrate && !best.warm(l.now) {
			best.waking.Store(true)
			l.active++ // it will be
		}
		chosen = append(chosen, best)
	}
	return chosen
}

// better breaks a tie between two idle workers (see pick).
func better(a, b *slot, now int64) bool {
	if wa, wb := a.warm(now), b.warm(now); wa != wb {
		return wa
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
	share := max(min(int(p.live.Load()), runtime.NumCPU()), 1)
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
// again when one of its messages completes. spare reports an idle worker
// kept idle while others run tiny items (see loadView.concentrate), cold
// one that may take work although it is neither warm nor picked by a push.
func (s *slot) eligible() (ok, spare, cold bool) {
	p := s.p
	l := p.load()
	n := s.inflight.Load()
	if !s.accepts(n, l) {
		return false, n == 0, false
	}
	if n == 0 {
		return true, false, l.concentrate && !s.warm(l.now) && !s.waking.Load()
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
type loadView struct {
	now, stall int64
	// concentrate: items are tiny and workers outnumber the CPUs, so work
	// goes to at most as many workers as CPUs (active counts those that
	// have work and room): waking more would only make them take turns on
	// the CPUs and split the work into more, smaller messages.
	concentrate bool
	active      int
	stuck       bool // some worker with room seems stuck
}

const tinyItem = 20 * time.Microsecond // items below this are concentrated

func (p *Pool) load() loadView {
	l := loadView{now: p.now(), stall: p.stallAfter()}
	if len(p.slots) <= runtime.NumCPU() || !p.itemMeasured.Load() || p.ewmaItem.Load() >= int64(tinyItem) {
		return l
	}
	l.concentrate = true
	// Active: has work and room and is not stuck, by a lenient measure
	// (a worker descheduled for a moment is not stuck); or has just been
	// kicked to take work.
	stuck := max(4*l.stall, int64(spareRecheck))
	for _, o := range p.slots {
		if !o.ready.Load() {
			continue
		}
		if o.active(l.now, stuck) {
			l.active++
		} else if o.inflight.Load() > 0 {
			l.stuck = true
		}
	}
	return l
}

// accepts reports whether a worker with n messages in flight may take
// more: it has room and does not seem stuck on a slow task (an idle worker
// should take the work instead); an idle worker stays idle while enough
// others are active (see loadView.concentrate).
//
// Under concentration an idle worker that is not warm takes work only
// when fewer than NumCPU workers are active and either a push picked it
// (pick prefers warm workers, then low slots, so the same ones keep the
// work and their rings stay in the caches), no worker is active at all, or
// one seems stuck.
func (s *slot) accepts(n int32, l loadView) bool {
	if n > 0 {
		return s.canTake(n, l.now, l.stall)
	}
	if !l.concentrate || s.warm(l.now) || s.waking.Load() {
		return true // a push picked it knowing how many were active
	}
	return l.active < runtime.NumCPU() && (l.active == 0 || l.stuck)
}

// active reports, for concentrating tiny items, whether the worker counts
// as one of those running them: it has work and is not stuck (by a lenient
// measure: a worker descheduled for a moment is not stuck), has just been
// kicked to take work, or had work a moment ago (it is between two
// messages).
func (s *slot) active(now, stuck int64) bool {
	if s.inflight.Load() > 0 {
		return now-s.headSince.Load() <= stuck
	}
	return s.waking.Load() || s.warm(now)
}

// warmFor is how long after its last work a worker still counts as active.
const warmFor = 2 * time.Millisecond

// warm reports whether the worker had work a moment ago.
func (s *slot) warm(now int64) bool { return now-s.lastWork.Load() < int64(warmFor) }

// canTake reports whether a worker with n messages in flight has room and
// does not seem stuck.
func (s *slot) canTake(n int32, now, stall int64) bool {
	return n == 0 || (n < int32(s.p.cfg.MaxInFlight) && now-s.headSince.Load() <= stall)
}
