//go:build !linux

package wake

import (
	"errors"
	"fmt"
)

var errNotLinux = fmt.Errorf("doorbells need Linux: %w", errors.ErrUnsupported)

func newFDs(Kind) (fds, exports []int, err error) { return nil, nil, errNotLinux }

func setNonblock([]int) error { return errNotLinux }

func closeFD(int) error { return errNotLinux }

func dupFDs(Kind, []int) ([]int, error) { return nil, errNotLinux }

func ringFD(Kind, int) error { return errNotLinux }

func (d *Doorbell) drain(uintptr) bool {
	d.rerr = errNotLinux
	return true
}

// osYield does nothing where there is no doorbell to spin before.
func osYield() {}
