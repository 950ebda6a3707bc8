package proto_test

import (
	"encoding/hex"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/internal/proto"
)

func TestRemoteErrorRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		e    proto.RemoteError
	}{
		{"the zero value", proto.RemoteError{}},
		{"a returned error", proto.RemoteError{Func: "upper", Message: "bad input"}},
		{"a panic with a stack", proto.RemoteError{Func: "upper", Message: "runtime error: index out of range", Panic: true, Stack: "goroutine 7 [running]:\nmain.upper(...)"}},
		{"an unknown function", proto.RemoteError{Code: proto.CodeUnknownFunc, Func: "nope", Message: `no function registered as "nope"`}},
		{"a message that is not UTF-8", proto.RemoteError{Func: "f", Message: "\xff\xfe"}},
		{"a name of the longest length", proto.RemoteError{Func: strings.Repeat("n", proto.MaxNameLen)}},
		{"a message longer than a one-byte varint", proto.RemoteError{Func: "f", Message: strings.Repeat("m", 300)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := proto.AppendRemoteError([]byte("prefix"), tt.e)
			require.Equal(t, "prefix", string(b[:6]), "Append appends")
			got, err := proto.DecodeRemoteError(b[6:])
			require.NoError(t, err)
			assert.Equal(t, tt.e, got)
		})
	}
}

func TestRemoteErrorEncoding(t *testing.T) {
	b := proto.AppendRemoteError(nil, proto.RemoteError{Code: proto.CodeFunc, Func: "f", Message: "m", Panic: true, Stack: "s"})
	assert.Equal(t, "0001"+"0166"+"016d"+"0173", hex.EncodeToString(b))
}

func TestSetFuncRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		m    proto.SetFunc
	}{
		{"a name without static bytes", proto.SetFunc{Name: "upper"}},
		{"a name with static bytes", proto.SetFunc{Name: "grep", Static: []byte(`{"pattern":"x"}`)}},
		{"a non-ASCII name", proto.SetFunc{Name: "größe", Static: []byte{0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := proto.AppendSetFunc(nil, tt.m)
			got, err := proto.DecodeSetFunc(b)
			require.NoError(t, err)
			assert.Equal(t, tt.m, got)
		})
	}

	t.Run("static bytes are a copy", func(t *testing.T) {
		b := proto.AppendSetFunc(nil, proto.SetFunc{Name: "f", Static: []byte("abc")})
		got, err := proto.DecodeSetFunc(b)
		require.NoError(t, err)
		b[len(b)-1] = 'X'
		assert.Equal(t, "abc", string(got.Static))
	})
}

func TestHelloRoundTrip(t *testing.T) {
	m := proto.Hello{PID: 4194304, LayoutVersion: proto.LayoutVersion, ProtocolVersion: proto.ProtocolVersion}
	b := proto.AppendHello(nil, m)
	assert.Equal(t, "00004000"+"01000000"+"01000000", hex.EncodeToString(b))
	got, err := proto.DecodeHello(b)
	require.NoError(t, err)
	assert.Equal(t, m, got)

	for _, pid := range []int{0, -1, math.MaxInt32 + 1, 1<<32 + 5} {
		_, err := proto.DecodeHello(proto.AppendHello(nil, proto.Hello{PID: pid}))
		assert.ErrorIs(t, err, proto.ErrInvalid, "pid %d out of range must not decode", pid)
	}
}

func TestTooLargeRoundTrip(t *testing.T) {
	for _, m := range []proto.TooLarge{{Size: 1, Limit: 0}, {Size: 64<<20 + 1, Limit: 64 << 20}, {Size: math.MaxUint64, Limit: math.MaxUint64 - 1}} {
		got, err := proto.DecodeTooLarge(proto.AppendTooLarge(nil, m))
		require.NoError(t, err)
		assert.Equal(t, m, got)
	}
}

func TestDecodeRejectsBadMessages(t *testing.T) {
	h := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			panic(err)
		}
		return b
	}
	longName := append([]byte{0, 0, 0x80, 0x02}, strings.Repeat("n", 256)...)
	tests := []struct {
		name     string
		decode   func([]byte) error
		in       []byte
		wantText string
	}{
		{"an empty remote error", remoteErr, nil, "remote error: message ends before its code"},
		{"a remote error without flags", remoteErr, h("00"), "ends before its flags"},
		{"a remote error cut inside a length", remoteErr, h("0000"), "ends inside its func length"},
		{"a func length past the end", remoteErr, h("00000566"), "func length 5 exceeds the 1 bytes left"},
		{"a message length past the end", remoteErr, h("000000" + "ff7f"), "message length 16383 exceeds the 0 bytes left"},
		{"a length that overflows 64 bits", remoteErr, h("000000" + "ffffffffffffffffffff01"), "message length overflows 64 bits"},
		{"a length not in its shortest form", remoteErr, h("0000" + "8000" + "00" + "00"), "func length not in its shortest form"},
		{"a func name that is not UTF-8", remoteErr, h("000001ff0000"), `func "\xff" not valid UTF-8`},
		{"a func name longer than allowed", remoteErr, longName, "func length 256 exceeds 255"},
		{"trailing bytes after the stack", remoteErr, h("0000000000" + "ab"), "remote error: 1 trailing bytes"},
		{"an unknown code", remoteErr, h("02" + "00" + "000000"), "unknown code 2"},
		{"unknown flags", remoteErr, h("00" + "02" + "000000"), "unknown flags 0x2"},
		{"an empty set func", setFunc, nil, "set func: message ends inside its name length"},
		{"an empty function name", setFunc, h("00" + "616263"), "name is empty"},
		{"a function name past the end", setFunc, h("0361"), "name length 3 exceeds the 1 bytes left"},
		{"a function name that is not UTF-8", setFunc, h("01c0"), "not valid UTF-8"},
		{"a short hello", hello, h("0100000001000000010000"), "hello: 11 bytes, want 12"},
		{"a long hello", hello, h("01000000010000000100000000"), "hello: 13 bytes, want 12"},
		{"a hello from pid 0", hello, h("000000000100000001000000"), "pid 0"},
		{"a hello with a pid beyond int32", hello, h("000000800100000001000000"), "pid 2147483648"},
		{"an empty too-large notice", tooLarge, nil, "too large: message ends inside its size"},
		{"a too-large notice under its limit", tooLarge, h("0505"), "size 5 not above limit 5"},
		{"a too-large notice with trailing bytes", tooLarge, h("060500"), "1 trailing bytes"},
		{"a stop with a payload", func(b []byte) error { return proto.DecodeEmpty(proto.KindStop, b) }, h("00"), "stop: 1 bytes of payload, want none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.decode(tt.in)
			require.ErrorIs(t, err, proto.ErrInvalid)
			assert.ErrorContains(t, err, tt.wantText)
		})
	}
}

func remoteErr(b []byte) error { _, err := proto.DecodeRemoteError(b); return err }
func setFunc(b []byte) error   { _, err := proto.DecodeSetFunc(b); return err }
func hello(b []byte) error     { _, err := proto.DecodeHello(b); return err }
func tooLarge(b []byte) error  { _, err := proto.DecodeTooLarge(b); return err }

func TestDecodeEmpty(t *testing.T) {
	assert.NoError(t, proto.DecodeEmpty(proto.KindSetFuncOK, nil))
	assert.NoError(t, proto.DecodeEmpty(proto.KindStop, []byte{}))
}

func TestCheckName(t *testing.T) {
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"a plain name", "upper", true},
		{"a name of the longest length", strings.Repeat("x", proto.MaxNameLen), true},
		{"a non-ASCII name", "größe", true},
		{"an empty name", "", false},
		{"a name one byte too long", strings.Repeat("x", proto.MaxNameLen+1), false},
		{"a name that is not UTF-8", "up\xffper", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := proto.CheckName(tt.in)
			if tt.ok {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, proto.ErrInvalid)
		})
	}
}

// TestDecodeAllocations checks that the decoders allocate only what they
// return: nothing for fixed-size messages, one string per non-empty field.
func TestDecodeAllocations(t *testing.T) {
	helloMsg := proto.AppendHello(nil, proto.Hello{PID: 1, LayoutVersion: 1, ProtocolVersion: 1})
	tooLargeMsg := proto.AppendTooLarge(nil, proto.TooLarge{Size: 2, Limit: 1})
	remote := proto.AppendRemoteError(nil, proto.RemoteError{Func: "f", Message: "m", Panic: true, Stack: "s"})
	set := proto.AppendSetFunc(nil, proto.SetFunc{Name: "f", Static: []byte("s")})

	tests := []struct {
		name string
		want float64
		fn   func()
	}{
		{"hello", 0, func() { _, _ = proto.DecodeHello(helloMsg) }},
		{"too large", 0, func() { _, _ = proto.DecodeTooLarge(tooLargeMsg) }},
		{"remote error with three strings", 3, func() { _, _ = proto.DecodeRemoteError(remote) }},
		{"set func with a name and static bytes", 2, func() { _, _ = proto.DecodeSetFunc(set) }},
		{"a header", 0, func() { _, _ = proto.Decode(headerSeg) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, testing.AllocsPerRun(100, tt.fn))
		})
	}
}

// headerSeg is a valid segment for allocation tests.
var headerSeg = func() []byte {
	h, err := proto.Plan(512, proto.PageSize)
	if err != nil {
		panic(err)
	}
	h.MaxPayload = 1
	seg := make([]byte, h.SegmentSize)
	if err := h.Encode(seg); err != nil {
		panic(err)
	}
	return seg
}()
