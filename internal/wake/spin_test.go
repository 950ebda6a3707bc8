package wake_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/shmpool/shmpool/internal/wake"
)

func TestSpin(t *testing.T) {
	const limit = 16 * time.Microsecond
	tests := []struct {
		name   string
		spin   *wake.Spin
		caught []bool
		want   time.Duration
	}{
		{"a new spin starts at its limit", wake.NewSpin(limit), nil, limit},
		{"a nil spin never spins", nil, []bool{true, true}, 0},
		{"a negative limit never spins", wake.NewSpin(-limit), []bool{true, true}, 0},
		{"spins that catch keep the full budget", wake.NewSpin(limit), []bool{true, true, true}, limit},
		{"one miss halves the budget", wake.NewSpin(limit), []bool{false}, limit / 2},
		{"a few misses stop spinning", wake.NewSpin(limit), []bool{false, false, false, false}, 0},
		{"one catch after misses restores the budget", wake.NewSpin(limit), []bool{false, false, false, false, true}, limit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.spin
			for _, c := range tt.caught {
				s.Observe(c)
				assert.GreaterOrEqual(t, s.Budget(), time.Duration(0))
				assert.LessOrEqual(t, s.Budget(), s.Max())
			}
			assert.Equal(t, tt.want, s.Budget())
		})
	}
}

// A stopped Spin probes now and then, and a probe that catches the
// condition restores the budget.
func TestSpinProbes(t *testing.T) {
	const limit = time.Millisecond
	s := wake.NewSpin(limit)
	for range 4 {
		s.Observe(false)
	}
	if !assert.Zero(t, s.Budget()) {
		return
	}
	spins := 0
	for range 64 {
		calls := 0
		s.Until(func() bool { calls++; return calls > 1 }) // holds on the first check inside a spin
		if calls > 1 {
			spins++
		}
		if s.Budget() > 0 {
			break
		}
	}
	assert.Equal(t, 1, spins, "one probe within 64 waits")
	assert.Equal(t, limit, s.Budget(), "the probe caught the condition")
}
