package status_test

import (
	"encoding/binary"
	"math"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/internal/atomicx"
	"github.com/shmpool/shmpool/internal/testutil"
	"github.com/shmpool/shmpool/status"
)

func TestMain(m *testing.M) { testutil.Main(m, nil) }

// t0 is the start time most tests give their worker.
var t0 = time.Date(2024, time.March, 1, 12, 0, 0, 0, time.UTC)

// at returns t0 plus d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// newBlock returns a zeroed, cache-line aligned block of Size bytes.
func newBlock(tb testing.TB) []byte {
	tb.Helper()
	return atomicx.AlignedBytes(status.Size)
}

// newPair returns a Writer started at t0 with pid 4242 and a Reader of the
// same block.
func newPair(tb testing.TB) (*status.Writer, *status.Reader, []byte) {
	tb.Helper()
	block := newBlock(tb)
	w, err := status.NewWriter(block, 4242, t0)
	require.NoError(tb, err)
	r, err := status.NewReader(block)
	require.NoError(tb, err)
	return w, r, block
}

// offset returns the pinned-by-layout_test offset of the named field.
func offset(tb testing.TB, name string) int {
	tb.Helper()
	for _, w := range status.Layout {
		if w.Name == name {
			return w.Offset
		}
	}
	tb.Fatalf("no field %q in the layout", name)
	return 0
}

// putWord stores v little-endian into the named word of block, as a hostile
// or buggy worker might.
func putWord(tb testing.TB, block []byte, name string, v uint64) {
	tb.Helper()
	binary.LittleEndian.PutUint64(block[offset(tb, name):], v)
}

// getWord loads the named word of block.
func getWord(tb testing.TB, block []byte, name string) uint64 {
	tb.Helper()
	return binary.LittleEndian.Uint64(block[offset(tb, name):])
}

// ns returns t as the word a block stores for it.
func ns(t time.Time) uint64 { return uint64(t.UnixNano()) }

// checkInvariants asserts what Reader.Snapshot guarantees whatever the block
// holds, for a snapshot taken at now. It returns false if any check failed.
// It allocates nothing unless a check fails, so that the stress test can call
// it on every snapshot.
func checkInvariants(tb testing.TB, s status.Snapshot, now time.Time) bool {
	tb.Helper()
	fail := func(format string, args ...any) bool {
		tb.Helper()
		tb.Errorf(format+"\nsnapshot: %+v", append(args, s)...)
		return false
	}
	ok := true
	if s.Uptime < 0 || s.Busy < 0 || s.Waiting < 0 || s.TaskElapsed < 0 {
		ok = fail("negative duration")
	}
	if s.Busy > s.Uptime || s.Waiting > s.Uptime-s.Busy {
		ok = fail("busy %v + waiting %v exceed uptime %v", s.Busy, s.Waiting, s.Uptime)
	}
	if s.TaskElapsed > s.Busy {
		ok = fail("task elapsed %v exceeds busy %v", s.TaskElapsed, s.Busy)
	}
	if s.Panics > s.Errors || s.Errors > s.Tasks {
		ok = fail("not panics <= errors <= tasks")
	}
	if s.MeanTask() < 0 {
		ok = fail("negative mean task %v", s.MeanTask())
	}
	eff, util, starv := s.Efficiency(), s.Utilization(), s.Starvation()
	if !inUnit(eff) || !inUnit(util) || !inUnit(starv) || util+starv > 1+1e-9 {
		ok = fail("ratios outside [0, 1]: efficiency %v, utilization %v, starvation %v", eff, util, starv)
	}
	if !utf8.ValidString(s.Func) || len(s.Func) > status.FuncNameMax {
		ok = fail("bad func name %q", s.Func)
	}
	if s.State > status.Exited && s.State != status.Unknown {
		ok = fail("undefined state %d", uint32(s.State))
	}
	if s.PID < 0 || s.PID > math.MaxInt32 {
		ok = fail("pid %d out of range", s.PID)
	}
	if !sane(s.Started, now) || !sane(s.Stopped, now) || !sane(s.TaskStarted, now) {
		ok = fail("a time outside [2000, now=%v]", now)
	}
	if s.Uptime != 0 && s.Started.IsZero() {
		ok = fail("uptime without a start")
	}
	return ok
}

func inUnit(r float64) bool { return !math.IsNaN(r) && r >= 0 && r <= 1 }

// sane reports whether ts is zero or within [2000-01-01, now].
func sane(ts, now time.Time) bool {
	return ts.IsZero() || (!ts.Before(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)) && !ts.After(now))
}

// assertNoAlloc fails if fn allocates.
func assertNoAlloc(t *testing.T, name string, fn func()) {
	t.Helper()
	assert.Zero(t, testing.AllocsPerRun(100, fn), "%s allocates", name)
}
