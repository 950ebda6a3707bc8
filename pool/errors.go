package pool

import (
	"errors"
	"fmt"

	"github.com/shmpool/shmpool/worker"
)

// Errors of a pool.
var (
	// ErrClosed is returned for work submitted after Close or Terminate,
	// and for tasks that Terminate cut short. It is worker.ErrClosed
	// (os.ErrClosed).
	ErrClosed = worker.ErrClosed
	// ErrNoWorkers is wrapped by the error of every task once no worker is
	// left and none will be started: every slot gave up after repeated
	// start failures, or died under NoRespawn. The error says why.
	ErrNoWorkers = errors.New("pool: no live workers")
)

// errSkipped ends a task that was never sent because its caller stopped
// waiting for it. Callers never see it.
var errSkipped = errors.New("pool: task skipped")

// ItemError is returned by Map for the failing item with the lowest index:
// every item before it succeeded. Err is the item's error: a
// *worker.RemoteError, a *worker.ExitError, an error wrapping
// worker.ErrTimeout, ...
type ItemError struct {
	Index int
	Err   error
}

func (e *ItemError) Error() string { return fmt.Sprintf("pool: item %d: %v", e.Index, e.Err) }

// Unwrap returns Err.
func (e *ItemError) Unwrap() error { return e.Err }
