package wake

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// eventfdOne is the 8-byte host-order 1 an eventfd write adds to the counter.
var eventfdOne = func() (b [8]byte) {
	binary.NativeEndian.PutUint64(b[:], 1)
	return b
}()

// newFDs creates the descriptors of a new doorbell, and a duplicate of
// each to export. All are close-on-exec, so only children that are handed
// them hold them, and blocking: see setNonblock.
func newFDs(kind Kind) (fds, exports []int, err error) {
	switch kind {
	case Eventfd:
		fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
		if err != nil {
			return nil, nil, fmt.Errorf("eventfd: %w", err)
		}
		fds = []int{fd}
	case Pipe:
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
			return nil, nil, fmt.Errorf("pipe2: %w", err)
		}
		fds = p[:]
	default:
		return nil, nil, fmt.Errorf("unknown kind: %w", errors.ErrUnsupported)
	}
	for _, fd := range fds {
		dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			for _, fd := range append(fds, exports...) {
				unix.Close(fd)
			}
			return nil, nil, fmt.Errorf("dup: %w", err)
		}
		exports = append(exports, dup)
	}
	return fds, exports, nil
}

// setNonblock makes the descriptions of fds non-blocking, for the
// netpoller. New calls it only after wrapping the exported duplicates in
// os.Files: a descriptor that is blocking when wrapped stays out of the
// netpoller, and is never switched back to blocking mode by File.Fd.
func setNonblock(fds []int) error {
	for _, fd := range fds {
		if err := unix.SetNonblock(fd, true); err != nil {
			return fmt.Errorf("set non-blocking: %w", err)
		}
	}
	return nil
}

func closeFD(fd int) error {
	if err := unix.Close(fd); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return nil
}

// dupFDs checks that fds fit kind and returns non-blocking, close-on-exec
// duplicates of them.
func dupFDs(kind Kind, fds []int) ([]int, error) {
	if kind != Eventfd && kind != Pipe {
		return nil, fmt.Errorf("unknown kind: %w", errors.ErrUnsupported)
	}
	if len(fds) != kind.files() {
		return nil, fmt.Errorf("%d descriptors, want %d: %w", len(fds), kind.files(), ErrNotDoorbell)
	}
	own := make([]int, 0, len(fds))
	fail := func(err error) ([]int, error) {
		for _, fd := range own {
			unix.Close(fd)
		}
		return nil, err
	}
	for i, fd := range fds {
		if fd < 0 {
			return fail(fmt.Errorf("descriptor %d: %w", fd, ErrNotDoorbell))
		}
		dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return fail(fmt.Errorf("dup descriptor %d: %w", fd, err))
		}
		own = append(own, dup)
		if err := checkFD(kind, i, dup); err != nil {
			return fail(fmt.Errorf("descriptor %d: %w", fd, err))
		}
	}
	if err := setNonblock(own); err != nil {
		return fail(err)
	}
	return own, nil
}

// checkFD checks that fd is the i-th descriptor of a doorbell of kind.
func checkFD(kind Kind, i, fd int) error {
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return fmt.Errorf("fcntl: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("fstat: %w", err)
	}
	isFIFO := st.Mode&unix.S_IFMT == unix.S_IFIFO
	switch kind {
	case Eventfd:
		if isFIFO || flags&unix.O_ACCMODE != unix.O_RDWR {
			return fmt.Errorf("not an eventfd: %w", ErrNotDoorbell)
		}
		// Where /proc is mounted, it names the descriptor's type.
		if target, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd)); err == nil && target != "anon_inode:[eventfd]" {
			return fmt.Errorf("%s is not an eventfd: %w", target, ErrNotDoorbell)
		}
	case Pipe:
		want := unix.O_RDONLY
		if i == 1 {
			want = unix.O_WRONLY
		}
		if !isFIFO || flags&unix.O_ACCMODE != want {
			return fmt.Errorf("not the %s end of a pipe: %w", [2]string{"read", "write"}[i], ErrNotDoorbell)
		}
	}
	return nil
}

// ringFD writes one wake-up to fd without blocking.
func ringFD(kind Kind, fd int) error {
	b := eventfdOne[:]
	if kind == Pipe {
		b = b[:1]
	}
	for {
		_, err := unix.Write(fd, b)
		switch err {
		case nil:
			return nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			// The pipe is full or the counter is at its maximum: the
			// waiter has a wake-up pending already.
			return nil
		}
		return fmt.Errorf("write: %w", err)
	}
}

// drain is the read loop of Wait, run by the netpoller through RawConn.Read
// (which guarantees fd stays open while it runs). It returns false, asking to
// be called again once fd is readable, while no ring has been consumed; true
// once it has consumed every pending ring or hit an error.
func (d *Doorbell) drain(fd uintptr) bool {
	for {
		n, err := unix.Read(int(fd), d.buf[:])
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return d.got
		case err != nil:
			d.rerr = fmt.Errorf("read: %w", err)
			return true
		case n == 0:
			d.rerr = fmt.Errorf("read: %w", io.EOF) // every write end closed
			return true
		}
		d.got = true
		// One eventfd read takes the whole counter; a short pipe read
		// means the pipe is empty.
		if d.kind == Eventfd || n < len(d.buf) {
			return true
		}
	}
}

// osYield gives the CPU to another runnable thread on it, if there is one
// (sched_yield). It is a raw system call: it cannot block, and the spinning
// goroutine keeps its P, as it would have while spinning.
func osYield() { unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0) }
