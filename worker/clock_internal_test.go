package worker

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClock(t *testing.T) {
	t.Run("an unsynced clock syncs on its first read", func(t *testing.T) {
		var c clock
		before := time.Now()
		got := c.now()
		assert.False(t, got.Before(before), "now %v before time.Now %v", got, before)
		assert.Equal(t, got, c.base)
	})
	t.Run("times follow the wall clock and measure on the monotonic one", func(t *testing.T) {
		var c clock
		start := c.sync()
		prev := start
		for range 1000 {
			got := c.now()
			require.False(t, got.Before(prev), "now went back: %v after %v", got, prev)
			prev = got
		}
		time.Sleep(5 * time.Millisecond)
		before := time.Now()
		end := c.now()
		after := time.Now()
		// Sub uses the monotonic readings: they must be there.
		assert.GreaterOrEqual(t, end.Sub(start), 5*time.Millisecond)
		assert.Equal(t, end.Sub(start), end.Round(0).Sub(start.Round(0)), "wall and monotonic time since base differ")
		// On the wall clock, now lies between the time.Now calls around it,
		// give or take what NTP may slew in a few milliseconds.
		assert.False(t, end.Round(0).Before(before.Round(0).Add(-time.Millisecond)), "wall time %v before %v", end, before)
		assert.False(t, end.Round(0).After(after.Round(0).Add(time.Millisecond)), "wall time %v after %v", end, after)
	})
	t.Run("a base older than clockResync is read again", func(t *testing.T) {
		c := clock{base: time.Now().Add(-2 * clockResync)}
		before := time.Now()
		got := c.now()
		assert.False(t, got.Before(before))
		assert.Equal(t, got, c.base, "now did not resync")
	})
}

// BenchmarkClock compares the worker's clock with time.Now, which reads the
// wall clock as well as the monotonic one.
//
//	go test -run='^$' -bench='^BenchmarkClock$' -count=3 ./worker/
func BenchmarkClock(b *testing.B) {
	var sink time.Time
	b.Run("time.Now", func(b *testing.B) {
		for b.Loop() {
			sink = time.Now()
		}
	})
	b.Run("clock.now", func(b *testing.B) {
		var c clock
		c.sync()
		for b.Loop() {
			sink = c.now()
		}
	})
	_ = sink
}
