package worker

import (
	"errors"
	"fmt"
	"time"

	"github.com/shmpool/shmpool/internal/proto"
	"github.com/shmpool/shmpool/shm"
	"github.com/shmpool/shmpool/status"
)

// ErrNotSegment is wrapped by Inspect's error when the file is a sealed memfd
// but not a worker segment of this build: its header does not decode (wrong
// magic, another layout version, regions out of place).
var ErrNotSegment = errors.New("worker: not a worker segment")

// Inspect reads the status of the worker whose segment is at path, typically
// /proc/PID/fd/N of a process running shmpool workers (its parent or the worker
// itself): it maps the segment read-only, validates its header and returns a
// Snapshot of its status block as of now, without sending the worker anything
// and without writing to its memory. Tools such as `shmbench top` use it.
//
// A file that is not a sealed memfd fails as shm.OpenReadOnly does (the errors
// match shm.ErrNotMemfd, shm.ErrNotSealed, fs.ErrPermission...); a memfd whose
// header does not decode fails with an error wrapping ErrNotSegment.
// The status block is untrusted like all shared memory: the Snapshot is
// clamped to sane values (see status.Reader.Snapshot). Restarts is 0: only the
// owner of the worker slot knows it.
func Inspect(path string) (status.Snapshot, error) {
	seg, err := shm.OpenReadOnly(path)
	if err != nil {
		return status.Snapshot{}, fmt.Errorf("worker: inspect: %w", err)
	}
	defer seg.Close()
	mem := seg.Bytes()
	hdr, err := proto.Decode(mem)
	if err != nil {
		return status.Snapshot{}, fmt.Errorf("worker: inspect %s: %w: %w", path, ErrNotSegment, err)
	}
	r, err := status.NewReader(hdr.Status.Slice(mem))
	if err != nil {
		return status.Snapshot{}, fmt.Errorf("worker: inspect %s: %w: %w", path, ErrNotSegment, err)
	}
	// The Snapshot is a copy: it stays valid after the unmap below.
	return r.Snapshot(time.Now()), nil
}
