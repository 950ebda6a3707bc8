package proto

import (
	"errors"
	"fmt"
)

// Errors returned by this package.
var (
	// ErrInvalid is wrapped by every error about bytes that break the format:
	// a segment header that fails validation, a control message that does not
	// decode, and sizes Plan cannot lay out. The error text names the field.
	ErrInvalid = errors.New("proto: invalid")

	// ErrVersion is matched, with errors.Is, by every *VersionError: the
	// segment was laid out by a build with a different LayoutVersion. It is
	// kept apart from ErrInvalid because it points at a deployment mistake
	// (parent and worker are different binaries), not at corruption.
	ErrVersion = errors.New("proto: layout version mismatch")
)

// VersionError reports a segment header whose layout version is not
// LayoutVersion. Nothing after the version word is read: its meaning depends
// on the version.
type VersionError struct {
	Got  uint32 // the version in the segment
	Want uint32 // LayoutVersion of this binary
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("proto: segment layout version %d, this binary reads version %d", e.Got, e.Want)
}

// Unwrap returns ErrVersion.
func (e *VersionError) Unwrap() error { return ErrVersion }

// invalidf returns an error wrapping ErrInvalid: "proto: invalid: <what>".
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}
