package proto

import "unsafe"

// A worker's segment (one sealed memfd, mapped whole by both processes):
//
//	0        HeaderSize  128                               Request.Off     Response.Off    SegmentSize
//	+--------+-----+--------------+-------------------------+---------------+---------------+
//	| header | pad | status block | pad                     | request ring  | response ring |
//	+--------+-----+--------------+-------------------------+---------------+---------------+
//	|<----------- control area (whole pages) -------------->| parent→worker | worker→parent |
//
// The status block starts at the first StatusAlign boundary after the
// header; each ring region starts on a PageSize boundary and is a whole
// number of pages, so nothing of one region shares a cache line (or a page)
// with another. The layouts inside the regions belong to package status and
// package ring; this package only places them.
//
// The segment header, all words little endian:
//
//	offset  size  field
//	     0     8  magic "SHMPOOL\x00"
//	     8     4  layout version (LayoutVersion)
//	    12     4  reserved, zero
//	    16     8  segment size in bytes
//	    24     8  cookie (chosen by the parent; the worker compares it)
//	    32     8  max payload in bytes
//	    40    16  status region   (off, len)
//	    56    16  request region  (off, len)
//	    72    16  response region (off, len)
//	    88        end: HeaderSize
//
// The header is written once, by the parent, before the worker process
// starts, and is read-only afterwards for both sides. Process creation
// orders the parent's writes before the worker's reads, and nobody writes
// later, so the header is read and written with plain encoding/binary, not
// with atomics. A peer may still have written garbage: Decode reads each
// word once into a local and validates them all.
//
// Changing any offset or size here, in package ring's header or in package
// status's block changes the shared-memory layout: bump LayoutVersion and the
// pinned values in layout_internal_test.go.
type headerLayout struct {
	Magic       [8]byte
	Version     uint32
	Reserved    uint32
	SegmentSize uint64
	Cookie      uint64
	MaxPayload  uint64
	StatusOff   uint64
	StatusLen   uint64
	RequestOff  uint64
	RequestLen  uint64
	ResponseOff uint64
	ResponseLen uint64
}

const (
	offMagic       = int(unsafe.Offsetof(headerLayout{}.Magic))
	offVersion     = int(unsafe.Offsetof(headerLayout{}.Version))
	offReserved    = int(unsafe.Offsetof(headerLayout{}.Reserved))
	offSegmentSize = int(unsafe.Offsetof(headerLayout{}.SegmentSize))
	offCookie      = int(unsafe.Offsetof(headerLayout{}.Cookie))
	offMaxPayload  = int(unsafe.Offsetof(headerLayout{}.MaxPayload))
	offStatusOff   = int(unsafe.Offsetof(headerLayout{}.StatusOff))
	offStatusLen   = int(unsafe.Offsetof(headerLayout{}.StatusLen))
	offRequestOff  = int(unsafe.Offsetof(headerLayout{}.RequestOff))
	offRequestLen  = int(unsafe.Offsetof(headerLayout{}.RequestLen))
	offResponseOff = int(unsafe.Offsetof(headerLayout{}.ResponseOff))
	offResponseLen = int(unsafe.Offsetof(headerLayout{}.ResponseLen))

	// HeaderSize is the size of the segment header at offset 0.
	HeaderSize = int(unsafe.Sizeof(headerLayout{}))
)
