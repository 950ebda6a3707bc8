package shm

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

// MaxSize is the largest segment size the constructors accept: 1 TiB, or
// the largest int on a system where that is smaller.
const MaxSize = min(1<<40, math.MaxInt)

// NamePrefix starts the memfd name of every segment Create makes, so that
// segments can be told apart from other memfds in /proc/PID/maps.
const NamePrefix = "shmpool:"

// Segment is one mapping of a sealed memfd. Its methods are safe for
// concurrent use by multiple goroutines.
type Segment struct {
	name     string // memfd name, with NamePrefix for segments from Create
	size     int
	readOnly bool

	mu      sync.Mutex                // serialises Close, so a second Close waits for the first
	res     atomic.Pointer[resources] // nil once closed
	cleanup runtime.Cleanup           // releases res if the Segment is collected unclosed
}

// resources is what a Segment must release: the descriptor and the mapping.
// The GC cleanup holds a pointer to it, never to the Segment, so that the
// Segment can become unreachable.
type resources struct {
	file *os.File
	m    mapping // the exact value mmap returned; munmap takes only that
	data []byte  // m's bytes, handed out by Bytes
}

func (r *resources) release(name string) error {
	var errs []error
	if err := r.m.unmap(); err != nil {
		errs = append(errs, fmt.Errorf("shm: unmap %q: %w", name, err))
	}
	if err := r.file.Close(); err != nil {
		errs = append(errs, fmt.Errorf("shm: close %q: %w", name, err))
	}
	return errors.Join(errs...)
}

// newSegment wraps a mapped file and registers the GC safety net.
func newSegment(name string, size int, readOnly bool, f *os.File, m mapping) *Segment {
	s := &Segment{name: name, size: size, readOnly: readOnly}
	r := &resources{file: f, m: m, data: m.bytes()}
	s.res.Store(r)
	s.cleanup = runtime.AddCleanup(s, func(r *resources) { _ = r.release(name) }, r)
	return s
}

// Bytes returns the whole mapping, Size bytes long. The slice aliases shared
// memory that other processes may read and write at any time, and it is
// valid only until Close; Bytes returns nil after Close. Writing to the slice
// of a read-only segment (OpenReadOnly) faults.
func (s *Segment) Bytes() []byte {
	if r := s.res.Load(); r != nil {
		return r.data
	}
	return nil
}

// Size returns the size of the segment in bytes, a multiple of the page
// size. It stays valid after Close.
func (s *Segment) Size() int { return s.size }

// Name returns the memfd name of the segment, such as "shmpool:worker-1".
// For a segment from FromFD, FromFile or OpenReadOnly it is read from
// /proc/self/fd and is empty if /proc is not mounted.
func (s *Segment) Name() string { return s.name }

// ReadOnly reports whether the segment is mapped without write permission
// (OpenReadOnly).
func (s *Segment) ReadOnly() bool { return s.readOnly }

// File returns the segment's memfd, for exec.Cmd.ExtraFiles. The Segment
// keeps ownership: do not close the file, and do not truncate it. File
// returns nil after Close.
func (s *Segment) File() *os.File {
	if r := s.res.Load(); r != nil {
		return r.file
	}
	return nil
}

// String describes the segment for logs.
func (s *Segment) String() string {
	mode := "rw"
	if s.readOnly {
		mode = "ro"
	}
	return fmt.Sprintf("shm.Segment(%q, %d bytes, %s)", s.name, s.size, mode)
}

// Close unmaps the segment and closes its descriptor. It is safe to call
// more than once and from several goroutines: the first call releases the
// resources and returns any error from munmap or close, joined; later calls
// wait for the first to finish and return nil. The memory stays allocated
// for as long as another process holds the memfd or maps it.
func (s *Segment) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.res.Swap(nil)
	if r == nil {
		return nil
	}
	s.cleanup.Stop()
	return r.release(s.name)
}

// checkSize validates a requested segment size against the page size and
// MaxSize. The error names the value.
func checkSize(size int) error {
	page := os.Getpagesize()
	switch {
	case size <= 0:
		return fmt.Errorf("%w: %d is not positive", ErrSize, size)
	case size > MaxSize:
		return fmt.Errorf("%w: %d exceeds the maximum of %d", ErrSize, size, MaxSize)
	case size%page != 0:
		return fmt.Errorf("%w: %d is not a multiple of the page size %d", ErrSize, size, page)
	}
	return nil
}

// memfdName returns name with NamePrefix, once.
func memfdName(name string) string {
	if strings.HasPrefix(name, NamePrefix) {
		return name
	}
	return NamePrefix + name
}
