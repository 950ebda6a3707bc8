package shm

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// requiredSeals make a memfd's size immutable: no shrink (which would make
// later accesses SIGBUS), no growth, and no way to remove or add seals.
const requiredSeals = unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_SEAL

// maxNameLen is the longest name memfd_create accepts: NAME_MAX less the
// "memfd:" the kernel puts in front.
const maxNameLen = 255 - len("memfd:")

// Create makes a memfd segment of size bytes, named name (with NamePrefix
// added if missing), seals its size, and maps it read/write. Size must be a
// positive multiple of os.Getpagesize() no larger than MaxSize; otherwise
// the error wraps ErrSize and names the value. The memory is zeroed. The
// descriptor is close-on-exec; pass File to a child through
// exec.Cmd.ExtraFiles.
func Create(name string, size int) (*Segment, error) {
	full := memfdName(name)
	if err := checkSize(size); err != nil {
		return nil, fmt.Errorf("shm: create %q: %w", full, err)
	}
	if len(full) > maxNameLen || strings.IndexByte(full, 0) >= 0 {
		return nil, fmt.Errorf("shm: create %q: name must be at most %d bytes, without NUL: %w",
			full, maxNameLen, os.ErrInvalid)
	}
	fd, err := unix.MemfdCreate(full, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("shm: create %q: memfd_create: %w", full, err)
	}
	f := os.NewFile(uintptr(fd), "/memfd:"+full)
	fail := func(op string, err error) (*Segment, error) {
		f.Close()
		return nil, fmt.Errorf("shm: create %q (%d bytes): %s: %w", full, size, op, err)
	}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		return fail("ftruncate", err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, requiredSeals); err != nil {
		return fail("add seals", err)
	}
	m, err := mapFile(f, size, false)
	if err != nil {
		return fail("mmap", err)
	}
	return newSegment(full, size, false, f, m), nil
}

// FromFD maps the memfd segment at descriptor fd read/write, typically one a
// child inherited through exec.Cmd.ExtraFiles (entry i is descriptor 3+i).
// It is FromFile(os.NewFile(fd), size), except that an invalid descriptor is
// refused before it is wrapped. FromFD takes ownership of fd: the Segment
// closes it, and FromFD closes it on every error after that check.
func FromFD(fd int, size int) (*Segment, error) {
	var st unix.Stat_t
	if fd < 0 {
		return nil, fmt.Errorf("shm: map fd %d: %w", fd, unix.EBADF)
	}
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("shm: map fd %d: fstat: %w", fd, err)
	}
	return FromFile(os.NewFile(uintptr(fd), "fd "+strconv.Itoa(fd)), size)
}

// FromFile maps the memfd segment f read/write after checking that it is a
// memfd, that the seals F_SEAL_SHRINK, F_SEAL_GROW and F_SEAL_SEAL are all
// in force (else ErrNotSealed), and that its size is exactly size (else
// ErrSize). Anything else is refused with ErrNotMemfd. The errors name the
// descriptor and what was wrong. FromFile takes ownership of f: the Segment
// closes it, and FromFile closes it on error.
func FromFile(f *os.File, size int) (*Segment, error) {
	if f == nil {
		return nil, fmt.Errorf("shm: map nil file: %w", os.ErrInvalid)
	}
	rawFD := f.Fd()
	if rawFD == ^uintptr(0) {
		return nil, fmt.Errorf("shm: map %q: %w", f.Name(), ErrClosed)
	}
	fd := int(rawFD)
	desc := "fd " + strconv.Itoa(fd)
	if f.Name() != desc {
		desc += " (" + f.Name() + ")"
	}
	fail := func(err error) (*Segment, error) {
		f.Close()
		return nil, fmt.Errorf("shm: map %s: %w", desc, err)
	}
	if err := checkSize(size); err != nil {
		return fail(err)
	}
	name, _, err := inspect(fd, int64(size))
	if err != nil {
		return fail(err)
	}
	m, err := mapFile(f, size, false)
	if err != nil {
		return fail(fmt.Errorf("mmap %d bytes: %w", size, err))
	}
	return newSegment(name, size, false, f, m), nil
}

// OpenReadOnly opens path, which must name a sealed memfd, and maps it
// read-only over its whole size. It is meant for inspectors that look at
// another process's segments through /proc/PID/fd/N (which needs the same
// permission as ptrace-reading that process). The Segment owns the new
// descriptor; the other process's descriptor is untouched. Writing to its
// Bytes faults.
func OpenReadOnly(path string) (*Segment, error) {
	// O_NONBLOCK: opening a FIFO must not wait for a writer. O_NOCTTY: a
	// terminal must not become our controlling terminal.
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("shm: open read-only: %w", err)
	}
	fail := func(err error) (*Segment, error) {
		f.Close()
		return nil, fmt.Errorf("shm: open read-only %q: %w", path, err)
	}
	name, size, err := inspect(int(f.Fd()), -1)
	if err != nil {
		return fail(err)
	}
	if size > MaxSize {
		return fail(fmt.Errorf("%w: file has %d bytes, more than the maximum of %d", ErrSize, size, int64(MaxSize)))
	}
	if err := checkSize(int(size)); err != nil {
		return fail(err)
	}
	m, err := mapFile(f, int(size), true)
	if err != nil {
		return fail(fmt.Errorf("mmap %d bytes: %w", size, err))
	}
	return newSegment(name, int(size), true, f, m), nil
}

// inspect checks that fd is a memfd carrying requiredSeals and, if want is
// not negative, that its size is want. It returns the memfd name (empty if
// /proc is not mounted) and the size.
func inspect(fd int, want int64) (name string, size int64, err error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return "", 0, fmt.Errorf("fstat: %w", err)
	}
	if kind := fileKind(st.Mode); kind != "" {
		return "", 0, fmt.Errorf("%w: it is %s", ErrNotMemfd, kind)
	}
	// The link names a memfd "/memfd:NAME (deleted)"; without /proc the
	// seals check below still refuses ordinary files on most file systems.
	if target, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd)); err == nil {
		var ok bool
		if name, ok = strings.CutPrefix(target, "/memfd:"); !ok {
			return "", 0, fmt.Errorf("%w: it is %s", ErrNotMemfd, target)
		}
		name = strings.TrimSuffix(name, " (deleted)")
	}
	seals, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
	if errors.Is(err, unix.EINVAL) {
		return "", 0, fmt.Errorf("%w: its file system does not support seals", ErrNotMemfd)
	}
	if err != nil {
		return "", 0, fmt.Errorf("get seals: %w", err)
	}
	if missing := requiredSeals &^ seals; missing != 0 {
		return "", 0, fmt.Errorf("%w: missing %s (has %s)", ErrNotSealed, sealNames(missing), sealNames(seals))
	}
	if want >= 0 && st.Size != want {
		return "", 0, fmt.Errorf("%w: file has %d bytes, want %d", ErrSize, st.Size, want)
	}
	return name, st.Size, nil
}

// fileKind describes a file that is not a regular file, or returns "".
func fileKind(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return ""
	case unix.S_IFIFO:
		return "a pipe"
	case unix.S_IFSOCK:
		return "a socket"
	case unix.S_IFCHR:
		return "a character device"
	case unix.S_IFBLK:
		return "a block device"
	case unix.S_IFDIR:
		return "a directory"
	default:
		return fmt.Sprintf("a file of mode %#o", mode&unix.S_IFMT)
	}
}

// sealNames spells out a seal mask, such as "F_SEAL_SHRINK|F_SEAL_GROW".
func sealNames(seals int) string {
	names := []struct {
		bit  int
		name string
	}{
		{unix.F_SEAL_SEAL, "F_SEAL_SEAL"},
		{unix.F_SEAL_SHRINK, "F_SEAL_SHRINK"},
		{unix.F_SEAL_GROW, "F_SEAL_GROW"},
		{unix.F_SEAL_WRITE, "F_SEAL_WRITE"},
		{unix.F_SEAL_FUTURE_WRITE, "F_SEAL_FUTURE_WRITE"},
	}
	var out []string
	for _, n := range names {
		if seals&n.bit != 0 {
			out = append(out, n.name)
			seals &^= n.bit
		}
	}
	if seals != 0 {
		out = append(out, fmt.Sprintf("%#x", seals))
	}
	if len(out) == 0 {
		return "no seals"
	}
	return strings.Join(out, "|")
}
