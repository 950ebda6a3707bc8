package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/shmpool/shmpool/codec"
	"github.com/shmpool/shmpool/status"
)

// ErrWrongFunc is wrapped by the error of a typed call on a worker (or a
// pool) that runs another function than the typed function's: its bytes
// would be decoded as the wrong type, or worse, as the right one.
var ErrWrongFunc = errors.New("worker: the worker runs another function")

// TypedFunc is a function of In and Out values run in a worker process: a
// Func with a codec for its input and one for its result. Build it with
// Typed or RegisterTyped; call it on a Handle with Execute, or Send and
// Recv, and on a pool with package pool's MapOf, StreamOf, UnorderedOf,
// DoOf and SubmitOf. It is safe for concurrent use.
type TypedFunc[In, Out any] struct {
	name   string
	in     codec.Codec[In]
	out    codec.Codec[Out]
	fn     func(ctx context.Context, in In) (Out, error)
	inType string
	outTyp string
}

// Typed builds the typed function name of fn, with the codecs of its
// input and its result. It does not register it: register Func under the
// same name (RegisterTyped does both, and pool.RegisterTyped does both
// with batching). It panics on an empty name or a nil codec or function,
// a programming error.
func Typed[In, Out any](name string, in codec.Codec[In], out codec.Codec[Out], fn func(ctx context.Context, in In) (Out, error)) *TypedFunc[In, Out] {
	if name == "" || in == nil || out == nil || fn == nil {
		panic(fmt.Sprintf("worker: Typed(%q) with an empty name, a nil codec or a nil function", name))
	}
	return &TypedFunc[In, Out]{name: name, in: in, out: out, fn: fn,
		inType: codec.TypeName[In](), outTyp: codec.TypeName[Out]()}
}

// RegisterTyped builds the typed function with Typed and registers its
// Func with Register. Call it from an init function or a package-level
// var, so that the worker registers it too. It panics like Register.
func RegisterTyped[In, Out any](name string, in codec.Codec[In], out codec.Codec[Out], fn func(ctx context.Context, in In) (Out, error)) *TypedFunc[In, Out] {
	f := Typed(name, in, out, fn)
	Register(name, f.Func())
	return f
}

// Name returns the name the function is registered under.
func (f *TypedFunc[In, Out]) Name() string { return f.name }

// Func returns the function at the byte level, as the worker runs it: it
// decodes the input, calls the typed function and encodes its result. An
// input that does not decode fails the call with an error that names In
// and the codec (it reaches the parent as a *RemoteError); so does a
// result that does not encode.
func (f *TypedFunc[In, Out]) Func() Func {
	return func(ctx context.Context, data []byte) ([]byte, error) {
		in, err := f.decodeInput(data)
		if err != nil {
			return nil, fmt.Errorf("input: %w", err)
		}
		out, err := f.fn(ctx, in)
		if err != nil {
			return nil, err
		}
		b, err := f.AppendResult(nil, out)
		if err != nil {
			return nil, fmt.Errorf("result: %w", err)
		}
		return b, nil
	}
}

// AppendInput encodes in with the input codec, appending it to dst: the
// payload that Func decodes. A failure is a *codec.EncodeError.
func (f *TypedFunc[In, Out]) AppendInput(dst []byte, in In) ([]byte, error) {
	return encode(f.in, f.inType, dst, in)
}

// AppendResult encodes out with the result codec, appending it to dst. A
// failure is a *codec.EncodeError.
func (f *TypedFunc[In, Out]) AppendResult(dst []byte, out Out) ([]byte, error) {
	return encode(f.out, f.outTyp, dst, out)
}

// DecodeResult decodes a result that Func encoded. A failure is a
// *codec.DecodeError naming Out and the codec.
func (f *TypedFunc[In, Out]) DecodeResult(data []byte) (Out, error) {
	return decode(f.out, f.outTyp, data)
}

func (f *TypedFunc[In, Out]) decodeInput(data []byte) (In, error) {
	return decode(f.in, f.inType, data)
}

// encode appends v, of type typ, encoded with c to dst; a failure is a
// *codec.EncodeError, made one if a custom codec returned another error.
func encode[T any](c codec.Codec[T], typ string, dst []byte, v T) ([]byte, error) {
	b, err := c.Append(dst, v)
	if err == nil {
		return b, nil
	}
	var ee *codec.EncodeError
	if !errors.As(err, &ee) {
		err = &codec.EncodeError{Codec: fmt.Sprintf("%T", c), Type: typ, Err: err}
	}
	return dst, err
}

// decode decodes data, of type typ, with c; a failure is a
// *codec.DecodeError, made one if a custom codec returned another error.
func decode[T any](c codec.Codec[T], typ string, data []byte) (T, error) {
	v, err := c.Decode(data)
	if err == nil {
		return v, nil
	}
	var de *codec.DecodeError
	if !errors.As(err, &de) {
		err = &codec.DecodeError{Codec: fmt.Sprintf("%T", c), Type: typ, Err: err}
	}
	var zero T
	return zero, err
}

// Execute runs the function on in in the worker of h and returns its
// result: Handle.Execute with the codecs. It fails with an error wrapping
// ErrWrongFunc, sending nothing, when the worker runs another function (as
// its status block says: a SetFunc racing with the call may still win); a
// result that does not decode is a *codec.DecodeError.
func (f *TypedFunc[In, Out]) Execute(ctx context.Context, h *Handle, in In) (Out, error) {
	var zero Out
	if err := f.check(h); err != nil {
		return zero, err
	}
	buf := getBuf()
	b, err := f.AppendInput(buf.b[:0], in)
	if err != nil {
		putBuf(buf)
		return zero, err
	}
	// The result goes into a second reused buffer: the codec copies what
	// it keeps, so a typed call allocates only what the decoded value holds
	// (0 allocs/op for Binary values, 1 with a fresh result: go test
	// -run='^$' -bench='^BenchmarkTypedExecute$' ./worker/).
	res := getBuf()
	out, err := h.ExecuteAppend(ctx, res.b[:0], b) // b has been copied into the ring when it returns
	buf.b = b
	putBuf(buf)
	if err != nil {
		putBuf(res)
		return zero, err
	}
	v, err := f.DecodeResult(out)
	res.b = out
	putBuf(res)
	return v, err
}

// Send queues in for the function in the worker of h: Handle.Send with
// the input codec. Take the result with Recv. It fails like Execute when
// the worker runs another function.
func (f *TypedFunc[In, Out]) Send(ctx context.Context, h *Handle, in In) error {
	if err := f.check(h); err != nil {
		return err
	}
	buf := getBuf()
	b, err := f.AppendInput(buf.b[:0], in)
	if err != nil {
		putBuf(buf)
		return err
	}
	err = h.Send(ctx, b) // b is in the ring (or dropped) when it returns
	buf.b = b
	putBuf(buf)
	return err
}

// Recv returns the next result of Send from h, in Send order, decoded:
// Handle.Recv with the result codec. Every Send on h must be typed with
// the same result type. A result that does not decode is a
// *codec.DecodeError.
func (f *TypedFunc[In, Out]) Recv(ctx context.Context, h *Handle) (Out, error) {
	out, err := h.Recv(ctx)
	if err != nil {
		var zero Out
		return zero, err
	}
	return f.DecodeResult(out)
}

// check fails when the worker of h runs another function.
func (f *TypedFunc[In, Out]) check(h *Handle) error {
	got := h.funcName()
	if got == "" || sameFunc(f.name, got) {
		return nil
	}
	return fmt.Errorf("worker: typed call of %q: worker %d runs %q: %w", f.name, h.PID(), got, ErrWrongFunc)
}

// sameFunc reports whether a function name read from a status block
// (status.Snapshot.Func, cut to status.FuncNameMax bytes) is name.
func sameFunc(name, got string) bool {
	if name == got {
		return true
	}
	return len(name) > status.FuncNameMax && len(got) > status.FuncNameMax-utf8.UTFMax &&
		strings.HasPrefix(name, got)
}

// buffer is a reusable buffer for typed calls on a Handle: for the encoded
// payload, which has been copied into the ring when Execute or Send
// returns, and for the result, which has been decoded (and copied by the
// codec) when Execute returns.
type buffer struct{ b []byte }

var buffers = sync.Pool{New: func() any { return new(buffer) }}

// maxKeptBuffer bounds the buffers kept for reuse.
const maxKeptBuffer = 64 << 10

func getBuf() *buffer { return buffers.Get().(*buffer) }

func putBuf(b *buffer) {
	if cap(b.b) > maxKeptBuffer {
		b.b = nil
	}
	buffers.Put(b)
}
