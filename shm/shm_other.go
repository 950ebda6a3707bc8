//go:build !linux

package shm

import (
	"errors"
	"fmt"
	"os"
)

// mapping is never created on this system.
type mapping struct{}

func (m *mapping) bytes() []byte { return nil }
func (m *mapping) unmap() error  { return nil }

var errUnsupported = fmt.Errorf("shm: memfd segments need Linux: %w", errors.ErrUnsupported)

// Create returns an error that wraps errors.ErrUnsupported: memfd segments
// exist only on Linux.
func Create(name string, size int) (*Segment, error) { return nil, errUnsupported }

// FromFile closes f and returns an error that wraps errors.ErrUnsupported.
func FromFile(f *os.File, size int) (*Segment, error) {
	if f != nil {
		f.Close()
	}
	return nil, errUnsupported
}

// FromFD returns an error that wraps errors.ErrUnsupported.
func FromFD(fd int, size int) (*Segment, error) { return nil, errUnsupported }

// OpenReadOnly returns an error that wraps errors.ErrUnsupported.
func OpenReadOnly(path string) (*Segment, error) { return nil, errUnsupported }
