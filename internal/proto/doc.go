// Package proto implements the wire format the parent and a worker agree on
// outside the rings themselves: the segment header, which places the status
// block and the two ring regions in a worker's shared-memory segment, and
// the control messages that travel as ring records.
//
// # Design
//
// The segment header (layout.go has the diagram) is written once by the
// parent with Plan and Header.Encode before the worker starts, and decoded
// once by the worker with Decode, which checks the magic, the LayoutVersion
// and that every region lies inside the segment, aligned, in order and
// without overlap, before any other package touches the memory.
// LayoutVersion covers the whole segment: this header, package ring's header
// and package status's block.
//
// A control message is a ring record: package ring carries a kind byte, a
// 64-bit id and a payload; this package defines the kinds (Kind) and encodes
// the payloads that are not raw user bytes (RemoteError, SetFunc, Hello,
// TooLarge). ProtocolVersion covers the kinds and the encodings. Encodings are
// canonical, bounded by the payload they are decoded from, and decoded
// without a panic whatever the bytes: everything in shared memory was written
// by a peer that may be buggy, crashed half-way or hostile. Each decoder has
// a fuzz target with its corpus in testdata/fuzz.
//
// The package knows where regions are, not what is inside them, and it does
// no I/O: it neither maps memory nor touches a ring.
//
// # Concurrency
//
// Everything here is a pure function of its arguments and safe for
// concurrent use. The header needs no atomics: it is written before the
// worker process exists and never written again (process creation orders the
// writes before the worker's reads). A worker must decode it once and keep
// the Header, not re-read the memory.
//
// # Caveats
//
// Decode validates the placement of the regions, not their contents:
// packages ring and status validate their own headers when they attach. The
// Cookie is not checked here either; the worker compares it with the cookie
// it received from its parent. DecodeRemoteError returns strings and
// DecodeSetFunc a Static slice that are copies, so they stay valid after the
// ring record they came from is released. The Append functions do not
// validate; what they write from a bad value (an unknown Code, a name that
// fails CheckName, a PID out of range) is rejected by the decoder on the
// other side.
//
// # Changing this package
//
// Any change to a pinned offset or size (layout_internal_test.go) requires
// bumping LayoutVersion; any change to a Kind value or a payload encoding
// requires bumping ProtocolVersion. Decoders must stay total and canonical:
// extend their fuzz targets and seeds with them. Nothing here may import a
// public shmpool package.
package proto
