package status_test

import (
	"testing"
	"time"
)

// BenchmarkWriter_Task measures what the worker pays per task for its
// status: a wait, a task start and a task end.
func BenchmarkWriter_Task(b *testing.B) {
	w, _, _ := newPair(b)
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Microsecond)
		w.WaitStart(now)
		w.TaskStart(now)
		w.TaskEnd(now, 64, 64, false, false)
	}
}

// BenchmarkReader_Snapshot measures what the parent pays per Status call.
func BenchmarkReader_Snapshot(b *testing.B) {
	w, r, _ := newPair(b)
	w.SetFunc("resize")
	w.TaskStart(at(time.Second))
	now := at(time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		_ = r.Snapshot(now)
	}
}
