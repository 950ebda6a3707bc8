package worker_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/worker"
)

// start starts a worker for a test and closes it at the end.
func start(tb testing.TB, cfg worker.Config) *worker.Handle {
	tb.Helper()
	h, err := worker.Start(context.Background(), cfg)
	require.NoError(tb, err)
	tb.Cleanup(func() { h.Terminate() })
	return h
}

func TestExecute(t *testing.T) {
	h := start(t, worker.Config{Func: "upper"})
	out, err := h.Execute(context.Background(), []byte("hello"))
	require.NoError(t, err)
	assert.Equal(t, "HELLO", string(out))
	require.NoError(t, h.Close())
}
