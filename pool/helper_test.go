package pool_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/pool"
)

// newPool starts a pool for a test and terminates it at the end.
func newPool(tb testing.TB, cfg pool.Config) *pool.Pool {
	tb.Helper()
	p, err := pool.New(context.Background(), cfg)
	require.NoError(tb, err)
	tb.Cleanup(func() { p.Terminate() })
	return p
}

// items returns n inputs "item0", "item1", ...
func items(n int) [][]byte {
	ins := make([][]byte, n)
	for i := range ins {
		ins[i] = fmt.Appendf(nil, "item%d", i)
	}
	return ins
}

// seq yields ins.
func seq(ins [][]byte) func(func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for _, in := range ins {
			if !yield(in) {
				return
			}
		}
	}
}

// eventually waits up to d for cond.
func eventually(tb testing.TB, d time.Duration, cond func() bool, msg string, args ...any) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf(msg, args...)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ctxTimeout returns a context that ends after d, cancelled at cleanup.
func ctxTimeout(tb testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}
