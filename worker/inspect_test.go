package worker_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/shmpool/shmpool/shm"
	"github.com/shmpool/shmpool/status"
	"github.com/shmpool/shmpool/worker"
)

// segmentPaths returns /proc/self/fd/N for every shmpool segment this
// process holds.
func segmentPaths(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	var paths []string
	for _, e := range ents {
		p := filepath.Join("/proc/self/fd", e.Name())
		if link, err := os.Readlink(p); err == nil && strings.HasPrefix(link, "/memfd:"+shm.NamePrefix) {
			paths = append(paths, p)
		}
	}
	return paths
}

func TestInspect(t *testing.T) {
	ctx := context.Background()
	h, err := worker.Start(ctx, worker.Config{Func: "echo", RingSize: 64 << 10})
	require.NoError(t, err)
	defer h.Close()
	_, err = h.Execute(ctx, []byte("hello"))
	require.NoError(t, err)

	t.Run("a worker's segment reads as its status", func(t *testing.T) {
		var found []status.Snapshot
		for _, p := range segmentPaths(t) {
			s, err := worker.Inspect(p)
			require.NoError(t, err, p)
			found = append(found, s)
		}
		var mine *status.Snapshot
		for i := range found {
			if found[i].PID == h.PID() {
				mine = &found[i]
			}
		}
		require.NotNil(t, mine, "no segment of worker %d among %v", h.PID(), found)
		assert.Equal(t, "echo", mine.Func)
		assert.EqualValues(t, 1, mine.Tasks)
		assert.EqualValues(t, 5, mine.BytesIn)
	})

	t.Run("a sealed memfd that is not a worker segment is refused", func(t *testing.T) {
		seg, err := shm.Create("not-a-worker", os.Getpagesize())
		require.NoError(t, err)
		defer seg.Close()
		_, err = worker.Inspect("/proc/self/fd/" + strconv.Itoa(int(seg.File().Fd())))
		require.ErrorIs(t, err, worker.ErrNotSegment)
	})

	t.Run("a file that is not a memfd is refused", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "f")
		require.NoError(t, os.WriteFile(p, make([]byte, 4096), 0o600))
		_, err := worker.Inspect(p)
		require.ErrorIs(t, err, shm.ErrNotMemfd)
	})

	t.Run("a missing file is refused", func(t *testing.T) {
		_, err := worker.Inspect(filepath.Join(t.TempDir(), "missing"))
		require.ErrorIs(t, err, unix.ENOENT)
	})
}
