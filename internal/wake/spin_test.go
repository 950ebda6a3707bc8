package wake_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/shmpool/shmpool/internal/wake"
)

func TestSpin(t *testing.T) {
	const limit = 16 * time.Microsecond
	short, long := limit/4, 10*limit
	tests := []struct {
		name  string
		spin  wake.Spin
		waits []time.Duration
		want  time.Duration
	}{
		{"a new spin starts at its limit", wake.NewSpin(limit), nil, limit},
		{"the zero spin never spins", wake.Spin{}, []time.Duration{short, short}, 0},
		{"a negative limit never spins", wake.NewSpin(-limit), []time.Duration{short, short}, 0},
		{"waits within the limit keep the full budget", wake.NewSpin(limit), []time.Duration{short, limit, 0}, limit},
		{"one long wait halves the budget", wake.NewSpin(limit), []time.Duration{long}, limit / 2},
		{"waits that end in sleep shrink the budget to zero", wake.NewSpin(limit), []time.Duration{long, long, long, long, long}, 0},
		{"one short wait after a long run spins a little again", wake.NewSpin(limit),
			[]time.Duration{long, long, long, long, long, short}, limit / 8},
		{"short waits grow the budget back to the limit", wake.NewSpin(limit),
			[]time.Duration{long, long, long, long, long, short, short, short, short}, limit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.spin
			for _, w := range tt.waits {
				s.Observe(w)
				assert.GreaterOrEqual(t, s.Budget(), time.Duration(0))
				assert.LessOrEqual(t, s.Budget(), max(s.Max(), 0))
			}
			assert.Equal(t, tt.want, s.Budget())
		})
	}
}
