package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// JSON returns the encoding/json codec of T. Decode is strict, so that the
// encoding of another type is an error rather than a zero value: the data
// must hold exactly one JSON value, and an object may not have a field
// that T lacks (json.Decoder.DisallowUnknownFields).
func JSON[T any]() Codec[T] { return jsonCodec[T]{typ: TypeName[T]()} }

type jsonCodec[T any] struct{ typ string }

func (c jsonCodec[T]) Append(dst []byte, v T) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return dst, &EncodeError{Codec: "json", Type: c.typ, Err: err}
	}
	if len(dst) == 0 {
		return b, nil // nothing to keep: spare the copy
	}
	return append(dst, b...), nil
}

func (c jsonCodec[T]) Decode(data []byte) (T, error) {
	var v T
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(&v); err != nil {
		if err == io.EOF {
			err = errors.New("no JSON value")
		}
		var zero T
		return zero, &DecodeError{Codec: "json", Type: c.typ, Err: err}
	}
	if _, err := d.Token(); err != io.EOF {
		var zero T
		return zero, &DecodeError{Codec: "json", Type: c.typ,
			Err: errors.New("data after the JSON value")}
	}
	return v, nil
}
