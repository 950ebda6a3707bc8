package pool_test

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/shmpool/shmpool/codec"
	"github.com/shmpool/shmpool/pool"
	"github.com/shmpool/shmpool/worker"
)

// particle is the benchmarks' payload: 32 bytes in, 16 bytes out.
type particle struct {
	X, Y, VX, VY float64
}

// The same computation three ways: typed with the Binary codec, typed with
// JSON, and untyped with the bytes decoded by hand (the baseline: what a
// caller of Map writes without codecs).
var (
	benchStep     = pool.RegisterTyped("bench-step", codec.MustBinary[particle](), codec.MustBinary[[2]float64](), step)
	benchStepJSON = pool.RegisterTyped("bench-step-json", codec.JSON[particle](), codec.JSON[[2]float64](), step)
)

func step(_ context.Context, p particle) ([2]float64, error) {
	return [2]float64{p.X + p.VX, p.Y + p.VY}, nil
}

func init() {
	pool.Register("bench-step-raw", func(_ context.Context, in []byte) ([]byte, error) {
		if len(in) != 32 {
			return nil, errors.New("not a particle")
		}
		f := func(i int) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(in[8*i:])) }
		out := make([]byte, 0, 16)
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(f(0)+f(2)))
		return binary.LittleEndian.AppendUint64(out, math.Float64bits(f(1)+f(3))), nil
	})
}

// BenchmarkMapOf compares MapOf with the Binary and JSON codecs against
// the untyped Map of the same 32-byte payload, encoded and decoded by hand
// (api=Map/codec=by-hand, the baseline), on 2 workers: one op is one call
// over 16384 particles, and the figures include encoding the inputs and
// decoding the results in the parent.
//
//	go test -run='^$' -bench='^BenchmarkMapOf$' -benchtime=20x -count=3 ./pool/
func BenchmarkMapOf(b *testing.B) {
	const n = 16384
	ps := make([]particle, n)
	for i := range ps {
		ps[i] = particle{X: float64(i), Y: -float64(i), VX: 0.5, VY: 0.25}
	}
	run := func(b *testing.B, fn string, mapFn func(p *pool.Pool) (int, error)) {
		p, err := pool.New(context.Background(), pool.Config{Workers: 2, Worker: worker.Config{Func: fn}})
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		b.SetBytes(32 * n)
		b.ReportAllocs()
		if _, err := mapFn(p); err != nil { // warm up
			b.Fatal(err)
		}
		calls := 0
		for b.Loop() {
			got, err := mapFn(p)
			if err != nil {
				b.Fatal(err)
			}
			if got != n {
				b.Fatalf("%d results, want %d", got, n)
			}
			calls++
		}
		items := float64(calls * n)
		b.ReportMetric(items/b.Elapsed().Seconds(), "items/s")
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/items, "ns/item")
	}
	ctx := context.Background()
	b.Run("api=Map/codec=by-hand", func(b *testing.B) {
		run(b, "bench-step-raw", func(p *pool.Pool) (int, error) {
			ins := make([][]byte, n)
			buf := make([]byte, 0, 32*n)
			for i, q := range ps {
				start := len(buf)
				for _, f := range [4]float64{q.X, q.Y, q.VX, q.VY} {
					buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(f))
				}
				ins[i] = buf[start:len(buf):len(buf)]
			}
			raw, err := p.Map(ctx, ins)
			if err != nil {
				return 0, err
			}
			outs := make([][2]float64, n)
			for i, r := range raw {
				if len(r) != 16 {
					return 0, errors.New("bad result")
				}
				outs[i] = [2]float64{
					math.Float64frombits(binary.LittleEndian.Uint64(r)),
					math.Float64frombits(binary.LittleEndian.Uint64(r[8:])),
				}
			}
			return len(outs), nil
		})
	})
	b.Run("api=MapOf/codec=Binary", func(b *testing.B) {
		run(b, "bench-step", func(p *pool.Pool) (int, error) {
			outs, err := pool.MapOf(ctx, p, benchStep, ps)
			return len(outs), err
		})
	})
	b.Run("api=MapOf/codec=JSON", func(b *testing.B) {
		run(b, "bench-step-json", func(p *pool.Pool) (int, error) {
			outs, err := pool.MapOf(ctx, p, benchStepJSON, ps)
			return len(outs), err
		})
	})
}
