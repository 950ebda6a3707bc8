package ring_test

import (
	"sync/atomic"
	"testing"
)

// BenchmarkCacheLineRoundTrip hands one cache line between two goroutines
// and back: one op is a round trip, so ns/op is the cost of a line crossing
// between the cores twice. It is the floor under every record the ring
// hands over, and it varies with the host: about 57 ns where the two vCPUs
// share a cache, 250-330 ns where they do not. Read the ring's figures
// next to it. Needs GOMAXPROCS >= 2.
func BenchmarkCacheLineRoundTrip(b *testing.B) {
	var line struct {
		_ [64]byte
		v atomic.Int64
		_ [64]byte
	}
	n := int64(b.N) * 2
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := int64(1); i < n; i += 2 {
			for line.v.Load() != i {
			}
			line.v.Store(i + 1)
		}
	}()
	b.ResetTimer()
	for i := int64(0); i < n; i += 2 {
		for line.v.Load() != i {
		}
		line.v.Store(i + 1)
	}
	<-done
}
