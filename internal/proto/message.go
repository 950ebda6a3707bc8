package proto

import (
	"encoding/binary"
	"math"
)

// The payload encodings of the control messages. All are little endian;
// variable-length fields are a uvarint length (shortest form) then the
// bytes. Each encoding is canonical: a payload that decodes without error is
// exactly what the Append function writes for the decoded value. The
// decoders are total: any input gives a value or an error wrapping
// ErrInvalid, never a panic, and they allocate nothing but the strings and
// slices they return.

// Code says what kind of failure a RemoteError reports, so that the parent
// can branch on it: errors.Is cannot cross a process boundary.
type Code uint8

const (
	// CodeFunc: the user function (or, for KindSetFuncError, the factory)
	// returned an error or panicked.
	CodeFunc Code = 0
	// CodeUnknownFunc: no function is registered under RemoteError.Func.
	CodeUnknownFunc Code = 1

	maxCode = CodeUnknownFunc
)

// RemoteError is the wire form of a failure in the worker: a user function
// that returned an error or panicked on a task (KindError), or a function
// switch the worker refused (KindSetFuncError). Package worker rebuilds its
// public error type from it.
//
//	code   u8      Code
//	flags  u8      bit 0: Panic; the other bits zero
//	func   uvarint length + bytes   at most MaxNameLen bytes of valid UTF-8, may be empty
//	msg    uvarint length + bytes   any bytes
//	stack  uvarint length + bytes   any bytes
type RemoteError struct {
	Code    Code
	Func    string // the function's registered name
	Message string // err.Error(), or the panic value formatted with %v
	Panic   bool   // the function panicked
	Stack   string // the goroutine's stack at the panic; empty unless Panic
}

const flagPanic = 1

// AppendRemoteError appends the encoding of e to dst. It does not validate
// e: an unknown Code or a bad Func (see CheckName; empty is allowed here)
// gives bytes that DecodeRemoteError rejects. Message and Stack count
// against the header's MaxPayload like any payload; the worker shortens
// them if they do not fit.
func AppendRemoteError(dst []byte, e RemoteError) []byte {
	var flags byte
	if e.Panic {
		flags |= flagPanic
	}
	dst = append(dst, byte(e.Code), flags)
	dst = appendField(dst, e.Func)
	dst = appendField(dst, e.Message)
	return appendField(dst, e.Stack)
}

// DecodeRemoteError decodes a KindError or KindSetFuncError payload. The
// strings are copies: the result does not alias b.
func DecodeRemoteError(b []byte) (RemoteError, error) {
	d := decoder{what: "remote error", b: b}
	code := Code(d.byte1("code"))
	flags := d.byte1("flags")
	fn := d.name("func", true)
	msg := d.field("message", math.MaxInt)
	stack := d.field("stack", math.MaxInt)
	if err := d.finish(); err != nil {
		return RemoteError{}, err
	}
	if code > maxCode {
		return RemoteError{}, invalidf("remote error: unknown code %d", code)
	}
	if flags&^flagPanic != 0 {
		return RemoteError{}, invalidf("remote error: unknown flags %#x", flags)
	}
	return RemoteError{
		Code:    code,
		Func:    string(fn),
		Message: string(msg),
		Panic:   flags&flagPanic != 0,
		Stack:   string(stack),
	}, nil
}

// SetFunc is the payload of KindSetFunc: switch the worker to the function
// registered under Name, built by its factory from Static.
//
//	name    uvarint length + bytes   1 to MaxNameLen bytes of valid UTF-8
//	static  the rest of the payload, raw
type SetFunc struct {
	Name   string
	Static []byte
}

// AppendSetFunc appends the encoding of m to dst. It does not validate m:
// check the name with CheckName first, or the worker rejects the message.
func AppendSetFunc(dst []byte, m SetFunc) []byte {
	dst = appendField(dst, m.Name)
	return append(dst, m.Static...)
}

// DecodeSetFunc decodes a KindSetFunc payload. Static is a copy, nil when
// empty; it never aliases b, because the worker hands it to a user factory
// that may keep it long after the ring record is released.
func DecodeSetFunc(b []byte) (SetFunc, error) {
	d := decoder{what: "set func", b: b}
	name := d.name("name", false)
	if d.err != nil {
		return SetFunc{}, d.err
	}
	var static []byte
	if len(d.b) > 0 {
		static = append([]byte(nil), d.b...)
	}
	return SetFunc{Name: string(name), Static: static}, nil
}

// Hello is the payload of KindHello, the first record a worker sends: who it
// is and which formats it speaks. The parent compares the versions with its
// own and stops a worker that differs.
//
//	pid       u32   1 to math.MaxInt32
//	layout    u32   the worker's LayoutVersion
//	protocol  u32   the worker's ProtocolVersion
type Hello struct {
	PID             int
	LayoutVersion   uint32
	ProtocolVersion uint32
}

// helloSize is the size of an encoded Hello.
const helloSize = 12

// AppendHello appends the encoding of m to dst. It does not validate m: a
// PID outside 1 to math.MaxInt32 gives bytes that DecodeHello rejects.
func AppendHello(dst []byte, m Hello) []byte {
	var pid uint32 // 0, which DecodeHello rejects, unless m.PID is in range
	if m.PID > 0 && m.PID <= math.MaxInt32 {
		pid = uint32(m.PID)
	}
	dst = binary.LittleEndian.AppendUint32(dst, pid)
	dst = binary.LittleEndian.AppendUint32(dst, m.LayoutVersion)
	return binary.LittleEndian.AppendUint32(dst, m.ProtocolVersion)
}

// DecodeHello decodes a KindHello payload. It accepts any version numbers:
// comparing them is the caller's job, and its error is clearer than ours.
func DecodeHello(b []byte) (Hello, error) {
	if len(b) != helloSize {
		return Hello{}, invalidf("hello: %d bytes, want %d", len(b), helloSize)
	}
	le := binary.LittleEndian
	pid := le.Uint32(b[0:])
	if pid == 0 || pid > math.MaxInt32 {
		return Hello{}, invalidf("hello: pid %d not in [1, %d]", pid, math.MaxInt32)
	}
	return Hello{
		PID:             int(pid),
		LayoutVersion:   le.Uint32(b[4:]),
		ProtocolVersion: le.Uint32(b[8:]),
	}, nil
}

// TooLarge is the payload of KindTooLarge: the user function returned Size
// bytes for the task, more than Limit (the header's MaxPayload), so the
// worker sent this notice instead of the result.
//
//	size   uvarint
//	limit  uvarint   less than size
type TooLarge struct {
	Size, Limit uint64
}

// AppendTooLarge appends the encoding of m to dst. It does not validate m:
// Size must be greater than Limit, or DecodeTooLarge rejects the bytes.
func AppendTooLarge(dst []byte, m TooLarge) []byte {
	dst = binary.AppendUvarint(dst, m.Size)
	return binary.AppendUvarint(dst, m.Limit)
}

// DecodeTooLarge decodes a KindTooLarge payload.
func DecodeTooLarge(b []byte) (TooLarge, error) {
	d := decoder{what: "too large", b: b}
	size := d.uvarint("size")
	limit := d.uvarint("limit")
	if err := d.finish(); err != nil {
		return TooLarge{}, err
	}
	if size <= limit {
		return TooLarge{}, invalidf("too large: size %d not above limit %d", size, limit)
	}
	return TooLarge{Size: size, Limit: limit}, nil
}

// DecodeEmpty checks the payload of a kind that carries none (KindSetFuncOK,
// KindStop): any byte is an error wrapping ErrInvalid.
func DecodeEmpty(k Kind, b []byte) error {
	if len(b) != 0 {
		return invalidf("%s: %d bytes of payload, want none", k, len(b))
	}
	return nil
}
