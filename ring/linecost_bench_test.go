package ring_test

import (
	"slices"
	"sort"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkCacheLineRoundTrip hands one cache line between two goroutines
// and back: one op is a round trip, so ns/op is the cost of a line crossing
// between the cores twice. It is the floor under every record the ring
// hands over, and it varies with the host: 57 ns in the placement of
// FIGURES.md, 107-552 ns at different moments of 2026-11-30 on the 2-vCPU
// VM of the README (go test -run='^$' -bench=CacheLineRoundTrip
// -benchtime=2000000x ./ring/). Read the ring's figures next to it. Needs
// GOMAXPROCS >= 2.
func BenchmarkCacheLineRoundTrip(b *testing.B) {
	var l pingLine
	done := l.echo(b.N)
	b.ResetTimer()
	for i := range int64(b.N) {
		l.roundTrip(i)
	}
	<-done
}

// pingLine is one cache line, handed between two goroutines by counting:
// an even value is this side's turn, an odd one the echo's.
type pingLine struct {
	_ [64]byte
	v atomic.Int64
	_ [64]byte
}

// echo starts the goroutine that answers n round trips; the channel closes
// when it has.
func (l *pingLine) echo(n int) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := int64(1); i < 2*int64(n); i += 2 {
			for l.v.Load() != i {
			}
			l.v.Store(i + 1)
		}
	}()
	return done
}

// roundTrip waits for round trip i's turn and hands the line over.
func (l *pingLine) roundTrip(i int64) {
	for l.v.Load() != 2*i {
	}
	l.v.Store(2*i + 1)
}

// BenchmarkCacheLineStalls is BenchmarkCacheLineRoundTrip with every
// round trip timed. Two goroutines that spin on one line never sleep, so
// a slow round trip can only be the machine taking a CPU away: p99-ns and
// p99.9-ns are the tail of the hardware and the hypervisor, and stalls/s
// counts round trips over stallAt per second. Any transport that keeps both
// cores busy inherits this tail: one whose round trip is k times longer
// meets a stall k times as often.
func BenchmarkCacheLineStalls(b *testing.B) {
	const stallAt = 20 * time.Microsecond
	var l pingLine
	done := l.echo(b.N)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	start := time.Now()
	for i := range int64(b.N) {
		t := time.Now()
		l.roundTrip(i)
		lat = append(lat, time.Since(t))
	}
	elapsed := time.Since(start)
	<-done
	b.StopTimer()
	slices.Sort(lat)
	at := func(q float64) float64 { return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))]) }
	stalls := len(lat) - sort.Search(len(lat), func(i int) bool { return lat[i] > stallAt })
	b.ReportMetric(at(0.50), "p50-ns")
	b.ReportMetric(at(0.99), "p99-ns")
	b.ReportMetric(at(0.999), "p99.9-ns")
	b.ReportMetric(float64(stalls)/elapsed.Seconds(), "stalls/s")
}
