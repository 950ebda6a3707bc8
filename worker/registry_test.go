package worker_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/shmpool/shmpool/worker"
)

func TestRegisterPanicsOnProgrammingErrors(t *testing.T) {
	noop := func(context.Context, []byte) ([]byte, error) { return nil, nil }
	tests := []struct {
		name     string
		register func()
	}{
		{"a duplicate name", func() { worker.Register("echo", noop) }},
		{"a duplicate factory name", func() {
			worker.RegisterFactory("prefix", func([]byte) (worker.Func, error) { return noop, nil })
		}},
		{"an empty name", func() { worker.Register("", noop) }},
		{"a nil function", func() { worker.Register("test-nil-function", nil) }},
		{"a nil factory", func() { worker.RegisterFactory("test-nil-factory", nil) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Panics(t, tt.register)
		})
	}
}

// registerRuns makes the names TestRegisterIsSafeForConcurrentUse registers
// unique when the test runs more than once in a process (-count, -cpu).
var registerRuns atomic.Int64

func TestRegisterIsSafeForConcurrentUse(t *testing.T) {
	noop := func(context.Context, []byte) ([]byte, error) { return nil, nil }
	run := registerRuns.Add(1)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			worker.Register(fmt.Sprintf("test-concurrent-%d-%d", run, i), noop)
		}()
	}
	wg.Wait()
	assert.Panics(t, func() { worker.Register(fmt.Sprintf("test-concurrent-%d-3", run), noop) }, "every registration took")
}

func TestDefaultSpin(t *testing.T) {
	cpus := min(runtime.GOMAXPROCS(0), runtime.NumCPU())
	assert.Equal(t, worker.NoSpin, worker.DefaultSpin(cpus+1), "more workers than CPUs never spin")
	if cpus >= 2 {
		assert.Positive(t, worker.DefaultSpin(1), "one worker spins when its side and ours fit on the CPUs")
	} else {
		assert.Equal(t, worker.NoSpin, worker.DefaultSpin(1), "one CPU never spins")
	}
}
