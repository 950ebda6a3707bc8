package chaos_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/shmpool/shmpool/internal/proto"
	"github.com/shmpool/shmpool/pool"
	"github.com/shmpool/shmpool/ring"
	"github.com/shmpool/shmpool/shm"
	"github.com/shmpool/shmpool/status"
	"github.com/shmpool/shmpool/worker"
)

// fnSeals tries, from inside a worker, to resize and reseal its own
// segment, and reports what the kernel said: "grow=ERR shrink=ERR
// addseal=ERR seals=0xN".
const fnSeals = "chaos.isolation.seals"

func init() {
	worker.Register(fnSeals, func(context.Context, []byte) ([]byte, error) {
		fd, err := findSegmentFD()
		if err != nil {
			return nil, err
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return nil, err
		}
		errName := func(err error) string {
			var errno syscall.Errno
			if errors.As(err, &errno) {
				return unix.ErrnoName(errno)
			}
			return fmt.Sprint(err)
		}
		grow := unix.Ftruncate(fd, st.Size*2)
		shrink := unix.Ftruncate(fd, st.Size/2)
		_, addSeal := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_WRITE)
		seals, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
		if err != nil {
			return nil, fmt.Errorf("F_GET_SEALS: %w", err)
		}
		var after unix.Stat_t
		if err := unix.Fstat(fd, &after); err != nil {
			return nil, err
		}
		return fmt.Appendf(nil, "grow=%s shrink=%s addseal=%s seals=%#x size=%d->%d",
			errName(grow), errName(shrink), errName(addSeal), seals, st.Size, after.Size), nil
	})
}

// memfdsOf returns the inodes of the shmpool memfds process pid holds open
// (fds) and maps (maps), from /proc/PID/fd and /proc/PID/maps.
func memfdsOf(t *testing.T, pid string) (fds, maps []uint64) {
	t.Helper()
	dir := "/proc/" + pid + "/fd"
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil || !strings.Contains(target, "memfd:"+shm.NamePrefix) {
			continue
		}
		var st unix.Stat_t
		if assert.NoError(t, unix.Stat(filepath.Join(dir, e.Name()), &st)) {
			fds = append(fds, st.Ino)
		}
	}
	b, err := os.ReadFile("/proc/" + pid + "/maps")
	require.NoError(t, err)
	for line := range strings.Lines(string(b)) {
		// address perms offset dev inode path
		f := strings.Fields(line)
		if len(f) < 6 || !strings.Contains(line, "/memfd:"+shm.NamePrefix) {
			continue
		}
		ino, err := strconv.ParseUint(f[4], 10, 64)
		if assert.NoError(t, err, "maps line %q", line) {
			maps = append(maps, ino)
		}
	}
	return fds, maps
}

// TestIsolationOwnSegmentOnly checks, in a pool of four workers, that each
// worker holds exactly one shmpool memfd, open once and mapped once, that
// it is one the parent created, and that no two workers share one: worker
// i never holds worker j's memory.
func TestIsolationOwnSegmentOnly(t *testing.T) {
	const n = 4
	p, err := pool.New(context.Background(), pool.Config{Workers: n, Worker: worker.Config{Func: fnLeakEcho, RingSize: 64 << 10}})
	require.NoError(t, err)
	defer p.Terminate()
	// Work on every worker, so that all are started and attached.
	_, err = p.Map(context.Background(), [][]byte{[]byte("a"), []byte("b"), []byte("c"), []byte("d")})
	require.NoError(t, err)
	var pids []int
	for deadline := time.Now().Add(10 * time.Second); ; {
		pids = pids[:0]
		for _, w := range p.Status().Workers {
			if w.PID != 0 {
				pids = append(pids, w.PID)
			}
		}
		if len(pids) == n {
			break
		}
		require.False(t, time.Now().After(deadline), "only %d of %d workers started", len(pids), n)
		time.Sleep(5 * time.Millisecond)
	}

	_, parentMaps := memfdsOf(t, "self")
	seen := map[uint64]int{}
	for _, pid := range pids {
		fds, maps := memfdsOf(t, strconv.Itoa(pid))
		if !assert.Len(t, fds, 1, "worker %d: shmpool memfds open", pid) || !assert.Len(t, maps, 1, "worker %d: shmpool memfd mappings", pid) {
			continue
		}
		assert.Equal(t, fds[0], maps[0], "worker %d maps the memfd it holds", pid)
		assert.Contains(t, parentMaps, fds[0], "worker %d: the segment is one the parent created", pid)
		if other, ok := seen[fds[0]]; ok {
			assert.Fail(t, "two workers share a segment", "workers %d and %d hold memfd inode %d", other, pid, fds[0])
		}
		seen[fds[0]] = pid
	}
	t.Logf("workers %v: one memfd each, inodes %v; the parent maps %d", pids, seen, len(parentMaps))
	require.NoError(t, p.Close())
}

// TestIsolationSealed runs, inside a worker, ftruncate on its own memfd
// (larger and smaller) and F_ADD_SEALS: each fails with EPERM because of the
// seals, F_GET_SEALS shows SHRINK|GROW|SEAL, and the size is unchanged.
func TestIsolationSealed(t *testing.T) {
	h, err := worker.Start(context.Background(), worker.Config{Func: fnSeals, RingSize: 64 << 10})
	require.NoError(t, err)
	defer h.Terminate()
	out, err := h.Execute(context.Background(), nil)
	require.NoError(t, err)
	t.Logf("worker %d: %s", h.PID(), out)
	f := map[string]string{}
	for _, kv := range strings.Fields(string(out)) {
		k, v, _ := strings.Cut(kv, "=")
		f[k] = v
	}
	assert.Equal(t, "EPERM", f["grow"], "ftruncate to grow")
	assert.Equal(t, "EPERM", f["shrink"], "ftruncate to shrink")
	assert.Equal(t, "EPERM", f["addseal"], "F_ADD_SEALS F_SEAL_WRITE")
	seals, err := strconv.ParseUint(f["seals"], 0, 32)
	require.NoError(t, err)
	want := uint64(unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_SEAL)
	assert.Equal(t, want, seals&want, "F_GET_SEALS %#x lacks SHRINK|GROW|SEAL", seals)
	before, after, _ := strings.Cut(f["size"], "->")
	assert.Equal(t, before, after, "the size changed")
	out, err = h.Execute(context.Background(), nil)
	assert.NoError(t, err, "the worker still works")
	assert.NotEmpty(t, out)
	require.NoError(t, h.Close())
}

// TestIsolationNothingInDevShm compares /dev/shm before, during and after
// a pool run: segments are memfds, never files there.
func TestIsolationNothingInDevShm(t *testing.T) {
	list := func() []string {
		entries, err := os.ReadDir("/dev/shm")
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		require.NoError(t, err)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return names
	}
	before := list()
	p, err := pool.New(context.Background(), pool.Config{Workers: 2, Worker: worker.Config{Func: fnLeakEcho}})
	require.NoError(t, err)
	defer p.Terminate()
	ins := [][]byte{[]byte("x"), bytes.Repeat([]byte("y"), 5<<20)}
	outs, err := p.Map(context.Background(), ins)
	require.NoError(t, err)
	assert.Equal(t, ins, outs)
	during := list()
	require.NoError(t, p.Close())
	after := list()
	// Other programs on the machine may come and go in /dev/shm: what
	// matters is that nothing new has our name or appeared during the run
	// and stayed.
	for _, name := range append(slices.Clone(during), after...) {
		assert.NotContains(t, name, "shmpool", "a segment file in /dev/shm")
	}
	assert.Subset(t, before, after, "/dev/shm lost entries (%v -> %v)", before, after)
	for _, name := range after {
		if !slices.Contains(before, name) && slices.Contains(during, name) {
			assert.Fail(t, "a file appeared in /dev/shm during the pool run and stayed", name)
		}
	}
	t.Logf("/dev/shm: %d entries before, %d during, %d after", len(before), len(during), len(after))
}

// TestIsolationStrayWorker starts the test binary with the worker
// environment but without the parent's handshake: no descriptors, a bad
// cookie, a wrong protocol, or a real segment made for another worker (its
// cookie differs). Each must exit 1 at once with a message that says what
// went wrong and that workers are not run by hand. worker.Main takes a
// process for a worker when SHMPOOL_WORKER_COOKIE is set.
func TestIsolationStrayWorker(t *testing.T) {
	version := strconv.FormatUint(uint64(proto.ProtocolVersion), 10)
	seg := strayWorkerSegment(t, 0x1111)
	size := strconv.Itoa(seg.Size())
	plain, err := os.Create(filepath.Join(t.TempDir(), "segment"))
	require.NoError(t, err)
	defer plain.Close()
	require.NoError(t, plain.Truncate(int64(seg.Size())))
	cases := []struct {
		name  string
		env   []string
		fd3   *os.File // passed as descriptor 3
		cause string
	}{
		{"cookie only", []string{"SHMPOOL_WORKER_COOKIE=abc"}, nil, "protocol"},
		{"cookie not hex", []string{"SHMPOOL_WORKER_COOKIE=zz", "SHMPOOL_WORKER_PROTOCOL=" + version}, nil, "bad cookie"},
		{"empty cookie", []string{"SHMPOOL_WORKER_COOKIE="}, nil, "bad cookie"},
		{"wrong protocol", []string{"SHMPOOL_WORKER_COOKIE=abc", "SHMPOOL_WORKER_PROTOCOL=999"}, nil, "protocol"},
		{"no descriptors", []string{"SHMPOOL_WORKER_COOKIE=abc", "SHMPOOL_WORKER_PROTOCOL=" + version,
			"SHMPOOL_WORKER_SEGMENT_SIZE=" + size, "SHMPOOL_WORKER_SPIN_NS=0"}, nil, "fd 3"},
		{"descriptor 3 is a plain file", []string{"SHMPOOL_WORKER_COOKIE=abc", "SHMPOOL_WORKER_PROTOCOL=" + version,
			"SHMPOOL_WORKER_SEGMENT_SIZE=" + size, "SHMPOOL_WORKER_SPIN_NS=0"}, plain, "shm: "},
		{"segment of another worker", []string{"SHMPOOL_WORKER_COOKIE=2222", "SHMPOOL_WORKER_PROTOCOL=" + version,
			"SHMPOOL_WORKER_SEGMENT_SIZE=" + size, "SHMPOOL_WORKER_SPIN_NS=0"}, seg.File(), "cookie mismatch"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			exe, err := os.Executable()
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, exe, "-test.run=^$")
			cmd.Env = append(strayEnv(), c.env...)
			if c.fd3 != nil {
				cmd.ExtraFiles = []*os.File{c.fd3}
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			start := time.Now()
			err = cmd.Run()
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee, "stderr: %s", stderr.String())
			assert.Equal(t, 1, ee.ExitCode(), "stderr: %s", stderr.String())
			msg := stderr.String()
			assert.Contains(t, msg, "shmpool worker: ")
			assert.Contains(t, msg, c.cause)
			assert.Contains(t, msg, "not meant to be run by hand")
			assert.NotContains(t, msg, "PASS", "the tests ran")
			assert.NotContains(t, msg, "goroutine ", "a panic")
			t.Logf("exit 1 after %v: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(strings.SplitN(msg, "\n", 2)[0]))
		})
	}
}

// strayEnv is this process's environment without any worker variables.
func strayEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SHMPOOL_WORKER_") {
			env = append(env, kv)
		}
	}
	return env
}

// strayWorkerSegment makes a well-formed worker segment with the given
// cookie, closed at the end of the test.
func strayWorkerSegment(t *testing.T, cookie uint64) *shm.Segment {
	t.Helper()
	hdr, err := proto.Plan(status.Size, ring.RegionSize(64<<10))
	require.NoError(t, err)
	hdr.Cookie, hdr.MaxPayload = cookie, 1<<20
	seg, err := shm.Create("stray", int(hdr.SegmentSize))
	require.NoError(t, err)
	t.Cleanup(func() { seg.Close() })
	require.NoError(t, hdr.Encode(seg.Bytes()))
	return seg
}
