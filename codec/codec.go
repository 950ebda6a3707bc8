package codec

import (
	"errors"
	"fmt"
	"reflect"
)

// Codec turns values of type T into bytes and back. Implementations must
// be safe for concurrent use: one Codec serves every call of a typed
// function, in the parent and in the worker.
type Codec[T any] interface {
	// Append encodes v, appending it to dst, and returns the extended
	// slice.
	Append(dst []byte, v T) ([]byte, error)
	// Decode decodes one value that fills data exactly. data may alias
	// shared memory that the peer process writes, or a buffer the caller
	// reuses for the next result: Decode must not retain it (copy what the
	// value keeps), and must return an error, never panic, whatever the
	// bytes.
	Decode(data []byte) (T, error)
}

// ErrNotFixedSize is wrapped by the error of Binary for a type that has no
// fixed-size encoding (binary.Size reports -1 for it, or reflection cannot
// set one of its fields).
var ErrNotFixedSize = errors.New("codec: type is not fixed-size")

// DecodeError reports bytes that do not decode to the expected type: of
// the wrong length, malformed, or the encoding of another type.
type DecodeError struct {
	Codec string // the codec's name: "binary", "json", "gob", "bytes", "string", or a custom codec's type
	Type  string // the Go type decoded into, as reflect prints it ("main.Point")
	Err   error  // what was wrong
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("codec %s: cannot decode %s: %v", e.Codec, e.Type, e.Err)
}

// Unwrap returns Err.
func (e *DecodeError) Unwrap() error { return e.Err }

// EncodeError reports a value that the codec cannot encode: a json
// NaN, a gob nil pointer, a type without exported fields, ...
type EncodeError struct {
	Codec string // the codec's name, as in DecodeError
	Type  string // the Go type encoded
	Err   error  // what was wrong
}

func (e *EncodeError) Error() string {
	return fmt.Sprintf("codec %s: cannot encode %s: %v", e.Codec, e.Type, e.Err)
}

// Unwrap returns Err.
func (e *EncodeError) Unwrap() error { return e.Err }

// TypeName returns the name of T as reflect prints it ("main.Point",
// "[]uint8", "interface {}"): the Type of DecodeError and EncodeError.
func TypeName[T any]() string { return reflect.TypeFor[T]().String() }
