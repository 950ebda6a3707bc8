// Package codec implements the encodings of typed worker functions
// (worker.Typed, pool.RegisterTyped): a Codec[T] appends a T to a byte
// slice and decodes one back, so that a function of In and Out values can
// travel through the byte rings of package worker.
//
// # Design
//
// A Codec is two methods, Append and Decode. Append appends to a
// caller's buffer, so a caller can reuse one buffer for many values;
// Decode takes exactly the bytes of one value, which may alias a ring in
// shared memory, and keeps none of them: every codec here copies what the
// value holds.
//
// The codecs:
//
//   - Bytes and String: the bytes as they are; they never fail.
//   - Binary: fixed-size values (numbers, bools, and arrays and structs
//     of them) in encoding/binary's little-endian layout. The type's
//     layout is planned once, when the codec is built, and a type without
//     a fixed size is refused there (ErrNotFixedSize, naming the field).
//     The fastest for small records: no allocation and no type
//     description on the wire.
//   - JSON: encoding/json, strict when decoding (one value, no unknown
//     fields), so that the encoding of another type is an error.
//   - Gob: encoding/gob, one self-describing value per message.
//
// Failures are typed: *DecodeError for bytes that do not decode to T (of
// the wrong length, malformed, or the encoding of another type) and
// *EncodeError for a value that cannot be encoded; both name the codec and
// the Go type (TypeName), and wrap the cause for errors.Is and errors.As.
// A decoder never panics, whatever the bytes: they come from another
// process. Each codec's Decode has a fuzz target.
//
// # Concurrency
//
// Every codec of this package is safe for concurrent use, and so must be
// a custom one: a typed function uses one Codec for all its calls.
//
// # Caveats
//
// Binary is little endian, as encoding/binary's layout with
// binary.LittleEndian: both sides of a ring are the same machine, but an
// encoding kept elsewhere is not portable to a type whose fields changed.
// It refuses int, uint and uintptr (their size depends on the platform)
// and unexported fields other than blank ones (reflection cannot set
// them), and decodes a bool only from a 0 or 1 byte.
//
// Gob sends the type's description with every value, since each message
// may go to a different worker: several times larger and slower than
// Binary for small values. Interface types need gob.Register, in an init
// function so that the worker registers them too.
//
// JSON refuses fields the type lacks: a worker and parent built from
// different versions of a type must agree on its fields.
package codec
