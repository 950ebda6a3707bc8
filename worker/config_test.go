package worker_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/internal/testutil"
	"github.com/shmpool/shmpool/worker"
)

func TestFactoryFailures(t *testing.T) {
	tests := []struct {
		name    string
		fn      string
		static  string
		message string
		panic   bool
	}{
		{"a factory that panics", "factory-panic", "s", "factory boom: s", true},
		{"a factory that returns a nil function", "factory-nil", "", "nil function", false},
		{"a factory that returns an error", "prefix", "bad", "static data says bad", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, worker.Config{Func: "echo"})
			err := h.SetFunc(context.Background(), tt.fn, []byte(tt.static))
			var rerr *worker.RemoteError
			require.ErrorAs(t, err, &rerr)
			assert.Equal(t, tt.fn, rerr.Func)
			assert.Contains(t, rerr.Message, tt.message)
			assert.Equal(t, tt.panic, rerr.Panic)
			if tt.panic {
				assert.NotEmpty(t, rerr.Stack)
			}
			out, err := h.Execute(context.Background(), []byte("still echo"))
			require.NoError(t, err, "the worker lives on with its previous function")
			assert.Equal(t, "still echo", string(out))

			before := holding()
			_, err = worker.Start(context.Background(), worker.Config{Func: tt.fn, Static: []byte(tt.static)})
			require.ErrorAs(t, err, &rerr, "Start fails the same way")
			assert.Contains(t, rerr.Message, tt.message)
			requireReleased(t, before)
		})
	}
}

func TestConfigEnv(t *testing.T) {
	h := start(t, worker.Config{Func: "env", Env: []string{"SHMPOOL_TEST_ENV=42"}})
	out, err := h.Execute(context.Background(), []byte("SHMPOOL_TEST_ENV"))
	require.NoError(t, err)
	assert.Equal(t, "42", string(out))
}

func TestConfigStderrAndLogger(t *testing.T) {
	var stderr, log testutil.LockedBuffer
	h := start(t, worker.Config{
		Func:   "stderr",
		Stderr: &stderr,
		Logger: slog.New(slog.NewTextHandler(&log, nil)),
	})
	_, err := h.Execute(context.Background(), []byte("a line on stderr\n"))
	require.NoError(t, err)
	require.NoError(t, h.Close())
	assert.Equal(t, "a line on stderr\n", stderr.String(), "the worker's stderr goes to Config.Stderr")
	assert.Contains(t, log.String(), "worker started")
	assert.Contains(t, log.String(), "worker exited")
}

func TestExitErrorCarriesStderr(t *testing.T) {
	h := start(t, worker.Config{Func: "stderr", Stderr: &testutil.LockedBuffer{}})
	_, err := h.Execute(context.Background(), []byte("last words\n"))
	require.NoError(t, err)
	require.NoError(t, h.SetFunc(context.Background(), "exit", nil))
	_, err = h.Execute(context.Background(), []byte("5"))
	var xerr *worker.ExitError
	require.ErrorAs(t, err, &xerr)
	assert.Equal(t, 5, xerr.Code)
	assert.Contains(t, xerr.Stderr, "last words")
	assert.Contains(t, err.Error(), "last words")
}
