//go:build linux

package shm_test

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/shmpool/shmpool/internal/testutil"
	"github.com/shmpool/shmpool/shm"
)

var helpers = map[string]func(){
	"shm-child":  shmChild,
	"shm-enomem": shmENOMEM,
}

func TestMain(m *testing.M) { testutil.Main(m, helpers) }

var page = os.Getpagesize()

// create makes a segment that is closed when the test ends.
func create(tb testing.TB, name string, size int) *shm.Segment {
	tb.Helper()
	seg, err := shm.Create(name, size)
	require.NoError(tb, err)
	tb.Cleanup(func() { assert.NoError(tb, seg.Close()) })
	return seg
}

// dupFD returns a new descriptor for the segment's memfd.
func dupFD(tb testing.TB, seg *shm.Segment) int {
	tb.Helper()
	fd, err := unix.Dup(int(seg.File().Fd()))
	require.NoError(tb, err)
	return fd
}

// fill writes a pattern derived from seed over b.
func fill(b []byte, seed byte) {
	for i := range b {
		b[i] = seed + byte(i%251)
	}
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	fill(b, seed)
	return b
}

func TestCreate(t *testing.T) {
	seg := create(t, "create-test", 4*page)
	assert.Equal(t, 4*page, seg.Size())
	assert.Len(t, seg.Bytes(), 4*page)
	assert.Equal(t, "shmpool:create-test", seg.Name())
	assert.False(t, seg.ReadOnly())
	assert.Equal(t, make([]byte, 4*page), seg.Bytes(), "a new segment is zeroed")

	maps, err := os.ReadFile("/proc/self/maps")
	require.NoError(t, err)
	assert.Contains(t, string(maps), "/memfd:shmpool:create-test")

	t.Run("a name that already has the prefix keeps it once", func(t *testing.T) {
		seg := create(t, "shmpool:prefixed", page)
		assert.Equal(t, "shmpool:prefixed", seg.Name())
	})
}

func TestSealsAreInForce(t *testing.T) {
	seg := create(t, "sealed", 2*page)
	fd := int(seg.File().Fd())

	seals, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
	require.NoError(t, err)
	assert.Equal(t, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_SEAL, seals)

	tests := []struct {
		name string
		op   func() error
	}{
		{"growing the file fails", func() error { return unix.Ftruncate(fd, int64(4*page)) }},
		{"shrinking the file fails", func() error { return unix.Ftruncate(fd, int64(page)) }},
		{"truncating to zero fails", func() error { return unix.Ftruncate(fd, 0) }},
		{"adding a write seal fails", func() error {
			_, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_WRITE)
			return err
		}},
		{"adding no seal at all fails", func() error {
			_, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, 0)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.ErrorIs(t, tt.op(), unix.EPERM)
		})
	}
	var st unix.Stat_t
	require.NoError(t, unix.Fstat(fd, &st))
	assert.Equal(t, int64(2*page), st.Size, "the size is unchanged")
}

func TestFromFDSharesMemory(t *testing.T) {
	seg := create(t, "shared", 2*page)
	other, err := shm.FromFD(dupFD(t, seg), 2*page)
	require.NoError(t, err)
	defer func() { assert.NoError(t, other.Close()) }()

	assert.Equal(t, seg.Name(), other.Name())
	fill(seg.Bytes(), 1)
	assert.Equal(t, pattern(2*page, 1), other.Bytes())
	fill(other.Bytes()[page:], 9)
	assert.Equal(t, pattern(page, 9), seg.Bytes()[page:])
}

func TestChildProcessSharesMemory(t *testing.T) {
	size := 4 * page
	seg := create(t, "child", size)
	fill(seg.Bytes()[:size/2], 3)

	cmd := testutil.HelperCommand(t, "shm-child", strconv.Itoa(size))
	cmd.ExtraFiles = []*os.File{seg.File()}
	out, err := cmd.Output()
	require.NoError(t, err, "child output: %s", out)
	assert.Equal(t, pattern(size/2, 7), seg.Bytes()[size/2:], "the child's reply")
}

// shmChild maps fd 3, checks the parent's pattern in the first half and
// writes its reply into the second.
func shmChild() {
	size, err := strconv.Atoi(testutil.HelperArgs()[0])
	if err != nil {
		fatal(err)
	}
	seg, err := shm.FromFD(3, size)
	if err != nil {
		fatal(err)
	}
	b := seg.Bytes()
	if !bytes.Equal(b[:size/2], pattern(size/2, 3)) {
		fatal(fmt.Errorf("child: parent's pattern not found"))
	}
	fill(b[size/2:], 7)
	if err := seg.Close(); err != nil {
		fatal(err)
	}
	os.Exit(0)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "shm-child:", err)
	os.Exit(1)
}

func TestCloseReleasesEverything(t *testing.T) {
	fds, maps := testutil.OpenFDs(), testutil.MemfdMappings()

	seg, err := shm.Create("close", page)
	require.NoError(t, err)
	assert.Equal(t, maps+1, testutil.MemfdMappings())
	fd := int(seg.File().Fd())

	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, seg.Close())
		}()
	}
	wg.Wait()
	assert.NoError(t, seg.Close(), "a second Close returns nil")

	assert.Nil(t, seg.Bytes())
	assert.Nil(t, seg.File())
	assert.Equal(t, page, seg.Size())
	assert.Equal(t, maps, testutil.MemfdMappings())
	assert.Equal(t, fds, testutil.OpenFDs())
	assertClosed(t, fd)
}

func TestUnclosedSegmentIsReleasedByGC(t *testing.T) {
	fds, maps := testutil.OpenFDs(), testutil.MemfdMappings()
	func() {
		_, err := shm.Create("forgotten", page)
		require.NoError(t, err)
	}()
	require.Eventually(t, func() bool {
		runtime.GC()
		return testutil.MemfdMappings() == maps && len(testutil.OpenFDs()) == len(fds)
	}, 5*time.Second, 10*time.Millisecond)
}

func TestOpenReadOnly(t *testing.T) {
	seg := create(t, "inspected", 2*page)
	fill(seg.Bytes(), 5)

	ro, err := shm.OpenReadOnly(fmt.Sprintf("/proc/self/fd/%d", seg.File().Fd()))
	require.NoError(t, err)
	defer func() { assert.NoError(t, ro.Close()) }()

	assert.True(t, ro.ReadOnly())
	assert.Equal(t, 2*page, ro.Size(), "the size comes from fstat")
	assert.Equal(t, "shmpool:inspected", ro.Name())
	assert.Equal(t, seg.Bytes(), ro.Bytes())

	t.Run("the mapping is read-only in /proc/self/maps", func(t *testing.T) {
		maps, err := os.ReadFile("/proc/self/maps")
		require.NoError(t, err)
		var perms []string
		for _, line := range strings.Split(string(maps), "\n") {
			if strings.HasSuffix(line, "/memfd:shmpool:inspected (deleted)") {
				perms = append(perms, strings.Fields(line)[1])
			}
		}
		assert.ElementsMatch(t, []string{"rw-s", "r--s"}, perms)
	})
	t.Run("a write through the mapping faults", func(t *testing.T) {
		assert.Panics(t, func() {
			defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
			ro.Bytes()[0] = 1
		})
		assert.Equal(t, byte(5), seg.Bytes()[0])
	})
	t.Run("a regular file is refused", func(t *testing.T) {
		path := t.TempDir() + "/plain"
		require.NoError(t, os.WriteFile(path, make([]byte, page), 0o600))
		_, err := shm.OpenReadOnly(path)
		require.ErrorIs(t, err, shm.ErrNotMemfd)
		assert.Contains(t, err.Error(), path)
	})
	t.Run("a missing path is refused", func(t *testing.T) {
		_, err := shm.OpenReadOnly("/proc/self/fd/999999")
		require.ErrorIs(t, err, os.ErrNotExist)
	})
}
