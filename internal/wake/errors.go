package wake

import (
	"errors"
	"os"
)

// Errors of the doorbell's lifetime.
var (
	// ErrClosed is returned by Ring and Wait on a closed doorbell, and by a
	// Wait that Close interrupted. It is os.ErrClosed.
	ErrClosed = os.ErrClosed

	// ErrConcurrentWait is returned by a Wait that started while another
	// Wait on the same doorbell was in progress: a doorbell has one waiter.
	ErrConcurrentWait = errors.New("wake: concurrent wait on one doorbell")
)

// Errors of building a doorbell.
var (
	// ErrNotDoorbell is returned by Open and FromFDs when the files do not
	// fit the kind: the wrong number, the wrong type of descriptor, or a
	// pipe's ends swapped.
	ErrNotDoorbell = errors.New("wake: files are not a doorbell of this kind")
)
