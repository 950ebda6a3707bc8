package worker

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
)

// Errors of a call.
var (
	// ErrClosed is returned by calls on a Handle after Close or Terminate.
	ErrClosed = os.ErrClosed
	// ErrTooLarge is returned for a payload or a result above
	// Config.MaxPayload. Nothing is sent for a payload; a result is dropped
	// in the worker, which lives on.
	ErrTooLarge = errors.New("worker: payload too large")
	// ErrUnknownFunc is returned when a function name is not registered in
	// the worker binary.
	ErrUnknownFunc = errors.New("worker: unknown function")
	// ErrCorrupt is returned when the worker's side of shared memory is
	// malformed. The parent kills that worker; it never panics.
	ErrCorrupt = errors.New("worker: corrupt shared memory")
	// ErrTimeout is returned when a worker did not start in time, or (by
	// package pool) when a task ran past its time limit.
	ErrTimeout = errors.New("worker: timeout")
	// ErrExited matches every *ExitError with errors.Is.
	ErrExited = errors.New("worker: process exited")
)

// RemoteError is a user function's failure, returned error or panic,
// rebuilt on the parent's side. The worker process lives on.
type RemoteError struct {
	Func    string // the registered name of the function that failed
	Message string // the error's text, or the panic value
	Panic   bool   // the function panicked; Stack holds the goroutine's stack
	Stack   string
}

func (e *RemoteError) Error() string {
	if e.Panic {
		return fmt.Sprintf("worker: %s panicked: %s", e.Func, e.Message)
	}
	return fmt.Sprintf("worker: %s: %s", e.Func, e.Message)
}

// ExitError reports that the worker process died. It matches ErrExited
// with errors.Is. Every call pending when the process died gets it.
type ExitError struct {
	PID    int
	Code   int            // exit status, or -1 when killed by a signal
	Signal syscall.Signal // the signal that killed it, or 0
	Stderr string         // the tail of the worker's standard error
	Reason string         // why it died when we know: "killed by Terminate", "corrupt shared memory", ...
}

func (e *ExitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "worker: process %d ", e.PID)
	if e.Signal != 0 {
		fmt.Fprintf(&b, "killed by signal %s", e.Signal)
	} else {
		fmt.Fprintf(&b, "exited with status %d", e.Code)
	}
	if e.Reason != "" {
		fmt.Fprintf(&b, " (%s)", e.Reason)
	}
	if s := strings.TrimSpace(e.Stderr); s != "" {
		fmt.Fprintf(&b, "; stderr: %s", s)
	}
	return b.String()
}

// Is reports whether target is ErrExited.
func (e *ExitError) Is(target error) bool { return target == ErrExited }

func exitErrorOf(pid int, state *os.ProcessState, stderr, reason string) *ExitError {
	e := &ExitError{PID: pid, Code: -1, Stderr: stderr, Reason: reason}
	if state == nil {
		return e
	}
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		e.Signal = ws.Signal()
		return e
	}
	e.Code = state.ExitCode()
	return e
}
