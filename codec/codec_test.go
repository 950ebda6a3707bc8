package codec_test

import (
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/codec"
)

// point is a small fixed-size type, gob and json friendly.
type point struct {
	X, Y int32
	Name [8]byte
}

// record is a variable-size type for gob and json.
type record struct {
	Name  string
	Tags  []string
	Score float64
	Next  *record
}

// nested exercises every kind Binary supports, with blank fields.
type nested struct {
	B   bool
	I8  int8
	U8  uint8
	I16 int16
	U16 uint16
	I32 int32
	U32 uint32
	I64 int64
	U64 uint64
	F32 float32
	F64 float64
	C64 complex64
	C   complex128
	_   [3]byte
	P   [2]point
	M   [2][3]int16
	_   uint32
	Raw [5]byte
}

// roundTrip encodes v after a prefix, checks the prefix survived, decodes
// the rest and returns the value.
func roundTrip[T any](t *testing.T, c codec.Codec[T], v T) T {
	t.Helper()
	prefix := []byte("prefix")
	b, err := c.Append(append([]byte(nil), prefix...), v)
	require.NoError(t, err)
	require.Equal(t, prefix, b[:len(prefix)], "Append must append to dst")
	got, err := c.Decode(b[len(prefix):])
	require.NoError(t, err)
	return got
}

func TestBytesRoundTrip(t *testing.T) {
	for _, v := range [][]byte{nil, {}, {0}, []byte("hello"), make([]byte, 1<<16)} {
		got := roundTrip(t, codec.Bytes(), v)
		assert.Equal(t, string(v), string(got))
		assert.NotNil(t, got, "Decode returns a non-nil slice")
	}
	t.Run("decode copies", func(t *testing.T) {
		data := []byte("shared")
		got, err := codec.Bytes().Decode(data)
		require.NoError(t, err)
		data[0] = 'X'
		assert.Equal(t, "shared", string(got))
	})
}

func TestStringRoundTrip(t *testing.T) {
	for _, v := range []string{"", "a", "héllo, wörld", "\x00\xff not utf-8", strings.Repeat("x", 1<<16)} {
		assert.Equal(t, v, roundTrip(t, codec.String(), v))
	}
	t.Run("decode copies", func(t *testing.T) {
		data := []byte("shared")
		got, err := codec.String().Decode(data)
		require.NoError(t, err)
		data[0] = 'X'
		assert.Equal(t, "shared", got)
	})
}

func TestJSONRoundTrip(t *testing.T) {
	r := record{Name: "a", Tags: []string{"x", ""}, Score: math.MaxFloat64, Next: &record{Name: "b", Score: -0.5}}
	assert.Equal(t, r, roundTrip(t, codec.JSON[record](), r))
	assert.Equal(t, record{}, roundTrip(t, codec.JSON[record](), record{}))
	assert.Equal(t, point{X: math.MinInt32, Y: math.MaxInt32}, roundTrip(t, codec.JSON[point](), point{X: math.MinInt32, Y: math.MaxInt32}))
	assert.Equal(t, "", roundTrip(t, codec.JSON[string](), ""))
	assert.Equal(t, map[string]int{"a": 1}, roundTrip(t, codec.JSON[map[string]int](), map[string]int{"a": 1}))
	assert.Equal(t, []int(nil), roundTrip(t, codec.JSON[[]int](), nil))
	assert.Equal(t, int64(math.MinInt64), roundTrip(t, codec.JSON[int64](), math.MinInt64))
}

func TestGobRoundTrip(t *testing.T) {
	r := record{Name: "a", Tags: []string{"x", "y"}, Score: math.Inf(-1), Next: &record{Name: "b"}}
	assert.Equal(t, r, roundTrip(t, codec.Gob[record](), r))
	assert.Equal(t, record{}, roundTrip(t, codec.Gob[record](), record{}))
	assert.Equal(t, point{X: math.MinInt32, Y: math.MaxInt32, Name: [8]byte{1, 2}}, roundTrip(t, codec.Gob[point](), point{X: math.MinInt32, Y: math.MaxInt32, Name: [8]byte{1, 2}}))
	assert.Equal(t, "", roundTrip(t, codec.Gob[string](), ""))
	assert.Equal(t, uint64(math.MaxUint64), roundTrip(t, codec.Gob[uint64](), math.MaxUint64))
	assert.Equal(t, []byte("gob"), roundTrip(t, codec.Gob[[]byte](), []byte("gob")))
}

func TestBinaryRoundTrip(t *testing.T) {
	full := nested{
		B: true, I8: math.MinInt8, U8: math.MaxUint8, I16: math.MinInt16, U16: math.MaxUint16,
		I32: math.MinInt32, U32: math.MaxUint32, I64: math.MinInt64, U64: math.MaxUint64,
		F32: -math.MaxFloat32, F64: math.SmallestNonzeroFloat64, C64: complex(1.5, -2), C: complex(math.Inf(1), math.Copysign(0, -1)),
		P:   [2]point{{X: 1, Y: -1, Name: [8]byte{'p'}}, {X: math.MaxInt32}},
		M:   [2][3]int16{{1, 2, 3}, {-4, -5, math.MaxInt16}},
		Raw: [5]byte{0, 1, 0xfe, 0xff, 7},
	}
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"every kind, extreme values", func(t *testing.T) {
			assert.Equal(t, full, roundTrip(t, codec.MustBinary[nested](), full))
		}},
		{"zero value", func(t *testing.T) {
			assert.Equal(t, nested{}, roundTrip(t, codec.MustBinary[nested](), nested{}))
		}},
		{"scalar", func(t *testing.T) {
			assert.Equal(t, uint64(math.MaxUint64), roundTrip(t, codec.MustBinary[uint64](), math.MaxUint64))
			assert.Equal(t, int16(-1), roundTrip(t, codec.MustBinary[int16](), -1))
			assert.Equal(t, true, roundTrip(t, codec.MustBinary[bool](), true))
		}},
		{"NaN keeps its bits", func(t *testing.T) {
			got := roundTrip(t, codec.MustBinary[float64](), math.NaN())
			assert.Equal(t, math.Float64bits(math.NaN()), math.Float64bits(got))
		}},
		{"array of arrays", func(t *testing.T) {
			v := [3][2]float32{{1, 2}, {3, 4}, {-0.5, math.MaxFloat32}}
			assert.Equal(t, v, roundTrip(t, codec.MustBinary[[3][2]float32](), v))
		}},
		{"empty struct", func(t *testing.T) {
			b, err := codec.MustBinary[struct{}]().Append(nil, struct{}{})
			require.NoError(t, err)
			assert.Empty(t, b)
			assert.Equal(t, struct{}{}, roundTrip(t, codec.MustBinary[struct{}](), struct{}{}))
		}},
		{"the bytes of encoding/binary", func(t *testing.T) {
			want, err := binary.Append(nil, binary.LittleEndian, full)
			require.NoError(t, err)
			got, err := codec.MustBinary[nested]().Append(nil, full)
			require.NoError(t, err)
			assert.Equal(t, want, got)
		}},
		{"blank fields are written as zeros", func(t *testing.T) {
			type padded struct {
				A uint8
				_ [3]byte
				B uint32
			}
			b, err := codec.MustBinary[padded]().Append(nil, padded{A: 1, B: 2})
			require.NoError(t, err)
			assert.Equal(t, []byte{1, 0, 0, 0, 2, 0, 0, 0}, b)
			got, err := codec.MustBinary[padded]().Decode([]byte{1, 9, 9, 9, 2, 0, 0, 0})
			require.NoError(t, err)
			assert.Equal(t, padded{A: 1, B: 2}, got)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

func TestBinaryRejectsTypesWithoutFixedSize(t *testing.T) {
	tests := []struct {
		name string
		new  func() error
		want string // in the error
	}{
		{"int", func() error { _, err := codec.Binary[int](); return err }, "int is int, whose size depends on the platform"},
		{"string", func() error { _, err := codec.Binary[string](); return err }, "string is string, a string has no fixed size"},
		{"pointer", func() error { _, err := codec.Binary[*point](); return err }, "*codec_test.point is *codec_test.point"},
		{"slice field", func() error { _, err := codec.Binary[record](); return err }, "codec_test.record.Name is string"},
		{"map", func() error { _, err := codec.Binary[map[int32]int32](); return err }, "a map has no fixed size"},
		{"interface", func() error { _, err := codec.Binary[any](); return err }, "interface {}"},
		{"uintptr in an array", func() error { _, err := codec.Binary[[2]uintptr](); return err }, "[2]uintptr[i] is uintptr"},
		{"unexported field", func() error {
			_, err := codec.Binary[struct{ A, b int32 }]()
			return err
		}, "field struct { A int32; b int32 }.b is unexported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.new()
			require.Error(t, err)
			assert.ErrorIs(t, err, codec.ErrNotFixedSize)
			assert.Contains(t, err.Error(), tt.want)
			assert.True(t, strings.HasPrefix(err.Error(), "codec binary: "), err.Error())
		})
	}
	assert.PanicsWithError(t, "codec binary: int: int is int, whose size depends on the platform (use a sized type such as int64): codec: type is not fixed-size",
		func() { codec.MustBinary[int]() })
}

// TestDecodeMismatch checks that bytes of the wrong length, garbage or the
// encoding of another type fail with a *DecodeError naming the codec and
// the Go type.
func TestDecodeMismatch(t *testing.T) {
	jsonOf := func(v any) []byte {
		b, err := codec.JSON[any]().Append(nil, v)
		require.NoError(t, err)
		return b
	}
	gobRecord, err := codec.Gob[record]().Append(nil, record{Name: "r", Tags: []string{"t"}})
	require.NoError(t, err)
	gobInt, err := codec.Gob[int64]().Append(nil, 42)
	require.NoError(t, err)
	tests := []struct {
		name   string
		decode func([]byte) error
		data   []byte
		codec  string
		typ    string
		detail string
	}{
		{"binary too short", decodeWith(codec.MustBinary[point]()), make([]byte, 15), "binary", "codec_test.point", "15 bytes, want 16"},
		{"binary too long", decodeWith(codec.MustBinary[point]()), make([]byte, 17), "binary", "codec_test.point", "17 bytes, want 16"},
		{"binary empty", decodeWith(codec.MustBinary[uint32]()), nil, "binary", "uint32", "0 bytes, want 4"},
		{"binary bad bool", decodeWith(codec.MustBinary[nested]()), func() []byte {
			b, _ := codec.MustBinary[nested]().Append(nil, nested{})
			b[0] = 2
			return b
		}(), "binary", "codec_test.nested", "codec_test.nested.B: bool byte 0x02 is neither 0 nor 1"},
		{"binary bad bool in an array", decodeWith(codec.MustBinary[[3]bool]()), []byte{1, 0, 7}, "binary", "[3]bool", "bool byte 0x07 is neither 0 nor 1 (element 2)"},
		{"json garbage", decodeWith(codec.JSON[point]()), []byte("{not json"), "json", "codec_test.point", "invalid character"},
		{"json empty", decodeWith(codec.JSON[point]()), nil, "json", "codec_test.point", "no JSON value"},
		{"json trailing data", decodeWith(codec.JSON[int32]()), []byte("1 2"), "json", "int32", "data after the JSON value"},
		{"json another type", decodeWith(codec.JSON[point]()), jsonOf(struct{ Label string }{"r"}), "json", "codec_test.point", `unknown field "Label"`},
		{"json wrong kind", decodeWith(codec.JSON[point]()), jsonOf([]int{1}), "json", "codec_test.point", "cannot unmarshal array"},
		{"gob garbage", decodeWith(codec.Gob[record]()), []byte("garbage!"), "gob", "codec_test.record", ""},
		{"gob empty", decodeWith(codec.Gob[record]()), nil, "gob", "codec_test.record", "no gob value"},
		{"gob another type", decodeWith(codec.Gob[record]()), gobInt, "gob", "codec_test.record", "type mismatch"},
		{"gob trailing data", decodeWith(codec.Gob[record]()), append(append([]byte(nil), gobRecord...), 0), "gob", "codec_test.record", ""},
		{"gob truncated", decodeWith(codec.Gob[record]()), gobRecord[:len(gobRecord)-3], "gob", "codec_test.record", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.decode(tt.data)
			require.Error(t, err)
			var de *codec.DecodeError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, tt.codec, de.Codec)
			assert.Equal(t, tt.typ, de.Type)
			assert.Contains(t, err.Error(), "codec "+tt.codec+": cannot decode "+tt.typ+": ")
			assert.Contains(t, err.Error(), tt.detail)
			assert.Equal(t, de.Err, errors.Unwrap(de))
		})
	}
}

func decodeWith[T any](c codec.Codec[T]) func([]byte) error {
	return func(b []byte) error { _, err := c.Decode(b); return err }
}

func TestEncodeError(t *testing.T) {
	tests := []struct {
		name   string
		encode func() error
		codec  string
		typ    string
		detail string
	}{
		{"json NaN", func() error { _, err := codec.JSON[float64]().Append(nil, math.NaN()); return err }, "json", "float64", "unsupported value: NaN"},
		{"json channel", func() error { _, err := codec.JSON[chan int]().Append(nil, make(chan int)); return err }, "json", "chan int", "unsupported type"},
		{"gob nil pointer", func() error { _, err := codec.Gob[*record]().Append(nil, nil); return err }, "gob", "*codec_test.record", "nil pointer"},
		{"gob no exported fields", func() error {
			_, err := codec.Gob[struct{ a int }]().Append(nil, struct{ a int }{})
			return err
		}, "gob", "struct { a int }", "no exported fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.encode()
			require.Error(t, err)
			var ee *codec.EncodeError
			require.ErrorAs(t, err, &ee)
			assert.Equal(t, tt.codec, ee.Codec)
			assert.Equal(t, tt.typ, ee.Type)
			assert.Contains(t, err.Error(), "codec "+tt.codec+": cannot encode "+tt.typ+": ")
			assert.Contains(t, err.Error(), tt.detail)
		})
	}
}

func TestAppendKeepsDstOnError(t *testing.T) {
	dst := []byte("keep")
	got, err := codec.JSON[float64]().Append(dst, math.Inf(1))
	require.Error(t, err)
	assert.Equal(t, "keep", string(got))
}

func TestTypeName(t *testing.T) {
	assert.Equal(t, "codec_test.point", codec.TypeName[point]())
	assert.Equal(t, "[]uint8", codec.TypeName[[]byte]())
	assert.Equal(t, "interface {}", codec.TypeName[any]())
}

// TestBinaryAllocations pins the allocation-free hot path: Append into a
// buffer with room, and Decode.
func TestBinaryAllocations(t *testing.T) {
	c := codec.MustBinary[nested]()
	buf := make([]byte, 0, 256)
	enc, err := c.Append(nil, nested{B: true})
	require.NoError(t, err)
	assert.Zero(t, testing.AllocsPerRun(100, func() { buf, _ = c.Append(buf[:0], nested{U64: 1}) }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = c.Decode(enc) }))
}
