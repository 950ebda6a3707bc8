package shm_test

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/shmpool/shmpool/internal/testutil"
	"github.com/shmpool/shmpool/shm"
)

func TestCreateRefusesBadSizes(t *testing.T) {
	tests := []struct {
		name string
		size int
		want string
	}{
		{"zero bytes is refused", 0, "0 is not positive"},
		{"a negative size is refused", -1, "-1 is not positive"},
		{"a size that is not a page multiple is refused", page + 1, strconv.Itoa(page + 1)},
		{"half a page is refused", page / 2, strconv.Itoa(page / 2)},
		{"more than MaxSize is refused", shm.MaxSize + page, strconv.Itoa(shm.MaxSize + page)},
		{"the largest int is refused", math.MaxInt, strconv.Itoa(math.MaxInt)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seg, err := shm.Create("bad-size", tt.size)
			require.Error(t, err)
			assert.Nil(t, seg)
			assert.ErrorIs(t, err, shm.ErrSize)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestCreateRefusesBadNames(t *testing.T) {
	for _, name := range []string{strings.Repeat("n", 250), "nul\x00byte"} {
		_, err := shm.Create(name, page)
		require.Error(t, err)
		assert.ErrorIs(t, err, os.ErrInvalid)
	}
}

func TestFromFDRefuses(t *testing.T) {
	t.Run("an unsealed memfd", func(t *testing.T) {
		fd, err := unix.MemfdCreate("shmpool:unsealed", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
		require.NoError(t, err)
		require.NoError(t, unix.Ftruncate(fd, int64(page)))
		_, err = shm.FromFD(fd, page)
		require.ErrorIs(t, err, shm.ErrNotSealed)
		assert.Contains(t, err.Error(), fmt.Sprintf("fd %d", fd))
		assert.Contains(t, err.Error(), "missing F_SEAL_SEAL|F_SEAL_SHRINK|F_SEAL_GROW")
		assertClosed(t, fd)
	})
	t.Run("a memfd that does not allow sealing", func(t *testing.T) {
		fd, err := unix.MemfdCreate("shmpool:nosealing", unix.MFD_CLOEXEC)
		require.NoError(t, err)
		require.NoError(t, unix.Ftruncate(fd, int64(page)))
		_, err = shm.FromFD(fd, page)
		require.ErrorIs(t, err, shm.ErrNotSealed)
		assert.Contains(t, err.Error(), "missing F_SEAL_SHRINK|F_SEAL_GROW (has F_SEAL_SEAL)")
	})
	t.Run("a memfd of the wrong size", func(t *testing.T) {
		seg := create(t, "wrong-size", page)
		fd := dupFD(t, seg)
		_, err := shm.FromFD(fd, 2*page)
		require.ErrorIs(t, err, shm.ErrSize)
		assert.Contains(t, err.Error(), fmt.Sprintf("fd %d", fd))
		assert.Contains(t, err.Error(), fmt.Sprintf("file has %d bytes, want %d", page, 2*page))
		assertClosed(t, fd)
	})
	t.Run("a size that is not a page multiple", func(t *testing.T) {
		seg := create(t, "odd-size", page)
		_, err := shm.FromFD(dupFD(t, seg), 100)
		require.ErrorIs(t, err, shm.ErrSize)
		assert.Contains(t, err.Error(), "100 is not a multiple")
	})
	t.Run("a closed descriptor", func(t *testing.T) {
		fd, err := unix.Dup(0)
		require.NoError(t, err)
		require.NoError(t, unix.Close(fd))
		_, err = shm.FromFD(fd, page)
		require.ErrorIs(t, err, unix.EBADF)
		assert.Contains(t, err.Error(), fmt.Sprintf("fd %d", fd))
	})
	t.Run("a negative descriptor", func(t *testing.T) {
		_, err := shm.FromFD(-1, page)
		require.ErrorIs(t, err, unix.EBADF)
		assert.Contains(t, err.Error(), "fd -1")
	})
	t.Run("a regular file", func(t *testing.T) {
		path := t.TempDir() + "/regular"
		require.NoError(t, os.WriteFile(path, make([]byte, page), 0o600))
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		require.NoError(t, err)
		_, err = shm.FromFile(f, page)
		require.ErrorIs(t, err, shm.ErrNotMemfd)
		assert.Contains(t, err.Error(), path)
		assert.ErrorIs(t, f.Close(), os.ErrClosed, "FromFile closed the file")
	})
	t.Run("a pipe", func(t *testing.T) {
		r, w, err := os.Pipe()
		require.NoError(t, err)
		defer w.Close()
		_, err = shm.FromFile(r, page)
		require.ErrorIs(t, err, shm.ErrNotMemfd)
		assert.Contains(t, err.Error(), "it is a pipe")
	})
	t.Run("a closed file", func(t *testing.T) {
		seg := create(t, "closed-file", page)
		f := os.NewFile(uintptr(dupFD(t, seg)), "dup")
		require.NoError(t, f.Close())
		_, err := shm.FromFile(f, page)
		require.ErrorIs(t, err, shm.ErrClosed)
	})
	t.Run("a nil file", func(t *testing.T) {
		_, err := shm.FromFile(nil, page)
		require.ErrorIs(t, err, os.ErrInvalid)
	})
}

// assertClosed checks that FromFD took ownership of fd and closed it.
func assertClosed(tb testing.TB, fd int) {
	tb.Helper()
	_, ok := testutil.OpenFDs()[fd]
	assert.False(tb, ok, "fd %d is still open", fd)
}

func TestCreateReportsMmapFailure(t *testing.T) {
	out, err := testutil.HelperCommand(t, "shm-enomem").Output()
	require.NoError(t, err, "helper output: %s", out)
	assert.Contains(t, string(out), fmt.Sprintf("(%d bytes): mmap: cannot allocate memory", shm.MaxSize))
}

// shmENOMEM limits its address space to what it uses plus 1 GiB, so that
// mapping a MaxSize segment fails, and prints the error.
func shmENOMEM() {
	var vmSize uint64
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if kb, ok := strings.CutPrefix(line, "VmSize:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(kb, "kB")), 10, 64)
			if err != nil {
				fatal(err)
			}
			vmSize = n << 10
		}
	}
	limit := vmSize + 1<<30
	if err := unix.Setrlimit(unix.RLIMIT_AS, &unix.Rlimit{Cur: limit, Max: limit}); err != nil {
		fatal(err)
	}
	seg, err := shm.Create("enomem", shm.MaxSize)
	if err == nil {
		seg.Close()
		fatal(fmt.Errorf("a %d-byte segment was mapped under RLIMIT_AS %d", shm.MaxSize, limit))
	}
	fmt.Println(err)
	os.Exit(0)
}
