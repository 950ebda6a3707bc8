package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/worker"
)

// BenchmarkExecuteSpin is the 64 B round trip of BenchmarkExecute under
// each wait policy: the default (adaptive, up to 50 us where spinning can
// pay), a fixed longer budget, and no spinning. p50-ns shows which mode a
// run ended up in; compare within one run.
func BenchmarkExecuteSpin(b *testing.B) {
	for _, tc := range []struct {
		name string
		spin time.Duration
	}{
		{"default", 0},
		{"1ms", time.Millisecond},
		{"none", worker.NoSpin},
	} {
		b.Run("spin="+tc.name, func(b *testing.B) {
			h, err := worker.Start(context.Background(), worker.Config{Func: "echo", Spin: tc.spin})
			require.NoError(b, err)
			defer h.Close()
			ctx := context.Background()
			roundTrips(b, 64, 0, func(in []byte) []byte {
				out, err := h.Execute(ctx, in)
				if err != nil {
					b.Fatal(err)
				}
				return out
			})
		})
	}
}
