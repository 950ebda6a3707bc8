package worker_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/codec"
	"github.com/shmpool/shmpool/worker"
)

// point is the fixed-size input of the typed test functions.
type point struct{ X, Y int32 }

// job and verdict are the json and gob inputs and results.
type job struct {
	Name string
	Tags []string
	Fail bool
}

type verdict struct {
	Name  string
	Count int
}

// The typed functions of the tests, registered in both processes.
var (
	// typedNorm is the length of a point, binary in and out.
	typedNorm = worker.RegisterTyped("typed-norm", codec.MustBinary[point](), codec.MustBinary[float64](),
		func(_ context.Context, p point) (float64, error) {
			return math.Hypot(float64(p.X), float64(p.Y)), nil
		})
	// typedJob counts a job's tags, json in and out; it fails on Fail.
	typedJob = worker.RegisterTyped("typed-job", codec.JSON[job](), codec.JSON[verdict](), runJob)
	// typedGob is typedJob with gob.
	typedGob = worker.RegisterTyped("typed-gob", codec.Gob[job](), codec.Gob[verdict](), runJob)
	// typedUpper upper-cases a string; typedBytes reverses bytes.
	typedUpper = worker.RegisterTyped("typed-upper", codec.String(), codec.String(),
		func(_ context.Context, s string) (string, error) { return strings.ToUpper(s), nil })
	typedBytes = worker.RegisterTyped("typed-reverse", codec.Bytes(), codec.Bytes(),
		func(_ context.Context, b []byte) ([]byte, error) {
			for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
				b[i], b[j] = b[j], b[i] // b is the codec's copy: ours to change
			}
			return b, nil
		})
	// typedNaN returns its input as a float64 that json cannot encode
	// when it is NaN.
	typedNaN = worker.RegisterTyped("typed-nan", codec.String(), codec.JSON[float64](),
		func(_ context.Context, s string) (float64, error) { return math.NaN(), nil })
)

func runJob(_ context.Context, j job) (verdict, error) {
	if j.Fail {
		return verdict{}, fmt.Errorf("job %q failed", j.Name)
	}
	return verdict{Name: j.Name, Count: len(j.Tags)}, nil
}

func TestTypedExecute(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		fn   string
		run  func(t *testing.T, h *worker.Handle)
	}{
		{"binary", "typed-norm", func(t *testing.T, h *worker.Handle) {
			for _, p := range []point{{3, 4}, {}, {math.MinInt32, 0}, {-5, 12}} {
				got, err := typedNorm.Execute(ctx, h, p)
				require.NoError(t, err)
				assert.Equal(t, math.Hypot(float64(p.X), float64(p.Y)), got)
			}
		}},
		{"json", "typed-job", func(t *testing.T, h *worker.Handle) {
			got, err := typedJob.Execute(ctx, h, job{Name: "j", Tags: []string{"a", "b"}})
			require.NoError(t, err)
			assert.Equal(t, verdict{Name: "j", Count: 2}, got)
			got, err = typedJob.Execute(ctx, h, job{})
			require.NoError(t, err)
			assert.Equal(t, verdict{}, got)
		}},
		{"gob", "typed-gob", func(t *testing.T, h *worker.Handle) {
			got, err := typedGob.Execute(ctx, h, job{Name: "g", Tags: []string{"x"}})
			require.NoError(t, err)
			assert.Equal(t, verdict{Name: "g", Count: 1}, got)
		}},
		{"string", "typed-upper", func(t *testing.T, h *worker.Handle) {
			for _, s := range []string{"", "abc", strings.Repeat("x", 1<<20)} {
				got, err := typedUpper.Execute(ctx, h, s)
				require.NoError(t, err)
				assert.Equal(t, strings.ToUpper(s), got)
			}
		}},
		{"bytes", "typed-reverse", func(t *testing.T, h *worker.Handle) {
			in := []byte("abc")
			got, err := typedBytes.Execute(ctx, h, in)
			require.NoError(t, err)
			assert.Equal(t, "cba", string(got))
			assert.Equal(t, "abc", string(in), "the caller's input is not changed")
			got, err = typedBytes.Execute(ctx, h, nil)
			require.NoError(t, err)
			assert.Empty(t, got)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, start(t, worker.Config{Func: tt.fn}))
		})
	}
}

func TestTypedFuncError(t *testing.T) {
	h := start(t, worker.Config{Func: "typed-job"})
	_, err := typedJob.Execute(context.Background(), h, job{Name: "bad", Fail: true})
	var re *worker.RemoteError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "typed-job", re.Func)
	assert.Equal(t, `job "bad" failed`, re.Message)
}

// TestTypedInputMismatch sends bytes that are not a point to a typed
// function: the worker's error names the type and the codec, and the
// worker lives on.
func TestTypedInputMismatch(t *testing.T) {
	ctx := context.Background()
	h := start(t, worker.Config{Func: "typed-norm"})
	_, err := h.Execute(ctx, []byte("abc"))
	var re *worker.RemoteError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "typed-norm", re.Func)
	assert.Equal(t, "input: codec binary: cannot decode worker_test.point: 3 bytes, want 8", re.Message)

	got, err := typedNorm.Execute(ctx, h, point{3, 4})
	require.NoError(t, err, "the worker lives on")
	assert.Equal(t, 5.0, got)
}

// TestTypedResultMismatch decodes a result as another type than the
// worker's function returns: a *codec.DecodeError naming the type.
func TestTypedResultMismatch(t *testing.T) {
	// The same name, with a result of 4 bytes where the worker sends 8.
	wrong := worker.Typed("typed-norm", codec.MustBinary[point](), codec.MustBinary[uint32](),
		func(context.Context, point) (uint32, error) { return 0, nil })
	h := start(t, worker.Config{Func: "typed-norm"})
	_, err := wrong.Execute(context.Background(), h, point{3, 4})
	var de *codec.DecodeError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "binary", de.Codec)
	assert.Equal(t, "uint32", de.Type)
	assert.EqualError(t, err, "codec binary: cannot decode uint32: 8 bytes, want 4")
}

func TestTypedResultEncodeError(t *testing.T) {
	h := start(t, worker.Config{Func: "typed-nan"})
	_, err := typedNaN.Execute(context.Background(), h, "x")
	var re *worker.RemoteError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "result: codec json: cannot encode float64: json: unsupported value: NaN", re.Message)
}

func TestTypedInputEncodeError(t *testing.T) {
	h := start(t, worker.Config{Func: "typed-nan"})
	f := worker.Typed("typed-nan", codec.JSON[float64](), codec.JSON[float64](),
		func(context.Context, float64) (float64, error) { return 0, nil })
	_, err := f.Execute(context.Background(), h, math.Inf(1))
	var ee *codec.EncodeError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, "float64", ee.Type)
	assert.Zero(t, h.Status().Tasks, "nothing was sent")
}

// TestTypedWrongFunc calls a typed function on a worker that runs another
// function: the call fails before sending anything.
func TestTypedWrongFunc(t *testing.T) {
	ctx := context.Background()
	h := start(t, worker.Config{Func: "echo"})
	_, err := typedNorm.Execute(ctx, h, point{3, 4})
	require.ErrorIs(t, err, worker.ErrWrongFunc)
	assert.Contains(t, err.Error(), `typed call of "typed-norm": worker`)
	assert.Contains(t, err.Error(), `runs "echo"`)
	require.ErrorIs(t, typedNorm.Send(ctx, h, point{}), worker.ErrWrongFunc)
	_, err = h.Recv(ctx)
	require.ErrorIs(t, err, worker.ErrNoSend, "the failed Send sent nothing")
	assert.Zero(t, h.Status().Tasks)

	require.NoError(t, h.SetFunc(ctx, "typed-norm", nil))
	got, err := typedNorm.Execute(ctx, h, point{3, 4})
	require.NoError(t, err, "after SetFunc the worker runs it")
	assert.Equal(t, 5.0, got)
}

func TestTypedSendRecv(t *testing.T) {
	ctx := context.Background()
	h := start(t, worker.Config{Func: "typed-job"})
	jobs := []job{{Name: "a"}, {Name: "b", Fail: true}, {Name: "c", Tags: []string{"1", "2", "3"}}}
	for _, j := range jobs {
		require.NoError(t, typedJob.Send(ctx, h, j))
	}
	got, err := typedJob.Recv(ctx, h)
	require.NoError(t, err)
	assert.Equal(t, verdict{Name: "a"}, got)
	_, err = typedJob.Recv(ctx, h)
	var re *worker.RemoteError
	require.ErrorAs(t, err, &re)
	assert.Contains(t, re.Message, `job "b" failed`)
	got, err = typedJob.Recv(ctx, h)
	require.NoError(t, err)
	assert.Equal(t, verdict{Name: "c", Count: 3}, got)
	_, err = typedJob.Recv(ctx, h)
	assert.ErrorIs(t, err, worker.ErrNoSend)
}

func TestTypedFunc(t *testing.T) {
	ctx := context.Background()
	fn := typedNorm.Func()
	in, err := typedNorm.AppendInput(nil, point{6, 8})
	require.NoError(t, err)
	out, err := fn(ctx, in)
	require.NoError(t, err)
	got, err := typedNorm.DecodeResult(out)
	require.NoError(t, err)
	assert.Equal(t, 10.0, got)
	assert.Equal(t, "typed-norm", typedNorm.Name())

	_, err = fn(ctx, nil)
	var de *codec.DecodeError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "worker_test.point", de.Type)
}

// TestTypedCustomCodecErrors checks that a custom codec's plain errors
// become typed errors naming the Go type.
func TestTypedCustomCodecErrors(t *testing.T) {
	f := worker.Typed("custom", failing[int32]{}, failing[int32]{},
		func(_ context.Context, v int32) (int32, error) { return v, nil })
	_, err := f.AppendInput(nil, 1)
	var ee *codec.EncodeError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, "worker_test.failing[int32]", ee.Codec)
	assert.Equal(t, "int32", ee.Type)
	_, err = f.DecodeResult([]byte{1})
	var de *codec.DecodeError
	require.ErrorAs(t, err, &de)
	assert.EqualError(t, err, "codec worker_test.failing[int32]: cannot decode int32: custom failure")
}

// failing is a codec whose every call fails with a plain error.
type failing[T any] struct{}

func (failing[T]) Append(dst []byte, _ T) ([]byte, error) { return dst, errors.New("custom failure") }

func (failing[T]) Decode([]byte) (T, error) {
	var zero T
	return zero, errors.New("custom failure")
}

func TestTypedPanicsOnMisuse(t *testing.T) {
	fn := func(context.Context, string) (string, error) { return "", nil }
	assert.Panics(t, func() { worker.Typed("", codec.String(), codec.String(), fn) })
	assert.Panics(t, func() { worker.Typed("x", nil, codec.String(), fn) })
	assert.Panics(t, func() { worker.Typed[string, string]("x", codec.String(), codec.String(), nil) })
	assert.Panics(t, func() { worker.RegisterTyped("typed-norm", codec.String(), codec.String(), fn) }, "duplicate name")
}

// TestTypedResultsAreTheCallers: a typed Execute decodes from a buffer it
// reuses for the next call, so a decoded value must not alias it.
func TestTypedResultsAreTheCallers(t *testing.T) {
	ctx := context.Background()
	h := start(t, worker.Config{Func: "typed-reverse"})
	first, err := typedBytes.Execute(ctx, h, []byte("first"))
	require.NoError(t, err)
	_, err = typedBytes.Execute(ctx, h, []byte("other")) // as long: it fits the reused buffer
	require.NoError(t, err)
	assert.Equal(t, "tsrif", string(first), "the first result, after a second call")
	require.NoError(t, h.Close())
}
