package proto

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// MaxNameLen is the longest function name, in bytes, that a message may
// carry.
const MaxNameLen = 255

// CheckName reports whether name can travel as a function name: 1 to
// MaxNameLen bytes of valid UTF-8. The error wraps ErrInvalid. Check a name
// before sending it: the peer rejects a message that carries a bad one.
func CheckName(name string) error {
	switch {
	case name == "":
		return invalidf("function name is empty")
	case len(name) > MaxNameLen:
		return invalidf("function name of %d bytes longer than %d", len(name), MaxNameLen)
	case !utf8.ValidString(name):
		return invalidf("function name %q not valid UTF-8", name)
	}
	return nil
}

// appendField appends a uvarint length and the bytes of s.
func appendField(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// decoder reads a message payload front to back. The first failure sticks:
// later reads return zero values, and finish returns the error. Fields it
// returns alias the payload.
type decoder struct {
	what string // the message, for error text: "remote error"
	b    []byte // what is left to read
	err  error
}

func (d *decoder) failf(format string, args ...any) {
	if d.err == nil {
		d.err = invalidf("%s: %s", d.what, fmt.Sprintf(format, args...))
	}
}

// byte1 reads one byte.
func (d *decoder) byte1(field string) byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.failf("message ends before its %s", field)
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// uvarint reads a uvarint in its shortest form, the only one the Append
// functions write, which keeps every encoding canonical.
func (d *decoder) uvarint(field string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	switch {
	case n == 0:
		d.failf("message ends inside its %s", field)
		return 0
	case n < 0:
		d.failf("%s overflows 64 bits", field)
		return 0
	case n > 1 && d.b[n-1] == 0:
		d.failf("%s not in its shortest form", field)
		return 0
	}
	d.b = d.b[n:]
	return v
}

// field reads a uvarint length of at most limit bytes, then that many bytes.
func (d *decoder) field(field string, limit int) []byte {
	n := d.uvarint(field + " length")
	if d.err != nil {
		return nil
	}
	if n > uint64(limit) {
		d.failf("%s length %d exceeds %d", field, n, limit)
		return nil
	}
	if n > uint64(len(d.b)) {
		d.failf("%s length %d exceeds the %d bytes left", field, n, len(d.b))
		return nil
	}
	f := d.b[:n:n]
	d.b = d.b[n:]
	return f
}

// name reads a field that holds a function name; empty is allowed only if
// emptyOK.
func (d *decoder) name(field string, emptyOK bool) []byte {
	f := d.field(field, MaxNameLen)
	switch {
	case d.err != nil:
	case len(f) == 0 && !emptyOK:
		d.failf("%s is empty", field)
	case !utf8.Valid(f):
		d.failf("%s %q not valid UTF-8", field, f)
	}
	return f
}

// finish returns the first failure, or an error if bytes are left over.
func (d *decoder) finish() error {
	if d.err == nil && len(d.b) != 0 {
		d.failf("%d trailing bytes", len(d.b))
	}
	return d.err
}
