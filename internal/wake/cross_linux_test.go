package wake_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/internal/testutil"
)

// TestCrossProcess runs the sleep/wake protocol between this process and a
// helper child over a memfd, both sides with spin 0 so that every wait that
// finds nothing really sleeps. Invariants:
//  1. no wake-up is lost across processes: every round trip completes (a
//     stall of stallLimit without progress fails the test);
//  2. the child answers each ping exactly once, and exits cleanly when
//     stopped;
//  3. the child is reaped and no descriptor or mapping outlives the test
//     (checked here for children, and by TestMain for the rest).
func TestCrossProcess(t *testing.T) {
	n := uint64(100_000)
	if testing.Short() {
		n = 10_000
	}
	for _, kind := range kinds {
		t.Run(kind.String(), func(t *testing.T) {
			before := len(testutil.Children())
			p := startEchoChild(t, kind, 0)
			ctx, stop := watchProgress(p.w.pong)
			defer stop()

			var rings uint64
			for i := uint64(1); i <= n; i++ {
				rang, err := roundTrip(ctx, p.w, p.toEcho, p.toDrive, 0, i)
				if err != nil {
					t.Fatalf("round trip %d: %v (%v); the child: %v", i, err, context.Cause(ctx), p.stop())
				}
				if rang {
					rings++
				}
			}
			require.NoError(t, p.stop(), "the child exits cleanly")
			assert.Equal(t, n, p.w.pong.Load())
			assert.NotZero(t, rings, "the child slept at least once")
			assert.Len(t, testutil.Children(), before, "the child is reaped")
			t.Logf("%d round trips; the parent rang %d times, the child %d", n, rings, p.w.echoRings.Load())
		})
	}
}

// BenchmarkWakeRoundTrip measures one round trip to a child process through
// shared memory, each side sleeping on its doorbell when it finds nothing:
// with spin=0 every round trip pays two wake-ups; with a spin, a side that
// is answered within the spin makes no system call.
func BenchmarkWakeRoundTrip(b *testing.B) {
	for _, kind := range kinds {
		for _, spin := range []time.Duration{0, 5 * time.Microsecond} {
			b.Run(fmt.Sprintf("kind=%s/spin=%v", kind, spin), func(b *testing.B) {
				p := startEchoChild(b, kind, spin)
				ctx, stop := watchProgress(p.w.pong)
				defer stop()
				b.ReportAllocs()
				var i, rings uint64
				for b.Loop() {
					i++
					rang, err := roundTrip(ctx, p.w, p.toEcho, p.toDrive, spin, i)
					if err != nil {
						b.Fatalf("round trip %d: %v (%v)", i, err, context.Cause(ctx))
					}
					if rang {
						rings++
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(i), "ns/roundtrip")
				b.ReportMetric(float64(rings+p.w.echoRings.Load())/float64(i), "rings/roundtrip")
				if err := p.stop(); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}
