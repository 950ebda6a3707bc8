package worker_test

import (
	"context"
	"testing"

	"github.com/shmpool/shmpool/worker"
)

// BenchmarkTypedExecute measures what a typed round trip adds to an
// untyped one of the same 8-byte payload, on one worker each: the
// function check (a status block read), the Binary codec both ways, and
// the result's decoding. The baseline is api=Execute.
//
//	go test -run='^$' -bench='^BenchmarkTypedExecute$' -count=3 ./worker/
func BenchmarkTypedExecute(b *testing.B) {
	ctx := context.Background()
	b.Run("api=Execute", func(b *testing.B) {
		h := start(b, worker.Config{Func: "echo"})
		in := make([]byte, 8)
		b.SetBytes(8)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := h.Execute(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("api=TypedFunc.Execute/codec=Binary", func(b *testing.B) {
		h := start(b, worker.Config{Func: "typed-norm"})
		b.SetBytes(8)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := typedNorm.Execute(ctx, h, point{3, 4}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
