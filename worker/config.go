package worker

import (
	"fmt"
	"io"
	"log/slog"
	"math/bits"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/shmpool/shmpool/ring"
)

// Config configures one worker process.
type Config struct {
	// Func is the registered name of the function to run (required).
	Func string
	// Static is handed to the function's factory once per configuration.
	Static []byte
	// RingSize is the capacity in bytes of each direction's ring, a power
	// of two; default 4 MiB. Payloads larger than half of it are fragmented.
	RingSize int
	// MaxPayload bounds payloads and results; default 64 MiB. Larger ones
	// fail with ErrTooLarge.
	MaxPayload int
	// Spin is how long a waiting side spins before it sleeps. 0 chooses
	// the default policy (see DefaultSpin); NoSpin (any value < 0) never
	// spins.
	Spin time.Duration
	// StartTimeout bounds Start's wait for the worker's hello; default 10 s.
	StartTimeout time.Duration
	// StopTimeout bounds Close's wait for a graceful exit before it kills
	// the worker; default 5 s.
	StopTimeout time.Duration
	// Path and Args name the worker binary and its arguments; default
	// os.Executable() with no arguments. The binary must call Main first.
	Path string
	Args []string
	// Env is added to the worker's environment (the parent's is inherited).
	Env []string
	// Stderr receives the worker's standard error; default os.Stderr. Its
	// tail is kept for error messages either way.
	Stderr io.Writer
	// Logger receives lifecycle events (start, exit, corruption, kill);
	// nothing is logged per message. Default: discard.
	Logger *slog.Logger
}

const (
	defaultRingSize     = 4 << 20
	defaultMaxPayload   = 64 << 20
	defaultStartTimeout = 10 * time.Second
	defaultStopTimeout  = 5 * time.Second
	// maxSpin is the spin budget of the default policy: long enough to
	// cover the gap between back-to-back calls (a few microseconds), far
	// shorter than the cross-CPU wake-up it saves (35-40 us here).
	maxSpin = 50 * time.Microsecond
)

// wokeSpinFactor times the spin limit is how long a caller spins for the
// answer to a call that had to wake the worker (see answerSpin): 200 us
// with the default limit. BenchmarkExecuteIdle (64 B, 1 ms idle before each
// call; go test -run='^$' -bench=ExecuteIdle -count=3 ./worker/, builds
// with and without it run alternately on a 2-vCPU VM): p50 125-165 us with
// the adaptive budget alone (two wake-ups, and a spin that often ran out
// just before the answer), 54-90 us with it.
const wokeSpinFactor = 4

// copySpin is how much longer to spin for a peer that must copy n bytes
// before the awaited record can appear: n at 5 GB/s, a pace both sides keep
// even where the cores are far apart. It is added for messages of at least
// copySpinMin bytes, so that a large call's answer, or the next large
// request, is not met by a sleep and a wake-up that the copy outlasted the
// budget by. BenchmarkExecute p50 (go test -run='^$'
// -bench='^BenchmarkExecute$/(shm|seqpacket)/size=(64KiB|1MiB)' ./worker/,
// alternate builds): 1 MiB 292-301 us without it, 248-261 us with it
// (SOCK_SEQPACKET 243-313 us in the same runs); 64 KiB 26-28 us and 11-25 us.
func copySpin(n int) time.Duration {
	if n < copySpinMin {
		return 0
	}
	return time.Duration(n/5) * time.Nanosecond
}

// copySpinMin is the message size from which copySpin extends a spin.
const copySpinMin = 64 << 10

// NoSpin as Config.Spin makes both sides sleep at once when they wait,
// never spinning. It is what DefaultSpin returns when spinning cannot pay.
const NoSpin time.Duration = -1

// live counts this process's running workers, for the default spin policy.
var live atomic.Int64

// DefaultSpin is the spin budget the default policy (Config.Spin == 0)
// gives a worker started when n workers are running in this process
// (counting the new one). Each worker and the parent's receiver for it may
// spin, so spinning pays only while 2n sides fit on the CPUs; beyond that a
// spinning side steals the CPU from the side it waits for, and every side
// sleeps at once instead. The budget is adaptive within the bound: a side
// whose waits keep outlasting it stops spinning (internal/wake.Spin).
// The result is a valid Config.Spin: a positive budget, or NoSpin.
func DefaultSpin(n int) time.Duration {
	if 2*n <= min(runtime.GOMAXPROCS(0), runtime.NumCPU()) {
		return maxSpin
	}
	return NoSpin
}

func (c Config) withDefaults() (Config, error) {
	if c.Func == "" {
		return c, fmt.Errorf("worker: config: Func is required")
	}
	if c.RingSize == 0 {
		c.RingSize = defaultRingSize
	}
	if c.RingSize < ring.MinCapacity || c.RingSize > ring.MaxCapacity || bits.OnesCount(uint(c.RingSize)) != 1 {
		return c, fmt.Errorf("worker: config: RingSize %d is not a power of two in [%d, %d]", c.RingSize, ring.MinCapacity, ring.MaxCapacity)
	}
	if c.MaxPayload == 0 {
		c.MaxPayload = defaultMaxPayload
	}
	if c.MaxPayload < 0 {
		return c, fmt.Errorf("worker: config: MaxPayload %d is negative", c.MaxPayload)
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = defaultStartTimeout
	}
	if c.StopTimeout <= 0 {
		c.StopTimeout = defaultStopTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}
