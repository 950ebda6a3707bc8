package status_test

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/internal/atomicx"
	"github.com/shmpool/shmpool/status"
)

// FuzzReader fills a block with arbitrary bytes, as a buggy or hostile
// worker could, and takes a snapshot at an arbitrary time. The snapshot must
// not panic and must keep every invariant checkInvariants checks; so must the
// sum of it with itself, and it must print as a table.
func FuzzReader(f *testing.F) {
	now := at(time.Hour).UnixNano()
	f.Add([]byte{}, now)
	f.Add(writtenBlock(f), now)
	f.Add(writtenBlock(f), at(-time.Hour).UnixNano())
	ff := make([]byte, status.Size)
	for i := range ff {
		ff[i] = 0xff
	}
	f.Add(ff, now)

	f.Fuzz(func(t *testing.T, data []byte, nowNanos int64) {
		block := atomicx.AlignedBytes(status.Size)
		copy(block, data)
		r, err := status.NewReader(block)
		require.NoError(t, err)
		now := time.Unix(0, nowNanos)
		s := r.Snapshot(now)
		if !checkInvariants(t, s, now) {
			return
		}
		checkInvariants(t, status.Sum(s, s), now)
		require.NoError(t, status.WriteTable(io.Discard, s, s))
	})
}

// writtenBlock returns a block a Writer filled in, a task in progress.
func writtenBlock(tb testing.TB) []byte {
	tb.Helper()
	block := newBlock(tb)
	w, err := status.NewWriter(block, 4242, t0)
	require.NoError(tb, err)
	w.SetFunc("resize")
	w.WaitStart(at(time.Second))
	w.TaskStart(at(2 * time.Second))
	w.TaskEnd(at(5*time.Second), 100, 200, true, false)
	w.TaskStart(at(6 * time.Second))
	return block
}
