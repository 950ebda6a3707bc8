package pool

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"sync"

	"github.com/shmpool/shmpool/codec"
	"github.com/shmpool/shmpool/worker"
)

// RegisterTyped is worker.RegisterTyped through Register: it builds the
// typed function with worker.Typed and registers its byte-level Func so
// that the pool can batch small items. Call it from an init function or a
// package-level var. It panics like Register and worker.Typed.
func RegisterTyped[In, Out any](name string, in codec.Codec[In], out codec.Codec[Out], fn func(ctx context.Context, in In) (Out, error)) *worker.TypedFunc[In, Out] {
	f := worker.Typed(name, in, out, fn)
	Register(name, f.Func())
	return f
}

// ResultOf is one item's outcome in StreamOf and UnorderedOf: Result with
// a decoded Out.
type ResultOf[Out any] struct {
	Index int   // the item's position in the input
	Out   Out   // the function's result; the zero value when Err is set
	Err   error // the item's error
}

// checkFunc fails, wrapping worker.ErrWrongFunc, when the pool runs
// another function than name. A SetFunc racing with the call may still
// win: tasks already queued may run either function.
func (p *Pool) checkFunc(name string) error {
	if cur := p.fn.Load().name; cur != name {
		return fmt.Errorf("pool: typed call of %q: the pool runs %q: %w", name, cur, worker.ErrWrongFunc)
	}
	return nil
}

// DoOf is Pool.Do for a typed function: it encodes in, runs it and decodes
// the result. It fails with an error wrapping worker.ErrWrongFunc when the
// pool runs another function than f, with a *codec.EncodeError when in
// cannot be encoded (nothing runs), and with a *codec.DecodeError when the
// result does not decode.
func DoOf[In, Out any](ctx context.Context, p *Pool, f *worker.TypedFunc[In, Out], in In) (Out, error) {
	return SubmitOf(ctx, p, f, in).Wait(ctx)
}

// FutureOf is the pending result of SubmitOf: a Future whose result is
// decoded. It is safe for concurrent use.
type FutureOf[Out any] struct {
	fut    *Future
	decode func([]byte) (Out, error)
	err    error // why nothing was submitted
	once   sync.Once
	out    Out
	outErr error
}

// closed is the Done channel of a FutureOf that failed at once.
var closed = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// SubmitOf is Pool.Submit for a typed function: it encodes in and queues
// it, and returns at once. It fails like DoOf, in Wait.
func SubmitOf[In, Out any](ctx context.Context, p *Pool, f *worker.TypedFunc[In, Out], in In) *FutureOf[Out] {
	r := &FutureOf[Out]{decode: f.DecodeResult}
	if r.err = p.checkFunc(f.Name()); r.err != nil {
		return r
	}
	b, err := f.AppendInput(nil, in)
	if err != nil {
		r.err = err
		return r
	}
	r.fut = p.Submit(ctx, b)
	return r
}

// Wait waits for the result and decodes it. When ctx ends first it
// returns ctx.Err(), without affecting the task; Wait can be called
// again.
func (f *FutureOf[Out]) Wait(ctx context.Context) (Out, error) {
	var zero Out
	if f.err != nil {
		return zero, f.err
	}
	b, err := f.fut.Wait(ctx)
	if err != nil {
		return zero, err
	}
	f.once.Do(func() { f.out, f.outErr = f.decode(b) })
	return f.out, f.outErr
}

// Done returns a channel closed once the result is ready.
func (f *FutureOf[Out]) Done() <-chan struct{} {
	if f.err != nil {
		return closed
	}
	return f.fut.Done()
}

// MapOf is Pool.Map for a typed function: the results of f on every item,
// decoded, in input order; on failure a *ItemError for the failing item
// with the lowest index, as Map. An item's failure is the function's error
// (a *worker.RemoteError, ...), a result that does not decode (a
// *codec.DecodeError), or an input that cannot be encoded (a
// *codec.EncodeError: the items after it do not run). The items are
// encoded before any runs, into one buffer. It fails at once, running
// nothing, with an error wrapping worker.ErrWrongFunc when the pool runs
// another function than f.
func MapOf[In, Out any](ctx context.Context, p *Pool, f *worker.TypedFunc[In, Out], ins []In) ([]Out, error) {
	if len(ins) == 0 {
		return []Out{}, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := p.checkFunc(f.Name()); err != nil {
		return nil, err
	}
	// Encode into one buffer, then slice it: the offsets stay valid as it
	// grows. Items from the first that cannot be encoded on do not run.
	var buf []byte
	ends := make([]int, 0, len(ins))
	var encErr error
	for i, in := range ins {
		var err error
		if buf, err = f.AppendInput(buf, in); err != nil {
			encErr = err
			break
		}
		if i == 0 && len(ins) > 1 {
			// Size the buffer for items like the first (exact for
			// Binary), within reason.
			buf = slices.Grow(buf, min(len(buf)*(len(ins)-1), maxEstimate))
		}
		ends = append(ends, len(buf))
	}
	enc := make([][]byte, len(ends))
	start := 0
	for i, end := range ends {
		enc[i] = buf[start:end:end]
		start = end
	}
	raw, err := p.Map(ctx, enc)
	if err != nil {
		return nil, err
	}
	outs := make([]Out, len(ins))
	for i, b := range raw {
		v, err := f.DecodeResult(b)
		if err != nil {
			return nil, &ItemError{Index: i, Err: err}
		}
		outs[i] = v
	}
	if encErr != nil {
		return nil, &ItemError{Index: len(ends), Err: encErr}
	}
	return outs, nil
}

// maxEstimate bounds the buffer MapOf allocates ahead for the encodings.
const maxEstimate = 64 << 20

// StreamOf is Pool.Stream for a typed function: it reads ins lazily,
// encodes each item as it is fed, and yields the decoded results in input
// order, with Stream's bounded memory, cancellation and early break. An
// item's failure is its ResultOf's Err and the stream goes on: the
// function's error, or a result that does not decode (a
// *codec.DecodeError). An item that cannot be encoded ends the stream
// instead, like a closed pool: the results of the items before it come
// first, then its own with the *codec.EncodeError, and nothing after it is
// read. So does a pool that runs another function than f: its first item
// is read and fails with an error wrapping worker.ErrWrongFunc.
func StreamOf[In, Out any](ctx context.Context, p *Pool, f *worker.TypedFunc[In, Out], ins iter.Seq[In]) iter.Seq[ResultOf[Out]] {
	return func(yield func(ResultOf[Out]) bool) {
		typedRun(ctx, p, p.Stream, f, ins, yield)
	}
}

// UnorderedOf is StreamOf with the results yielded as they finish, as
// Pool.Unordered. An item that cannot be encoded ends it after the items
// before it have finished, with that item's result last.
func UnorderedOf[In, Out any](ctx context.Context, p *Pool, f *worker.TypedFunc[In, Out], ins iter.Seq[In]) iter.Seq[ResultOf[Out]] {
	return func(yield func(ResultOf[Out]) bool) {
		typedRun(ctx, p, p.Unordered, f, ins, yield)
	}
}

// typedRun runs StreamOf or UnorderedOf over run (Pool.Stream or
// Pool.Unordered). Items are encoded as run reads them; an item that fails
// to encode (or the function check) ends run's input, and its result is
// yielded once run has yielded the results of the items before it.
func typedRun[In, Out any](ctx context.Context, p *Pool, run func(context.Context, iter.Seq[[]byte]) iter.Seq[Result], f *worker.TypedFunc[In, Out], ins iter.Seq[In], yield func(ResultOf[Out]) bool) {
	fed := 0
	var stopErr error
	src := func(feed func([]byte) bool) {
		for in := range ins {
			if fed == 0 {
				if stopErr = p.checkFunc(f.Name()); stopErr != nil {
					return
				}
			}
			b, err := f.AppendInput(nil, in)
			if err != nil {
				stopErr = err
				return
			}
			fed++
			if !feed(b) {
				return
			}
		}
	}
	var last error
	for r := range run(ctx, src) {
		res := ResultOf[Out]{Index: r.Index, Err: r.Err}
		if r.Err == nil {
			res.Out, res.Err = f.DecodeResult(r.Out)
		}
		last = r.Err
		if !yield(res) {
			return
		}
	}
	if stopErr == nil {
		return
	}
	if err := ctx.Err(); err != nil && last == err {
		return // the stream ended with the context's error already
	}
	yield(ResultOf[Out]{Index: fed, Err: stopErr})
}
