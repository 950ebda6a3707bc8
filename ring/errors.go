package ring

import (
	"errors"
	"fmt"
	"io"
)

// Errors returned by the ring.
var (
	// ErrCorrupt matches every *CorruptError with errors.Is.
	ErrCorrupt = errors.New("ring: corrupt")
	// ErrTooLarge is returned when a record or message exceeds what the ring
	// or the consumer's limit allows.
	ErrTooLarge = errors.New("ring: message too large")
	// errConcurrent reports a Producer or Consumer used by two goroutines at
	// once, a programming error the guard catches before it corrupts indices.
	errConcurrent = errors.New("ring: concurrent use of a single-producer/single-consumer end")
)

// CorruptError reports that the ring's shared memory holds something the
// protocol forbids: an index out of range, a record that overruns the data
// area, a bad fragment sequence. The peer is buggy, crashed half-way or
// hostile. The ring end that returned it is unusable afterwards: every later
// call returns the same error.
type CorruptError struct {
	Offset uint64 // ring index (head or tail) where the violation was found
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("ring: corrupt at index %d: %s", e.Offset, e.Reason)
}

// Is reports whether target is ErrCorrupt.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// Unwrap returns io.ErrUnexpectedEOF: the stream of records ended in
// something that is not a record.
func (e *CorruptError) Unwrap() error { return io.ErrUnexpectedEOF }

func corrupt(off uint64, format string, args ...any) error {
	return &CorruptError{Offset: off, Reason: fmt.Sprintf(format, args...)}
}
