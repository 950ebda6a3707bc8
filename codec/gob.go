package codec

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
)

// Gob returns the encoding/gob codec of T. Each value is encoded by its
// own gob.Encoder, with its type description, since any worker may decode
// it: self-contained and tolerant of added or removed fields, but several
// times larger and slower than Binary for small values. Interface types
// need gob.Register in both processes (an init function).
func Gob[T any]() Codec[T] { return gobCodec[T]{typ: TypeName[T]()} }

type gobCodec[T any] struct{ typ string }

// appender is an io.Writer that appends to a slice.
type appender struct{ b []byte }

func (a *appender) Write(p []byte) (int, error) {
	a.b = append(a.b, p...)
	return len(p), nil
}

func (c gobCodec[T]) Append(dst []byte, v T) (out []byte, err error) {
	// gob panics on a nil pointer rather than returning an error.
	defer func() {
		if p := recover(); p != nil {
			out, err = dst, &EncodeError{Codec: "gob", Type: c.typ, Err: fmt.Errorf("%v", p)}
		}
	}()
	a := appender{b: dst}
	if err := gob.NewEncoder(&a).Encode(v); err != nil {
		return dst, &EncodeError{Codec: "gob", Type: c.typ, Err: err}
	}
	return a.b, nil
}

func (c gobCodec[T]) Decode(data []byte) (v T, err error) {
	// gob turns its own panics into errors; this guards against any it
	// does not, since data comes from another process.
	defer func() {
		if p := recover(); p != nil {
			var zero T
			v, err = zero, &DecodeError{Codec: "gob", Type: c.typ, Err: fmt.Errorf("gob panicked: %v", p)}
		}
	}()
	r := bytes.NewReader(data)
	if err := gob.NewDecoder(r).Decode(&v); err != nil {
		if err == io.EOF {
			err = errors.New("no gob value")
		}
		var zero T
		return zero, &DecodeError{Codec: "gob", Type: c.typ, Err: err}
	}
	if r.Len() != 0 {
		var zero T
		return zero, &DecodeError{Codec: "gob", Type: c.typ,
			Err: errors.New("data after the gob value")}
	}
	return v, nil
}
