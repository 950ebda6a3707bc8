package wake

import (
	"context"
	"sync/atomic"
	"time"
)

// Spin adapts how long a waiting side spins before it sleeps, from whether
// its recent spins caught the condition. Spinning pays only while the side
// it waits for runs on another CPU: when both share one CPU (the scheduler
// often puts a woken process next to its waker), every spin only delays the
// peer, and a side that spins for its whole budget before sleeping turns a
// 2 us round trip into 50-80 us. So a spin that caught the condition keeps
// the full budget, a spin that missed halves it, and a few misses stop
// spinning altogether; while stopped, one wait in probeEvery spins the full
// limit to find out whether spinning pays again. A probe must be long
// enough to outlast the peer's own wake-up: when both sides have stopped
// spinning, the first probe that sees the peer answer within the limit
// restarts spinning on this side, and the peer's next probe finds this side
// answering at once.
//
// The time a wait took is not the signal: after a sleep, a short wait only
// shows that the wake-up was quick, not that spinning would have caught it.
//
// A nil or zero Spin never spins. Spin is safe for concurrent use: its state
// is two atomic words, and racing updates only blur the adaptation.
type Spin struct {
	max  time.Duration
	cur  atomic.Int64  // the budget in nanoseconds; 0 while stopped
	idle atomic.Uint32 // waits since spinning stopped, for probing
}

// probeEvery is how often a stopped Spin probes.
const probeEvery = 32

// NewSpin returns a Spin whose budget starts at limit, its maximum. A limit
// of 0 or less never spins.
func NewSpin(limit time.Duration) *Spin {
	s := &Spin{max: max(limit, 0)}
	s.cur.Store(int64(s.max))
	return s
}

// Max returns the upper bound of the budget.
func (s *Spin) Max() time.Duration {
	if s == nil {
		return 0
	}
	return s.max
}

// Budget returns the current budget: 0 while spinning has stopped.
func (s *Spin) Budget() time.Duration {
	if s == nil {
		return 0
	}
	return time.Duration(s.cur.Load())
}

// next returns the spin of the next wait: the budget, or a probe.
func (s *Spin) next() time.Duration {
	if s == nil || s.max <= 0 {
		return 0
	}
	if b := s.cur.Load(); b > 0 {
		return time.Duration(b)
	}
	if s.idle.Add(1)%probeEvery == 0 {
		return s.max
	}
	return 0
}

// Observe records whether a spin caught the condition it waited for.
func (s *Spin) Observe(caught bool) {
	if s == nil || s.max <= 0 {
		return
	}
	if caught {
		s.cur.Store(int64(s.max))
		return
	}
	b := s.cur.Load() / 2
	if b < int64(s.max/8) {
		b = 0
	}
	s.cur.Store(b)
}

// Until spins until ready holds or the budget has passed, reports whether
// it held, and adapts the budget.
func (s *Spin) Until(ready func() bool) bool {
	if ready() {
		return true
	}
	spin := s.next()
	if spin <= 0 {
		return false
	}
	caught := SpinUntil(ready, spin)
	s.Observe(caught)
	return caught
}

// Sleep is the package-level Sleep with the adaptive budget.
func (s *Spin) Sleep(ctx context.Context, d *Doorbell, flag *atomic.Uint32, ready func() bool) error {
	if s.Until(ready) {
		return nil
	}
	return Sleep(ctx, d, flag, ready, 0)
}
