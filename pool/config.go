package pool

import (
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/shmpool/shmpool/worker"
)

// Config configures a Pool. The zero value of every field but Worker.Func
// is a usable default.
type Config struct {
	// Workers is the number of worker processes; default runtime.NumCPU().
	Workers int
	// Worker configures each worker process (Func is required). When
	// Worker.Spin is 0 the pool picks the spin policy for all its workers
	// at once: worker.DefaultSpin(Workers), which is worker.NoSpin when
	// the workers and their receivers outnumber the CPUs, so that they
	// sleep instead of stealing the CPU from the side they wait for.
	Worker worker.Config
	// Retries is how often a task that was running when its worker died
	// is run again, on another worker or the dead one's replacement;
	// default 0: the task fails with the worker's *worker.ExitError. Tasks
	// waiting behind it in the worker's ring, or batched with it, run again
	// without using up a try (see the package documentation).
	Retries int
	// TaskTimeout, if positive, bounds how long one task may run: a worker
	// whose task runs longer is killed and replaced, and that task fails
	// with an error wrapping worker.ErrTimeout (it is not retried).
	TaskTimeout time.Duration
	// MaxInFlight bounds the ring messages in flight per worker: the depth
	// of the pipeline that hides the round-trip latency. A message carries
	// one item, or several small ones (batching). Default
	// DefaultMaxInFlight.
	MaxInFlight int
	// NoRespawn keeps a dead worker dead; by default it is replaced.
	NoRespawn bool
}

// DefaultMaxInFlight is the default Config.MaxInFlight, chosen by
// measurement (see the package documentation).
const DefaultMaxInFlight = 16

func (c Config) withDefaults() (Config, error) {
	if c.Worker.Func == "" {
		return c, fmt.Errorf("pool: config: Worker.Func is required")
	}
	switch {
	case c.Workers < 0:
		return c, fmt.Errorf("pool: config: Workers %d is negative", c.Workers)
	case c.Retries < 0:
		return c, fmt.Errorf("pool: config: Retries %d is negative", c.Retries)
	case c.TaskTimeout < 0:
		return c, fmt.Errorf("pool: config: TaskTimeout %v is negative", c.TaskTimeout)
	case c.MaxInFlight < 0:
		return c, fmt.Errorf("pool: config: MaxInFlight %d is negative", c.MaxInFlight)
	}
	if c.Workers == 0 {
		c.Workers = runtime.NumCPU()
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.Worker.Spin == 0 {
		c.Worker.Spin = worker.DefaultSpin(c.Workers)
	}
	if c.Worker.MaxPayload == 0 {
		c.Worker.MaxPayload = defaultMaxPayload
	}
	if c.Worker.Stderr != nil {
		// Every worker copies its stderr from a goroutine of its own.
		c.Worker.Stderr = &lockedWriter{w: c.Worker.Stderr}
	}
	return c, nil
}

// lockedWriter serialises the writes of the pool's workers to the one
// Config.Worker.Stderr, so that it need not be safe for concurrent use.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// defaultMaxPayload mirrors package worker's default, which the pool needs
// to size batch responses.
const defaultMaxPayload = 64 << 20
