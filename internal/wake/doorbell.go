package wake

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Kind selects how a doorbell is built.
type Kind uint8

const (
	// Eventfd is one eventfd(2) counter, shared by both sides: the default.
	Eventfd Kind = iota
	// Pipe is a pipe pair; each ring writes one byte. It is the fallback
	// where eventfd is not wanted, and costs two descriptors per side.
	Pipe
)

// String returns "eventfd" or "pipe".
func (k Kind) String() string {
	switch k {
	case Eventfd:
		return "eventfd"
	case Pipe:
		return "pipe"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// files returns how many files a doorbell of this kind has.
func (k Kind) files() int {
	if k == Pipe {
		return 2
	}
	return 1
}

// A Doorbell carries wake-ups in one direction between two processes (or
// goroutines). Ring and Close are safe for concurrent use by multiple
// goroutines; Wait admits one waiter at a time.
//
// Only the waiting side's descriptor enters the netpoller, and only at its
// first Wait: a descriptor in a process's epoll set wakes that process's
// netpoller thread on every ring, which on the ringing side is a wasted
// context switch per wake-up.
type Doorbell struct {
	kind    Kind
	exports []*os.File // handed out by Files, never in the netpoller; nil after Open

	// mu makes Ring and Wait's first-time setup exclude Close, so that no
	// one uses a descriptor number that Close has released (and the kernel
	// may have reused). Ring holds it shared; Close and the setup hold it
	// exclusively. It guards fds and r.
	mu      sync.RWMutex
	fds     []int    // own descriptors: [eventfd] or [read end, write end]
	r       *os.File // fds[0] wrapped for the netpoller by the first Wait; it then owns fds[0]
	rc      syscall.RawConn
	pollErr error       // why r cannot be waited on, if it cannot; sticky
	closed  atomic.Bool // set under mu by Close

	waiting atomic.Bool // a Wait is in progress; the one-waiter guard

	// State of one Wait's read loop, owned by the single waiter.
	readFn func(fd uintptr) bool // d.drain, bound once so Wait does not allocate
	got    bool                  // the read loop consumed at least one ring
	rerr   error                 // the read loop's error, if any
	buf    [64]byte
}

// New creates a doorbell of the given kind in this process. Pass Files to the
// other process and rebuild it there with Open or FromFDs.
func New(kind Kind) (*Doorbell, error) {
	fds, exports, err := newFDs(kind)
	if err != nil {
		return nil, fmt.Errorf("new %s doorbell: %w", kind, err)
	}
	d := newDoorbell(kind, fds)
	d.exports = make([]*os.File, len(exports))
	for i, fd := range exports {
		// Still blocking here, so os keeps them out of the netpoller and
		// File.Fd leaves the shared description alone.
		d.exports[i] = os.NewFile(uintptr(fd), fmt.Sprintf("%s-doorbell-%d", kind, i))
	}
	if err := setNonblock(fds); err != nil {
		d.Close()
		return nil, fmt.Errorf("new %s doorbell: %w", kind, err)
	}
	return d, nil
}

// Open rebuilds a doorbell from the files another process handed over (one
// for Eventfd, the read and the write end for Pipe, in the order Files
// returned them). It checks that the files fit the kind, duplicates their
// descriptors in non-blocking mode, and closes the files it was given, on
// success or failure.
func Open(kind Kind, files ...*os.File) (*Doorbell, error) {
	fds := make([]int, len(files))
	var err error
	for i, f := range files {
		fds[i] = -1
		if f == nil {
			err = fmt.Errorf("file %d is nil: %w", i, ErrNotDoorbell)
			continue
		}
		rc, cerr := f.SyscallConn()
		if cerr == nil {
			cerr = rc.Control(func(fd uintptr) { fds[i] = int(fd) })
		}
		if cerr != nil {
			err = fmt.Errorf("file %s: %w", f.Name(), cerr)
		}
	}
	var own []int
	if err == nil {
		own, err = dupFDs(kind, fds) // the files keep fds open meanwhile
	}
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open %s doorbell: %w", kind, err)
	}
	return newDoorbell(kind, own), nil
}

// FromFDs is Open for inherited descriptor numbers, such as 3+i for entry i
// of exec.Cmd.ExtraFiles. It takes ownership of the descriptors: it closes
// them, on success or failure, keeping duplicates.
func FromFDs(kind Kind, fds ...int) (*Doorbell, error) {
	own, err := dupFDs(kind, fds)
	for _, fd := range fds {
		if fd >= 0 {
			closeFD(fd)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open %s doorbell: %w", kind, err)
	}
	return newDoorbell(kind, own), nil
}

func newDoorbell(kind Kind, fds []int) *Doorbell {
	d := &Doorbell{kind: kind, fds: fds}
	d.readFn = d.drain
	return d
}

// poll wraps the read descriptor for the netpoller, once, on the first Wait.
func (d *Doorbell) poll() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed.Load() {
		return ErrClosed
	}
	r := os.NewFile(uintptr(d.fds[0]), fmt.Sprintf("%s-doorbell", d.kind))
	rc, err := r.SyscallConn()
	if err == nil {
		// A file outside the netpoller takes no deadline, so a Wait on it
		// could not be cancelled: refuse it rather than hang.
		err = r.SetReadDeadline(time.Time{})
	}
	d.r, d.rc, d.pollErr = r, rc, err // r owns fds[0] from here on, even on error
	return nil
}

// Kind reports how the doorbell is built.
func (d *Doorbell) Kind() Kind { return d.kind }

// Files returns the files to hand to the other process, in the order Open
// expects them: with exec.Cmd, append them to ExtraFiles, where entry i
// becomes descriptor 3+i in the child. They are duplicates of the
// doorbell's own descriptors, kept out of this process's netpoller, and
// they belong to the doorbell: do not close them. A doorbell made by Open
// has none.
func (d *Doorbell) Files() []*os.File {
	return append([]*os.File(nil), d.exports...)
}

// Ring wakes the waiter, or makes its next Wait return at once. Rings that
// arrive before the waiter drains them coalesce into one wake-up; a full pipe
// or a saturated eventfd counter means a wake-up is already pending, which is
// not an error. Ring never blocks.
func (d *Doorbell) Ring() error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed.Load() {
		return fmt.Errorf("ring %s doorbell: %w", d.kind, ErrClosed)
	}
	if err := ringFD(d.kind, d.fds[len(d.fds)-1]); err != nil {
		return fmt.Errorf("ring %s doorbell: %w", d.kind, err)
	}
	return nil
}

// Wait blocks until the doorbell has been rung at least once since the last
// Wait drained it, then drains every pending ring. It returns ctx.Err() once
// ctx is done (a pending ring then stays pending), and an error wrapping
// ErrClosed if the doorbell is or becomes closed. Wake-ups may be spurious:
// re-check the condition after Wait returns.
func (d *Doorbell) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !d.waiting.CompareAndSwap(false, true) {
		return fmt.Errorf("wait on %s doorbell: %w", d.kind, ErrConcurrentWait)
	}
	defer d.waiting.Store(false)
	if d.r == nil { // only the waiter sets it
		if err := d.poll(); err != nil {
			return fmt.Errorf("wait on %s doorbell: %w", d.kind, err)
		}
	}
	if d.pollErr != nil {
		return fmt.Errorf("wait on %s doorbell: %w", d.kind, d.pollErr)
	}

	var stop func() bool
	var fired chan struct{}
	if ctx.Done() != nil {
		// A deadline in the past makes the netpoller give up the read at
		// once. The func runs on its own goroutine when ctx is done.
		fired = make(chan struct{})
		stop = context.AfterFunc(ctx, func() {
			d.r.SetReadDeadline(time.Unix(1, 0))
			close(fired)
		})
	}
	d.got, d.rerr = false, nil
	err := d.rc.Read(d.readFn)
	if stop != nil && !stop() {
		// The func has started: let it finish before clearing its
		// deadline, or it could poison the next Wait.
		<-fired
		d.r.SetReadDeadline(time.Time{})
	}
	if err == nil {
		err = d.rerr
	}
	switch {
	case err == nil:
		return nil
	case d.closed.Load():
		return fmt.Errorf("wait on %s doorbell: %w", d.kind, ErrClosed)
	case errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() != nil:
		return ctx.Err()
	}
	return fmt.Errorf("wait on %s doorbell: %w", d.kind, err)
}

// Close releases the doorbell's descriptors in this process, and the files
// Files returned. A Wait in progress returns an error wrapping ErrClosed;
// later Rings and Waits fail the same way. Close may be called more than
// once; only the first call does anything.
func (d *Doorbell) Close() error {
	d.mu.Lock()
	if d.closed.Load() {
		d.mu.Unlock()
		return nil
	}
	d.closed.Store(true)
	d.mu.Unlock()
	var errs []error
	for i, fd := range d.fds {
		var err error
		if i == 0 && d.r != nil {
			err = d.r.Close() // wakes a Wait in progress, and waits for it to leave
		} else {
			err = closeFD(fd)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, f := range d.exports {
		if err := f.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close %s doorbell: %w", d.kind, err)
	}
	return nil
}
