package shm

import (
	"errors"
	"os"
)

// Errors from the constructors. Each is wrapped with the operation, the
// segment name or descriptor, and the offending value; test for them with
// errors.Is.
var (
	// ErrSize means a size was not acceptable: zero, negative, not a
	// multiple of the page size, larger than MaxSize, or (FromFD, FromFile)
	// not equal to the size of the file.
	ErrSize = errors.New("invalid segment size")

	// ErrNotMemfd means a descriptor or path given to FromFD, FromFile or
	// OpenReadOnly is not a memfd.
	ErrNotMemfd = errors.New("not a memfd")

	// ErrNotSealed means a memfd lacks one of the seals F_SEAL_SHRINK,
	// F_SEAL_GROW and F_SEAL_SEAL that make its size immutable.
	ErrNotSealed = errors.New("memfd not sealed")

	// ErrClosed is returned when FromFile is given an *os.File that is
	// already closed. It is os.ErrClosed.
	ErrClosed = os.ErrClosed
)
