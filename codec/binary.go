package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
)

// Binary returns the fixed-size little-endian codec of T: the encoding of
// encoding/binary (binary.Append with binary.LittleEndian, byte for byte),
// for a T of bools, sized integers, floats, complex numbers, and arrays
// and structs of them. It returns an error wrapping ErrNotFixedSize, which
// names the offending field, for any other T: int, uint and uintptr (whose
// size depends on the platform), strings, slices, maps, pointers,
// interfaces, and unexported fields other than blank (_) ones.
//
// Decode requires exactly binary.Size(T) bytes and a 0 or 1 byte for each
// bool. Blank fields are written as zeros and skipped when read, as
// encoding/binary does.
//
// The layout of T is planned once, here; a call walks the plan with
// reflection but no allocation, several times faster than encoding/binary
// for a struct (BenchmarkBinary).
func Binary[T any]() (Codec[T], error) {
	t := reflect.TypeFor[T]()
	root, err := plan(t, t.String())
	if err != nil {
		return nil, fmt.Errorf("codec binary: %s: %w", t, err)
	}
	if want := binary.Size(reflect.New(t).Interface()); want != root.size {
		// Cannot happen: plan follows binary.Size's rules.
		return nil, fmt.Errorf("codec binary: %s: planned %d bytes, binary.Size says %d: %w", t, root.size, want, ErrNotFixedSize)
	}
	return &binaryCodec[T]{typ: t.String(), size: root.size, root: root}, nil
}

// MustBinary is Binary for a type known to be fixed-size: it panics on
// Binary's error (a programming error), like regexp.MustCompile, so that a
// typed function can be built in a package-level var.
func MustBinary[T any]() Codec[T] {
	c, err := Binary[T]()
	if err != nil {
		panic(err)
	}
	return c
}

type binaryCodec[T any] struct {
	typ  string
	size int
	root *node
}

// node is the plan of one value: a leaf (a number or a bool), a struct,
// or an array.
type node struct {
	kind   reflect.Kind
	size   int     // encoded bytes
	path   string  // for errors: "main.Point.Flags[3]" style, with [i] for arrays
	fields []field // struct
	elem   *node   // array
	n      int     // array length
	bytes  bool    // an array of bytes: copied whole
}

type field struct {
	index int
	blank bool // a _ field: zeros written, skipped when read
	node  *node
}

func plan(t reflect.Type, path string) (*node, error) {
	n := &node{kind: t.Kind(), path: path}
	switch t.Kind() {
	case reflect.Bool, reflect.Int8, reflect.Uint8:
		n.size = 1
	case reflect.Int16, reflect.Uint16:
		n.size = 2
	case reflect.Int32, reflect.Uint32, reflect.Float32:
		n.size = 4
	case reflect.Int64, reflect.Uint64, reflect.Float64, reflect.Complex64:
		n.size = 8
	case reflect.Complex128:
		n.size = 16
	case reflect.Array:
		elem, err := plan(t.Elem(), path+"[i]")
		if err != nil {
			return nil, err
		}
		n.elem, n.n, n.size = elem, t.Len(), elem.size*t.Len()
		n.bytes = t.Elem().Kind() == reflect.Uint8
	case reflect.Struct:
		for i := range t.NumField() {
			sf := t.Field(i)
			f := field{index: i, blank: sf.Name == "_"}
			if !sf.IsExported() && !f.blank {
				return nil, fmt.Errorf("field %s.%s is unexported, so it cannot be set: %w", path, sf.Name, ErrNotFixedSize)
			}
			fn, err := plan(sf.Type, path+"."+sf.Name)
			if err != nil {
				return nil, err
			}
			f.node = fn
			n.size += fn.size
			n.fields = append(n.fields, f)
		}
	case reflect.Int, reflect.Uint, reflect.Uintptr:
		return nil, fmt.Errorf("%s is %s, whose size depends on the platform (use a sized type such as %s64): %w", path, t, t.Kind(), ErrNotFixedSize)
	default:
		return nil, fmt.Errorf("%s is %s, a %s has no fixed size: %w", path, t, t.Kind(), ErrNotFixedSize)
	}
	return n, nil
}

func (c *binaryCodec[T]) Append(dst []byte, v T) ([]byte, error) {
	dst = slices.Grow(dst, c.size) // appending the value allocates at most once
	return appendValue(dst, c.root, reflect.ValueOf(&v).Elem()), nil
}

func appendValue(b []byte, n *node, v reflect.Value) []byte {
	le := binary.LittleEndian
	switch n.kind {
	case reflect.Bool:
		if v.Bool() {
			return append(b, 1)
		}
		return append(b, 0)
	case reflect.Int8:
		return append(b, byte(v.Int()))
	case reflect.Uint8:
		return append(b, byte(v.Uint()))
	case reflect.Int16:
		return le.AppendUint16(b, uint16(v.Int()))
	case reflect.Uint16:
		return le.AppendUint16(b, uint16(v.Uint()))
	case reflect.Int32:
		return le.AppendUint32(b, uint32(v.Int()))
	case reflect.Uint32:
		return le.AppendUint32(b, uint32(v.Uint()))
	case reflect.Int64:
		return le.AppendUint64(b, uint64(v.Int()))
	case reflect.Uint64:
		return le.AppendUint64(b, v.Uint())
	case reflect.Float32:
		return le.AppendUint32(b, math.Float32bits(float32(v.Float())))
	case reflect.Float64:
		return le.AppendUint64(b, math.Float64bits(v.Float()))
	case reflect.Complex64:
		x := v.Complex()
		b = le.AppendUint32(b, math.Float32bits(float32(real(x))))
		return le.AppendUint32(b, math.Float32bits(float32(imag(x))))
	case reflect.Complex128:
		x := v.Complex()
		b = le.AppendUint64(b, math.Float64bits(real(x)))
		return le.AppendUint64(b, math.Float64bits(imag(x)))
	case reflect.Array:
		if n.bytes {
			return append(b, v.Bytes()...)
		}
		for i := range n.n {
			b = appendValue(b, n.elem, v.Index(i))
		}
		return b
	case reflect.Struct:
		for _, f := range n.fields {
			if f.blank {
				b = append(b, make([]byte, f.node.size)...)
				continue
			}
			b = appendValue(b, f.node, v.Field(f.index))
		}
		return b
	}
	panic("codec: binary: unplanned kind " + n.kind.String()) // plan admits no other kind
}

func (c *binaryCodec[T]) Decode(data []byte) (T, error) {
	var v T
	if len(data) != c.size {
		return v, &DecodeError{Codec: "binary", Type: c.typ,
			Err: fmt.Errorf("%d bytes, want %d", len(data), c.size)}
	}
	if err := decodeValue(data, c.root, reflect.ValueOf(&v).Elem()); err != nil {
		var zero T
		return zero, &DecodeError{Codec: "binary", Type: c.typ, Err: err}
	}
	return v, nil
}

// decodeValue sets v from b, which holds exactly n.size bytes.
func decodeValue(b []byte, n *node, v reflect.Value) error {
	le := binary.LittleEndian
	switch n.kind {
	case reflect.Bool:
		switch b[0] {
		case 0:
			v.SetBool(false)
		case 1:
			v.SetBool(true)
		default:
			return fmt.Errorf("%s: bool byte %#02x is neither 0 nor 1", n.path, b[0])
		}
	case reflect.Int8:
		v.SetInt(int64(int8(b[0])))
	case reflect.Uint8:
		v.SetUint(uint64(b[0]))
	case reflect.Int16:
		v.SetInt(int64(int16(le.Uint16(b))))
	case reflect.Uint16:
		v.SetUint(uint64(le.Uint16(b)))
	case reflect.Int32:
		v.SetInt(int64(int32(le.Uint32(b))))
	case reflect.Uint32:
		v.SetUint(uint64(le.Uint32(b)))
	case reflect.Int64:
		v.SetInt(int64(le.Uint64(b)))
	case reflect.Uint64:
		v.SetUint(le.Uint64(b))
	case reflect.Float32:
		v.SetFloat(float64(math.Float32frombits(le.Uint32(b))))
	case reflect.Float64:
		v.SetFloat(math.Float64frombits(le.Uint64(b)))
	case reflect.Complex64:
		v.SetComplex(complex(
			float64(math.Float32frombits(le.Uint32(b))),
			float64(math.Float32frombits(le.Uint32(b[4:])))))
	case reflect.Complex128:
		v.SetComplex(complex(
			math.Float64frombits(le.Uint64(b)),
			math.Float64frombits(le.Uint64(b[8:]))))
	case reflect.Array:
		if n.bytes {
			copy(v.Bytes(), b)
			return nil
		}
		es := n.elem.size
		for i := range n.n {
			if err := decodeValue(b[i*es:(i+1)*es], n.elem, v.Index(i)); err != nil {
				return fmt.Errorf("%w (element %d)", err, i)
			}
		}
	case reflect.Struct:
		for _, f := range n.fields {
			fb := b[:f.node.size]
			b = b[f.node.size:]
			if f.blank {
				continue
			}
			if err := decodeValue(fb, f.node, v.Field(f.index)); err != nil {
				return err
			}
		}
	default:
		return errors.New("unplanned kind " + n.kind.String())
	}
	return nil
}
