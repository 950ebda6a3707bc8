package pool_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/codec"
	"github.com/shmpool/shmpool/pool"
	"github.com/shmpool/shmpool/worker"
)

// vec is the fixed-size input of the typed test functions.
type vec struct {
	X, Y  float64
	Scale int32
	Fail  bool
	_     [3]byte
}

// doc and stats are the json and gob inputs and results.
type doc struct {
	Title string
	Words []string
}

type stats struct {
	Title string
	Count int
	Long  string
}

// The typed functions of the tests, registered in both processes through
// pool.RegisterTyped, so that their small items are batched.
var (
	// typedScale scales a vec; it fails on Fail, and sleeps for Scale
	// milliseconds when Scale is negative.
	typedScale = pool.RegisterTyped("typed-scale", codec.MustBinary[vec](), codec.MustBinary[[2]float64](),
		func(_ context.Context, v vec) ([2]float64, error) {
			switch {
			case v.Fail:
				return [2]float64{}, fmt.Errorf("vec %v fails", v.X)
			case v.Scale < 0:
				time.Sleep(time.Duration(-v.Scale) * time.Millisecond)
			}
			return [2]float64{v.X * float64(v.Scale), v.Y * float64(v.Scale)}, nil
		})
	// typedCount counts a doc's words, json in and out; typedCountGob with
	// gob. An empty title fails.
	typedCount    = pool.RegisterTyped("typed-count", codec.JSON[doc](), codec.JSON[stats](), countWords)
	typedCountGob = pool.RegisterTyped("typed-count-gob", codec.Gob[doc](), codec.Gob[stats](), countWords)
	// typedHalf halves a float64 through json, which cannot encode NaN.
	typedHalf = pool.RegisterTyped("typed-half", codec.JSON[float64](), codec.JSON[float64](),
		func(_ context.Context, x float64) (float64, error) { return x / 2, nil })
	// typedTitle upper-cases a string; typedReverse reverses bytes.
	typedTitle = pool.RegisterTyped("typed-title", codec.String(), codec.String(),
		func(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil })
	typedReverse = pool.RegisterTyped("typed-reverse", codec.Bytes(), codec.Bytes(),
		func(_ context.Context, b []byte) ([]byte, error) {
			slices.Reverse(b) // b is the codec's copy: ours to change
			return b, nil
		})
)

func countWords(_ context.Context, d doc) (stats, error) {
	if d.Title == "" {
		return stats{}, errors.New("doc without a title")
	}
	s := stats{Title: d.Title, Count: len(d.Words)}
	for _, w := range d.Words {
		if len(w) > len(s.Long) {
			s.Long = w
		}
	}
	return s, nil
}

// newTypedPool starts a pool of workers running fn (newPool).
func newTypedPool(tb testing.TB, workers int, fn string) *pool.Pool {
	tb.Helper()
	return newPool(tb, pool.Config{Workers: workers, Worker: worker.Config{Func: fn}})
}

func vecs(n int) []vec {
	vs := make([]vec, n)
	for i := range vs {
		vs[i] = vec{X: float64(i), Y: -float64(i) / 3, Scale: int32(i%7) + 1}
	}
	return vs
}

func scaled(v vec) [2]float64 { return [2]float64{v.X * float64(v.Scale), v.Y * float64(v.Scale)} }

func TestMapOf(t *testing.T) {
	ctx := context.Background()
	t.Run("binary, many small items", func(t *testing.T) {
		p := newTypedPool(t, 2, "typed-scale")
		ins := vecs(5000)
		ins[1] = vec{X: math.MaxFloat64, Y: math.Inf(-1), Scale: 1}
		ins[2] = vec{X: math.SmallestNonzeroFloat64, Y: math.Copysign(0, -1), Scale: math.MaxInt32}
		outs, err := pool.MapOf(ctx, p, typedScale, ins)
		require.NoError(t, err)
		require.Len(t, outs, len(ins))
		for i, in := range ins {
			require.Equal(t, scaled(in), outs[i], "item %d", i)
		}
	})
	t.Run("json", func(t *testing.T) {
		p := newTypedPool(t, 2, "typed-count")
		outs, err := pool.MapOf(ctx, p, typedCount, []doc{{Title: "a", Words: []string{"x", "yyy", "zz"}}, {Title: "é", Words: nil}})
		require.NoError(t, err)
		assert.Equal(t, []stats{{Title: "a", Count: 3, Long: "yyy"}, {Title: "é"}}, outs)
	})
	t.Run("gob", func(t *testing.T) {
		p := newTypedPool(t, 2, "typed-count-gob")
		outs, err := pool.MapOf(ctx, p, typedCountGob, []doc{{Title: "g", Words: []string{"ab", "c"}}})
		require.NoError(t, err)
		assert.Equal(t, []stats{{Title: "g", Count: 2, Long: "ab"}}, outs)
	})
	t.Run("string and bytes", func(t *testing.T) {
		p := newTypedPool(t, 1, "typed-title")
		outs, err := pool.MapOf(ctx, p, typedTitle, []string{"", "a", strings.Repeat("b", 100<<10)})
		require.NoError(t, err)
		assert.Equal(t, []string{"", "A", strings.Repeat("B", 100<<10)}, outs)
		require.NoError(t, p.SetFunc(ctx, "typed-reverse", nil))
		in := []byte("abc")
		routs, err := pool.MapOf(ctx, p, typedReverse, [][]byte{in, {}, nil})
		require.NoError(t, err)
		assert.Equal(t, "cba", string(routs[0]))
		assert.Equal(t, "abc", string(in), "the caller's input is not changed")
		assert.Empty(t, routs[1])
		assert.Empty(t, routs[2])
	})
	t.Run("empty input", func(t *testing.T) {
		p := newTypedPool(t, 1, "typed-scale")
		outs, err := pool.MapOf(ctx, p, typedScale, nil)
		require.NoError(t, err)
		assert.NotNil(t, outs)
		assert.Empty(t, outs)
	})
	t.Run("done context", func(t *testing.T) {
		p := newTypedPool(t, 1, "typed-scale")
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := pool.MapOf(cctx, p, typedScale, vecs(3))
		assert.ErrorIs(t, err, context.Canceled)
	})
}

// TestMapOfErrors checks that MapOf fails, as Map does, with the failing
// item of the lowest index, whatever failed: the function, the decoding
// of its result, or the encoding of the input.
func TestMapOfErrors(t *testing.T) {
	ctx := context.Background()
	p := newTypedPool(t, 2, "typed-half")
	tests := []struct {
		name  string
		ins   []float64
		index int
		want  string
	}{
		{"input that cannot be encoded", []float64{1, 2, math.NaN(), 4}, 2, "pool: item 2: codec json: cannot encode float64: json: unsupported value: NaN"},
		{"first of two", []float64{1, math.Inf(1), math.NaN()}, 1, "pool: item 1: codec json: cannot encode float64: json: unsupported value: +Inf"},
		{"first item", []float64{math.NaN()}, 0, "pool: item 0: codec json: cannot encode float64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pool.MapOf(ctx, p, typedHalf, tt.ins)
			var ie *pool.ItemError
			require.ErrorAs(t, err, &ie)
			assert.Equal(t, tt.index, ie.Index)
			assert.Contains(t, err.Error(), tt.want)
			var ee *codec.EncodeError
			assert.ErrorAs(t, err, &ee)
		})
	}

	t.Run("function error before an input that cannot be encoded", func(t *testing.T) {
		p := newTypedPool(t, 2, "typed-count")
		_, err := pool.MapOf(ctx, p, typedCount, []doc{{Title: "a"}, {}, {Title: "c"}})
		re := requireRemoteItem(t, err, 1, "typed-count")
		assert.Equal(t, "doc without a title", re.Message)
	})
	t.Run("lowest index of many function errors", func(t *testing.T) {
		p := newTypedPool(t, 2, "typed-scale")
		ins := vecs(3000)
		for _, i := range []int{2900, 1234, 1500} {
			ins[i].Fail = true
		}
		_, err := pool.MapOf(ctx, p, typedScale, ins)
		var ie *pool.ItemError
		require.ErrorAs(t, err, &ie)
		assert.Equal(t, 1234, ie.Index)
		assert.Contains(t, err.Error(), "vec 1234 fails")
	})
	t.Run("result that does not decode", func(t *testing.T) {
		// The pool's function, typed with another result: 16 bytes come
		// back where a [3]float64 needs 24.
		wrong := worker.Typed("typed-scale", codec.MustBinary[vec](), codec.MustBinary[[3]float64](),
			func(context.Context, vec) ([3]float64, error) { return [3]float64{}, nil })
		p := newTypedPool(t, 2, "typed-scale")
		_, err := pool.MapOf(ctx, p, wrong, vecs(10))
		var ie *pool.ItemError
		require.ErrorAs(t, err, &ie)
		assert.Equal(t, 0, ie.Index)
		var de *codec.DecodeError
		require.ErrorAs(t, err, &de)
		assert.Equal(t, "[3]float64", de.Type)
		assert.EqualError(t, err, "pool: item 0: codec binary: cannot decode [3]float64: 16 bytes, want 24")
	})
	t.Run("input that does not decode in the worker", func(t *testing.T) {
		// Untyped bytes sent to the typed function, batched and alone.
		p := newTypedPool(t, 2, "typed-scale")
		ins := make([][]byte, 100)
		for i := range ins {
			ins[i] = make([]byte, 24) // a zero vec
		}
		ins[40] = []byte("short")
		_, err := p.Map(ctx, ins)
		re := requireRemoteItem(t, err, 40, "typed-scale")
		assert.Equal(t, "input: codec binary: cannot decode pool_test.vec: 5 bytes, want 24", re.Message)
		_, err = p.Do(ctx, []byte("alone"))
		require.ErrorAs(t, err, &re)
		assert.Equal(t, "input: codec binary: cannot decode pool_test.vec: 5 bytes, want 24", re.Message)
	})
}

// TestTypedWrongFunc calls typed helpers on a pool that runs another
// function: each fails at once, running nothing.
func TestTypedWrongFunc(t *testing.T) {
	ctx := context.Background()
	p := newTypedPool(t, 1, "echo")
	_, err := pool.MapOf(ctx, p, typedScale, vecs(3))
	require.ErrorIs(t, err, worker.ErrWrongFunc)
	assert.EqualError(t, err, `pool: typed call of "typed-scale": the pool runs "echo": worker: the worker runs another function`)
	_, err = pool.DoOf(ctx, p, typedScale, vec{})
	require.ErrorIs(t, err, worker.ErrWrongFunc)
	f := pool.SubmitOf(ctx, p, typedScale, vec{})
	assert.True(t, doneWithin(f.Done()))
	_, err = f.Wait(ctx)
	require.ErrorIs(t, err, worker.ErrWrongFunc)
	for _, seq := range []func(context.Context, *pool.Pool, *worker.TypedFunc[vec, [2]float64], iter.Seq[vec]) iter.Seq[pool.ResultOf[[2]float64]]{
		pool.StreamOf[vec, [2]float64], pool.UnorderedOf[vec, [2]float64],
	} {
		rs := slices.Collect(seq(ctx, p, typedScale, slices.Values(vecs(3))))
		require.Len(t, rs, 1)
		assert.Equal(t, 0, rs[0].Index)
		assert.ErrorIs(t, rs[0].Err, worker.ErrWrongFunc)
	}
	assert.Zero(t, p.Status().Total.Tasks, "nothing ran")

	require.NoError(t, p.SetFunc(ctx, "typed-scale", nil))
	out, err := pool.DoOf(ctx, p, typedScale, vec{X: 1, Y: 2, Scale: 3})
	require.NoError(t, err, "after SetFunc the pool runs it")
	assert.Equal(t, [2]float64{3, 6}, out)
}

func TestStreamOf(t *testing.T) {
	ctx := context.Background()
	p := newTypedPool(t, 2, "typed-scale")
	t.Run("ordered results and item errors", func(t *testing.T) {
		ins := vecs(2000)
		ins[7].Fail, ins[1999].Fail = true, true
		ins[3].Scale = -20 // slow: later results wait for it
		i := 0
		for r := range pool.StreamOf(ctx, p, typedScale, slices.Values(ins)) {
			require.Equal(t, i, r.Index)
			if ins[i].Fail {
				var re *worker.RemoteError
				require.ErrorAs(t, r.Err, &re, "item %d", i)
				assert.Contains(t, re.Message, fmt.Sprintf("vec %d fails", i))
				assert.Zero(t, r.Out)
			} else {
				require.NoError(t, r.Err, "item %d", i)
				assert.Equal(t, scaled(ins[i]), r.Out, "item %d", i)
			}
			i++
		}
		assert.Equal(t, len(ins), i)
	})
	t.Run("empty input", func(t *testing.T) {
		for range pool.StreamOf(ctx, p, typedScale, slices.Values([]vec(nil))) {
			t.Fatal("a result for no input")
		}
	})
	t.Run("early break", func(t *testing.T) {
		read := 0
		ins := func(yield func(vec) bool) {
			for i := 0; ; i++ {
				read++
				if !yield(vec{X: float64(i), Scale: 1}) {
					return
				}
			}
		}
		n := 0
		for r := range pool.StreamOf(ctx, p, typedScale, ins) {
			require.NoError(t, r.Err)
			assert.Equal(t, [2]float64{float64(n), 0}, r.Out)
			if n++; n == 100 {
				break
			}
		}
		assert.Equal(t, 100, n)
		assert.LessOrEqual(t, read, 1<<16+100, "the input is read lazily, at most a window (65536 items) ahead")
		out, err := pool.DoOf(ctx, p, typedScale, vec{X: 2, Scale: 2})
		require.NoError(t, err, "the pool works on after a break")
		assert.Equal(t, [2]float64{4, 0}, out)
	})
	t.Run("result that does not decode", func(t *testing.T) {
		wrong := worker.Typed("typed-scale", codec.MustBinary[vec](), codec.MustBinary[float64](),
			func(context.Context, vec) (float64, error) { return 0, nil })
		rs := slices.Collect(pool.StreamOf(ctx, p, wrong, slices.Values(vecs(3))))
		require.Len(t, rs, 3, "the stream goes on")
		for i, r := range rs {
			assert.Equal(t, i, r.Index)
			var de *codec.DecodeError
			require.ErrorAs(t, r.Err, &de)
			assert.Equal(t, "float64", de.Type)
		}
	})
	t.Run("done context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		rs := slices.Collect(pool.StreamOf(cctx, p, typedScale, slices.Values(vecs(5))))
		require.NotEmpty(t, rs)
		assert.ErrorIs(t, rs[len(rs)-1].Err, context.Canceled)
	})
}

// TestStreamOfEncodeError checks that an input that cannot be encoded
// ends the stream: the items before it come first, in order, then its
// error, and the input is read no further.
func TestStreamOfEncodeError(t *testing.T) {
	ctx := context.Background()
	p := newTypedPool(t, 2, "typed-half")
	read := 0
	ins := func(yield func(float64) bool) {
		for _, x := range []float64{2, 4, 6, math.NaN(), 8, 10} {
			read++
			if !yield(x) {
				return
			}
		}
	}
	for _, tt := range []struct {
		name string
		seq  func(context.Context, *pool.Pool, *worker.TypedFunc[float64, float64], iter.Seq[float64]) iter.Seq[pool.ResultOf[float64]]
	}{
		{"StreamOf", pool.StreamOf[float64, float64]},
		{"UnorderedOf", pool.UnorderedOf[float64, float64]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			read = 0
			rs := slices.Collect(tt.seq(ctx, p, typedHalf, ins))
			require.Len(t, rs, 4)
			slices.SortFunc(rs[:3], func(a, b pool.ResultOf[float64]) int { return a.Index - b.Index })
			for i, r := range rs[:3] {
				require.NoError(t, r.Err)
				assert.Equal(t, i, r.Index)
				assert.Equal(t, float64(i+1), r.Out)
			}
			assert.Equal(t, 3, rs[3].Index)
			var ee *codec.EncodeError
			require.ErrorAs(t, rs[3].Err, &ee)
			assert.EqualError(t, rs[3].Err, "codec json: cannot encode float64: json: unsupported value: NaN")
			assert.Equal(t, 4, read, "nothing after the bad item is read")
		})
	}
}

func TestUnorderedOf(t *testing.T) {
	ctx := context.Background()
	p := newTypedPool(t, 2, "typed-count")
	var ins []doc
	for i := range 500 {
		ins = append(ins, doc{Title: fmt.Sprint(i), Words: make([]string, i%5)})
	}
	ins[123].Title = ""
	seen := make([]bool, len(ins))
	for r := range pool.UnorderedOf(ctx, p, typedCount, slices.Values(ins)) {
		require.False(t, seen[r.Index], "item %d twice", r.Index)
		seen[r.Index] = true
		if r.Index == 123 {
			var re *worker.RemoteError
			require.ErrorAs(t, r.Err, &re)
			assert.Equal(t, "doc without a title", re.Message)
			continue
		}
		require.NoError(t, r.Err)
		assert.Equal(t, stats{Title: ins[r.Index].Title, Count: r.Index % 5}, r.Out)
	}
	assert.NotContains(t, seen, false, "every item once")

	t.Run("empty input", func(t *testing.T) {
		for range pool.UnorderedOf(ctx, p, typedCount, slices.Values([]doc{})) {
			t.Fatal("a result for no input")
		}
	})
	t.Run("early break", func(t *testing.T) {
		n := 0
		for r := range pool.UnorderedOf(ctx, p, typedCount, slices.Values(ins[:400])) {
			require.NoError(t, r.Err)
			if n++; n == 10 {
				break
			}
		}
		assert.Equal(t, 10, n)
		out, err := pool.DoOf(ctx, p, typedCount, doc{Title: "after"})
		require.NoError(t, err, "the pool works on after a break")
		assert.Equal(t, stats{Title: "after"}, out)
	})
}

func TestDoOfAndSubmitOf(t *testing.T) {
	ctx := context.Background()
	p := newTypedPool(t, 2, "typed-count")
	out, err := pool.DoOf(ctx, p, typedCount, doc{Title: "t", Words: []string{"a", "bb"}})
	require.NoError(t, err)
	assert.Equal(t, stats{Title: "t", Count: 2, Long: "bb"}, out)

	_, err = pool.DoOf(ctx, p, typedCount, doc{})
	var re *worker.RemoteError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "doc without a title", re.Message)

	futs := make([]*pool.FutureOf[stats], 20)
	for i := range futs {
		futs[i] = pool.SubmitOf(ctx, p, typedCount, doc{Title: fmt.Sprint(i), Words: make([]string, i)})
	}
	for i, f := range futs {
		require.True(t, doneWithin(f.Done()))
		for range 2 { // Wait can be called again
			got, err := f.Wait(ctx)
			require.NoError(t, err)
			assert.Equal(t, stats{Title: fmt.Sprint(i), Count: i}, got)
		}
	}

	p2 := newTypedPool(t, 1, "typed-half")
	_, err = pool.DoOf(ctx, p2, typedHalf, math.NaN())
	var ee *codec.EncodeError
	require.ErrorAs(t, err, &ee)
	f := pool.SubmitOf(ctx, p2, typedHalf, math.Inf(-1))
	assert.True(t, doneWithin(f.Done()))
	_, err = f.Wait(ctx)
	require.ErrorAs(t, err, &ee)
	assert.Zero(t, p2.Status().Total.Tasks, "nothing ran")
}

// doneWithin reports whether ch is closed within a liveness bound (not a
// speed assertion).
func doneWithin(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-time.After(10 * time.Second):
		return false
	}
}

// requireRemoteItem requires err to be a *pool.ItemError for item index
// wrapping a *worker.RemoteError of the function fn, and returns the
// latter.
func requireRemoteItem(t *testing.T, err error, index int, fn string) *worker.RemoteError {
	t.Helper()
	var ie *pool.ItemError
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, index, ie.Index)
	var re *worker.RemoteError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, fn, re.Func)
	return re
}
