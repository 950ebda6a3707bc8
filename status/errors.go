package status

import "errors"

// Errors returned when attaching a Writer or Reader to a block. The block is
// only checked, never trusted beyond this: any contents are readable.
var (
	// ErrTooSmall means the block is shorter than Size.
	ErrTooSmall = errors.New("status: block too small")
	// ErrMisaligned means the block's first byte is not on an Alignment
	// boundary, so its words could not be accessed atomically.
	ErrMisaligned = errors.New("status: block misaligned")
)
