package status_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/status"
)

// TestReaderClampsUntrustedContents writes words as a buggy or hostile
// worker might and checks what a Reader makes of them.
func TestReaderClampsUntrustedContents(t *testing.T) {
	s, m := time.Second, time.Minute
	now := at(10 * m)
	tests := []struct {
		name  string
		words map[string]uint64
		now   time.Time
		check func(t *testing.T, got status.Snapshot)
	}{
		{"an uninitialised block reads as a starting worker with nothing done", nil, now,
			func(t *testing.T, got status.Snapshot) {
				assert.Equal(t, status.Snapshot{}, got)
			}},
		{"a garbage state reads as unknown", map[string]uint64{"state": 5}, now,
			func(t *testing.T, got status.Snapshot) {
				assert.Equal(t, status.Unknown, got.State)
				assert.Equal(t, "unknown", got.State.String())
			}},
		{"a state beyond 32 bits reads as unknown", map[string]uint64{"state": 1<<32 | uint64(status.Busy)}, now,
			func(t *testing.T, got status.Snapshot) { assert.Equal(t, status.Unknown, got.State) }},
		{"an idle worker with a task in progress reads as busy", map[string]uint64{
			"state": uint64(status.Idle), "started": ns(t0), "taskStart": ns(at(s)),
		}, now, func(t *testing.T, got status.Snapshot) { assert.Equal(t, status.Busy, got.State) }},
		{"a stopping worker with a task in progress reads as stopping", map[string]uint64{
			"state": uint64(status.Stopping), "started": ns(t0), "taskStart": ns(at(s)),
		}, now, func(t *testing.T, got status.Snapshot) { assert.Equal(t, status.Stopping, got.State) }},
		{"a pid beyond int32 reads as 0", map[string]uint64{"pid": math.MaxUint64}, now,
			func(t *testing.T, got status.Snapshot) { assert.Zero(t, got.PID) }},
		{"a start in the future is clamped to now", map[string]uint64{"started": ns(now.Add(time.Hour)), "busy": uint64(s)}, now,
			func(t *testing.T, got status.Snapshot) {
				assert.True(t, now.Equal(got.Started), "started %v", got.Started)
				assert.Zero(t, got.Uptime)
				assert.Zero(t, got.Busy)
			}},
		{"a start before 2000 gives no times and no durations", map[string]uint64{
			"started": ns(time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)), "busy": uint64(s), "tasks": 3,
		}, now, func(t *testing.T, got status.Snapshot) {
			assert.True(t, got.Started.IsZero())
			assert.Zero(t, got.Uptime)
			assert.Zero(t, got.Busy)
			assert.Equal(t, uint64(3), got.Tasks, "counters are still reported")
		}},
		{"a negative start gives no durations", map[string]uint64{"started": uint64(1) << 63}, now,
			func(t *testing.T, got status.Snapshot) { assert.True(t, got.Started.IsZero()) }},
		{"a now before 2000 gives no durations", map[string]uint64{"started": ns(t0)}, time.Time{},
			func(t *testing.T, got status.Snapshot) {
				assert.True(t, got.Started.IsZero())
				assert.Zero(t, got.Uptime)
			}},
		{"busy beyond uptime is clamped to uptime", map[string]uint64{
			"started": ns(t0), "busy": uint64(time.Hour), "waiting": uint64(time.Hour),
		}, now, func(t *testing.T, got status.Snapshot) {
			assert.Equal(t, 10*m, got.Uptime)
			assert.Equal(t, 10*m, got.Busy)
			assert.Zero(t, got.Waiting)
		}},
		{"waiting is clamped to what busy leaves of uptime", map[string]uint64{
			"started": ns(t0), "busy": uint64(4 * m), "waiting": uint64(time.Hour),
		}, now, func(t *testing.T, got status.Snapshot) {
			assert.Equal(t, 4*m, got.Busy)
			assert.Equal(t, 6*m, got.Waiting)
		}},
		{"a busy counter with the top bit set saturates instead of going negative", map[string]uint64{
			"started": ns(t0), "busy": math.MaxUint64, "taskStart": ns(at(s)),
		}, now, func(t *testing.T, got status.Snapshot) {
			assert.Equal(t, got.Uptime, got.Busy)
			assert.Equal(t, 10*m-s, got.TaskElapsed)
		}},
		{"a task start before the worker started is clamped to the start", map[string]uint64{
			"started": ns(t0), "taskStart": 1,
		}, now, func(t *testing.T, got status.Snapshot) {
			assert.True(t, t0.Equal(got.TaskStarted))
			assert.Equal(t, 10*m, got.Busy)
		}},
		{"a task start in the future counts no elapsed time", map[string]uint64{
			"started": ns(t0), "taskStart": ns(now.Add(time.Hour)),
		}, now, func(t *testing.T, got status.Snapshot) {
			assert.True(t, now.Equal(got.TaskStarted))
			assert.Zero(t, got.Busy)
		}},
		{"a wait start in the future counts no elapsed time", map[string]uint64{
			"started": ns(t0), "waitStart": math.MaxInt64,
		}, now, func(t *testing.T, got status.Snapshot) { assert.Zero(t, got.Waiting) }},
		{"a task and a wait in progress together never exceed uptime", map[string]uint64{
			"started": ns(t0), "taskStart": ns(at(m)), "waitStart": ns(at(m)),
		}, now, func(t *testing.T, got status.Snapshot) {
			assert.Equal(t, 9*m, got.Busy)
			assert.Equal(t, 1*m, got.Waiting)
		}},
		{"a stop before the start gives zero uptime", map[string]uint64{
			"started": ns(t0), "stopped": ns(t0.Add(-time.Hour)), "busy": uint64(s),
		}, now, func(t *testing.T, got status.Snapshot) {
			assert.Zero(t, got.Uptime)
			assert.Zero(t, got.Busy)
			assert.True(t, t0.Equal(got.Stopped))
		}},
		{"a stop in the future is clamped to now", map[string]uint64{
			"started": ns(t0), "stopped": math.MaxInt64,
		}, now, func(t *testing.T, got status.Snapshot) {
			assert.Equal(t, 10*m, got.Uptime)
			assert.True(t, now.Equal(got.Stopped))
		}},
		{"more errors than tasks and panics than errors are clamped", map[string]uint64{
			"tasks": 5, "errors": 9, "panics": math.MaxUint64,
		}, now, func(t *testing.T, got status.Snapshot) {
			assert.Equal(t, uint64(5), got.Errors)
			assert.Equal(t, uint64(5), got.Panics)
		}},
		{"a function name left mid-rewrite reads as empty", map[string]uint64{
			"funcSeq": 7, "funcName": 'x',
		}, now, func(t *testing.T, got status.Snapshot) { assert.Empty(t, got.Func) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			block := newBlock(t)
			for name, v := range tt.words {
				putWord(t, block, name, v)
			}
			r, err := status.NewReader(block)
			require.NoError(t, err)
			got := r.Snapshot(tt.now)
			checkInvariants(t, got, tt.now)
			tt.check(t, got)
		})
	}
}

func TestReaderSanitisesTheFunctionName(t *testing.T) {
	tests := []struct {
		name string
		raw  string // bytes at the name's offset, up to 64
		want string
	}{
		{"a name using all 64 bytes has no NUL and is read whole", strings.Repeat("f", 64), strings.Repeat("f", 64)},
		{"bytes after the first NUL are ignored", "ab\x00cd", "ab"},
		{"invalid UTF-8 is replaced byte by byte", "a\xff\xfeb", "a??b"},
		{"a truncated rune at the end is replaced", "ab\xe2\x82", "ab??"},
		{"control characters and escapes are replaced", "a\nb\x1b[31mc", "a?b?[31mc"},
		{"a non-printable rune is replaced by one byte", "a\u200bb", "a?b"},
		{"printable multi-byte runes are kept", "größe→縮小", "größe→縮小"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			block := newBlock(t)
			copy(block[offset(t, "funcName"):offset(t, "funcName")+status.FuncNameMax], tt.raw)
			r, err := status.NewReader(block)
			require.NoError(t, err)
			got := r.Snapshot(t0).Func
			assert.Equal(t, tt.want, got)
			assert.LessOrEqual(t, len(got), status.FuncNameMax)
			assert.Equal(t, got, r.Func(), "Reader.Func reads what Snapshot does")
		})
	}
	t.Run("a name mid-rewrite reads as the previous name", func(t *testing.T) {
		w, r, block := newPair(t)
		w.SetFunc("first")
		require.Equal(t, "first", r.Snapshot(t0).Func)
		putWord(t, block, "funcSeq", getWord(t, block, "funcSeq")+1) // odd: as if rewriting
		copy(block[offset(t, "funcName"):], "secon")
		assert.Equal(t, "first", r.Snapshot(t0).Func)
		assert.Equal(t, "first", r.Func())
	})
}

func TestReaderHandlesExtremeNows(t *testing.T) {
	_, r, _ := newPair(t)
	for _, now := range []time.Time{
		{},
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Unix(0, math.MaxInt64),
		time.Unix(math.MaxInt64/2, 0),
	} {
		got := r.Snapshot(now)
		checkInvariants(t, got, now)
	}
}
