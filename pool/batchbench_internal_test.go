package pool

import (
	"context"
	"testing"
)

func BenchmarkBatcherRun(b *testing.B) {
	bt := &batcher{name: "echo", fn: func(_ context.Context, in []byte) ([]byte, error) { return in, nil }, maxOut: 64 << 20}
	ts := make([]*task, 1024)
	for i := range ts {
		ts[i] = &task{in: make([]byte, 64)}
	}
	req := appendRequest(nil, ts)
	b.SetBytes(int64(len(req)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bt.run(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ts)), "ns/item")
}

func BenchmarkAppendRequest(b *testing.B) {
	ts := make([]*task, 1024)
	for i := range ts {
		ts[i] = &task{in: make([]byte, 64)}
	}
	var buf []byte
	for b.Loop() {
		buf = appendRequest(buf[:0], ts)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ts)), "ns/item")
}
