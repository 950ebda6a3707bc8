package status_test

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConcurrentWriterAndReader runs a Writer in one goroutine and a Reader
// in another over the same heap block, so that -race checks every access.
// Time is a shared counter the writer advances and the reader samples.
//
// Invariants, checked on every snapshot:
//  1. everything checkInvariants checks (durations >= 0, Busy + Waiting <=
//     Uptime, ratios within [0, 1], ...), whatever the interleaving;
//  2. Tasks, Errors, Panics, BytesIn and BytesOut never decrease;
//  3. Func is always one of the names the writer set, never a mix of two;
//  4. once the writer has finished, a snapshot shows its exact totals.
func TestConcurrentWriterAndReader(t *testing.T) {
	snapshots := 100_000
	if testing.Short() {
		snapshots = 10_000
	}
	w, r, _ := newPair(t)
	names := []string{"alpha-" + strings.Repeat("a", 58), "beta-" + strings.Repeat("b", 59)}
	w.SetFunc(names[0])

	var clock atomic.Int64 // ns since t0
	now := func() time.Time { return at(time.Duration(clock.Load())) }
	tick := func() time.Time { return at(time.Duration(clock.Add(1000))) }

	var (
		stop                atomic.Bool
		wg                  sync.WaitGroup
		tasks, errs, panics uint64
		bytesIn, bytesOut   uint64
		busy, waiting       time.Duration
	)
	wg.Add(2)
	go func() { // the worker
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			if i%64 == 0 {
				w.SetFunc(names[i/64%2])
			}
			ws := tick()
			w.WaitStart(ws)
			ts := tick()
			w.TaskStart(ts) // ends the wait
			te := tick()
			failed, panicked := i%7 == 0, i%13 == 0
			w.TaskEnd(te, i%100, i%1000, failed, panicked)

			tasks++
			if failed || panicked {
				errs++
			}
			if panicked {
				panics++
			}
			bytesIn += uint64(i % 100)
			bytesOut += uint64(i % 1000)
			waiting += ts.Sub(ws)
			busy += te.Sub(ts)
		}
	}()
	go func() { // the parent
		defer wg.Done()
		defer stop.Store(true)
		var prev [5]uint64
		for i := range snapshots {
			n := now()
			s := r.Snapshot(n)
			ok := checkInvariants(t, s, n)
			cur := [5]uint64{s.Tasks, s.Errors, s.Panics, s.BytesIn, s.BytesOut}
			for k := range cur {
				if cur[k] < prev[k] {
					t.Errorf("snapshot %d: counter %d went back from %d to %d", i, k, prev[k], cur[k])
					ok = false
				}
			}
			prev = cur
			if s.Func != names[0] && s.Func != names[1] {
				t.Errorf("snapshot %d: torn function name %q", i, s.Func)
				ok = false
			}
			if !ok {
				return
			}
		}
	}()
	wg.Wait()

	end := now()
	s := r.Snapshot(end)
	require.True(t, checkInvariants(t, s, end))
	assert.Equal(t, tasks, s.Tasks, "tasks")
	assert.Equal(t, errs, s.Errors, "errors")
	assert.Equal(t, panics, s.Panics, "panics")
	assert.Equal(t, bytesIn, s.BytesIn, "bytes in")
	assert.Equal(t, bytesOut, s.BytesOut, "bytes out")
	assert.Equal(t, busy, s.Busy, "busy")
	assert.Equal(t, waiting, s.Waiting, "waiting")
	assert.Equal(t, time.Duration(clock.Load()), s.Uptime, "uptime")
	t.Logf("%d tasks while taking %d snapshots", tasks, snapshots)
}

// The stress test checks every snapshot; the check must not allocate, or the
// garbage collector would dominate the run.
func TestCheckInvariantsDoesNotAllocate(t *testing.T) {
	w, r, _ := newPair(t)
	w.TaskStart(at(time.Second))
	now := at(time.Minute)
	assertNoAlloc(t, "checkInvariants", func() { checkInvariants(t, r.Snapshot(now), now) })
}
