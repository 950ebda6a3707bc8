package wake

import (
	"context"
	"sync/atomic"
	"time"
)

// Spin adapts how long a waiting side spins before it sleeps, from how long
// its recent waits took. A wait that ends within the maximum would have been
// caught by spinning, so the budget grows back towards the maximum; a wait
// that outlasts it ends in sleep whatever we spin, so the budget halves, and
// reaches zero after a few such waits. One spin past the end of a burst is
// the price of catching the next burst without a system call.
//
// The zero Spin never spins. A Spin belongs to one waiting goroutine: it is
// not safe for concurrent use.
type Spin struct {
	max time.Duration // upper bound of the budget; <= 0 disables spinning
	cur time.Duration // the budget of the next wait
}

// NewSpin returns a Spin whose budget starts at limit, its maximum. A limit
// of 0 or less never spins.
func NewSpin(limit time.Duration) Spin {
	if limit <= 0 {
		return Spin{}
	}
	return Spin{max: limit, cur: limit}
}

// Max returns the upper bound of the budget.
func (s *Spin) Max() time.Duration { return s.max }

// Budget returns how long the next wait should spin before it sleeps.
func (s *Spin) Budget() time.Duration { return s.cur }

// Observe records that a wait which did not find its condition at once took
// waited, spinning and sleeping included.
func (s *Spin) Observe(waited time.Duration) {
	if s.max <= 0 {
		return
	}
	if waited <= s.max {
		s.cur = min(s.max, 2*s.cur+s.max/8)
		return
	}
	s.cur /= 2
	if s.cur < s.max/16 {
		s.cur = 0
	}
}

// Sleep is the package-level Sleep with the current budget, and records how
// long the wait took. A condition that holds at once costs no clock read and
// is not recorded.
func (s *Spin) Sleep(ctx context.Context, d *Doorbell, flag *atomic.Uint32, ready func() bool) error {
	if ready() {
		return nil
	}
	start := time.Now()
	err := Sleep(ctx, d, flag, ready, s.cur)
	if err == nil {
		s.Observe(time.Since(start))
	}
	return err
}
