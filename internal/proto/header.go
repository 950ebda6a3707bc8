package proto

import (
	"encoding/binary"
	"math"

	"github.com/shmpool/shmpool/internal/atomicx"
)

const (
	// Magic opens every segment: the first 8 bytes of the header.
	Magic = "SHMPOOL\x00"

	// LayoutVersion is the version of the whole segment layout: this header,
	// package ring's header and package status's block. Bump it on any change
	// to a pinned offset or size in any of the three.
	LayoutVersion uint32 = 1

	// PageSize is the unit the ring regions are aligned to and sized in. It
	// is a layout constant, not the system page size: the segment is mapped
	// whole, so no region has to start on a system page.
	PageSize = 4096

	// StatusAlign is the alignment of the status block's offset: a cache
	// line pair, so its counters never share a line with the header.
	StatusAlign = atomicx.CacheLine

	// maxSize bounds every offset and length, so that a validated region
	// always converts to int and never overflows off+len.
	maxSize = math.MaxInt
)

// Region is a byte range of the segment: [Off, Off+Len).
type Region struct {
	Off, Len uint64
}

// End returns Off+Len. It cannot overflow for a region of a validated
// Header.
func (r Region) End() uint64 { return r.Off + r.Len }

// Slice returns the region's bytes in seg, with the capacity clipped to the
// region so that an append cannot spill into the next one. seg must be the
// segment the header was decoded from (or planned for): Slice panics if the
// region lies outside seg, which never happens for a Header from Decode(seg).
func (r Region) Slice(seg []byte) []byte {
	end := r.Off + r.Len
	return seg[r.Off:end:end]
}

// Header is the segment header: where the status block and the two ring
// regions are, and the parameters the parent fixes for the segment's life.
// The layout version is not a field: Encode always writes LayoutVersion and
// Decode accepts nothing else.
type Header struct {
	// SegmentSize is the size of the segment in bytes, a multiple of
	// PageSize; Decode requires the mapping to be exactly this long.
	SegmentSize uint64
	// Cookie is chosen by the parent (at random) and also handed to the
	// worker outside the segment; the worker checks that they match, which
	// proves it mapped the segment meant for it. Decode accepts any value.
	Cookie uint64
	// MaxPayload is the largest message payload either side may send, in
	// bytes: 1 up to math.MaxInt.
	MaxPayload uint64

	Status   Region // status block (package status): StatusAlign-aligned, after the header
	Request  Region // request ring (parent -> worker): page-aligned, whole pages
	Response Region // response ring (worker -> parent): page-aligned, whole pages
}

// Plan lays out a segment for a status block of statusSize bytes and two
// ring regions of ringRegionSize bytes each (one per direction), and returns
// the header with SegmentSize and the three regions set. Cookie and
// MaxPayload are left zero: set them before Encode, which rejects a zero
// MaxPayload.
//
// The status block starts at the first StatusAlign boundary after the
// header; the request ring at the first page boundary after the status
// block; the response ring right after the request ring. The errors wrap
// ErrInvalid: a size that is not positive, a ring region that is not a whole
// number of pages, or a segment larger than math.MaxInt bytes.
func Plan(statusSize, ringRegionSize int) (Header, error) {
	if statusSize <= 0 {
		return Header{}, invalidf("plan: status size %d not positive", statusSize)
	}
	if ringRegionSize <= 0 || ringRegionSize%PageSize != 0 {
		return Header{}, invalidf("plan: ring region size %d not a positive multiple of %d", ringRegionSize, PageSize)
	}
	status := Region{Off: alignUp(uint64(HeaderSize), StatusAlign), Len: uint64(statusSize)}
	ring := uint64(ringRegionSize)
	// Every operand is at most maxSize (2^63-1), so each sum below fits in a
	// uint64 before it is compared with maxSize.
	reqOff := alignUp(status.End(), PageSize)
	if reqOff > maxSize || ring > maxSize-reqOff {
		return Header{}, invalidf("plan: segment for status size %d and ring region size %d exceeds %d bytes", statusSize, ringRegionSize, maxSize)
	}
	respOff := reqOff + ring
	if ring > maxSize-respOff {
		return Header{}, invalidf("plan: segment for status size %d and ring region size %d exceeds %d bytes", statusSize, ringRegionSize, maxSize)
	}
	return Header{
		SegmentSize: respOff + ring,
		Status:      status,
		Request:     Region{Off: reqOff, Len: ring},
		Response:    Region{Off: respOff, Len: ring},
	}, nil
}

// alignUp rounds n up to a multiple of align, a power of two. The caller
// keeps n small enough not to overflow.
func alignUp(n, align uint64) uint64 { return (n + align - 1) &^ (align - 1) }

// Validate checks the header's invariants, the ones Decode checks after the
// magic and version: SegmentSize is a positive multiple of PageSize of at
// most math.MaxInt bytes; MaxPayload is 1 to math.MaxInt; the status block is
// StatusAlign-aligned and after the header; the ring regions are page-aligned
// whole pages; the three regions are non-empty, in the order status, request,
// response, do not overlap, and end within SegmentSize. The error wraps
// ErrInvalid and names the first field that breaks a rule.
func (h Header) Validate() error {
	if h.SegmentSize == 0 || h.SegmentSize%PageSize != 0 || h.SegmentSize > maxSize {
		return invalidf("segment header segment size %d not a positive multiple of %d up to %d", h.SegmentSize, PageSize, maxSize)
	}
	if h.MaxPayload == 0 || h.MaxPayload > maxSize {
		return invalidf("segment header max payload %d not in [1, %d]", h.MaxPayload, maxSize)
	}
	regions := [...]struct {
		name  string
		r     Region
		align uint64
		after string
	}{
		{"status", h.Status, StatusAlign, "the header"},
		{"request", h.Request, PageSize, "the status block"},
		{"response", h.Response, PageSize, "the request ring"},
	}
	prevEnd := uint64(HeaderSize)
	for i, reg := range regions {
		r := reg.r
		switch {
		case r.Off%reg.align != 0:
			return invalidf("segment header %s.off %d not a multiple of %d", reg.name, r.Off, reg.align)
		case r.Off < prevEnd:
			return invalidf("segment header %s.off %d overlaps %s, which ends at %d", reg.name, r.Off, reg.after, prevEnd)
		case r.Off > h.SegmentSize:
			return invalidf("segment header %s.off %d past the segment end %d", reg.name, r.Off, h.SegmentSize)
		case r.Len == 0:
			return invalidf("segment header %s.len is zero", reg.name)
		case r.Len > h.SegmentSize-r.Off: // no overflow: r.Off <= SegmentSize
			return invalidf("segment header %s.len %d at offset %d runs past the segment end %d", reg.name, r.Len, r.Off, h.SegmentSize)
		case i > 0 && r.Len%PageSize != 0:
			return invalidf("segment header %s.len %d not a multiple of %d", reg.name, r.Len, PageSize)
		}
		prevEnd = r.Off + r.Len
	}
	return nil
}

// Encode validates h and writes it, with Magic and LayoutVersion, to
// b[:HeaderSize]; the rest of b is not touched. b is normally the whole
// segment, but needs only HeaderSize bytes. Encode writes nothing if h is
// invalid (the error wraps ErrInvalid) or b is too short.
//
// Encode must run before the worker starts: the header is read-only
// afterwards (see the layout comment), which is why plain stores suffice.
func (h Header) Encode(b []byte) error {
	if len(b) < HeaderSize {
		return invalidf("encode segment header into %d bytes, need %d", len(b), HeaderSize)
	}
	if err := h.Validate(); err != nil {
		return err
	}
	le := binary.LittleEndian
	copy(b[offMagic:offMagic+len(Magic)], Magic)
	le.PutUint32(b[offVersion:], LayoutVersion)
	le.PutUint32(b[offReserved:], 0)
	le.PutUint64(b[offSegmentSize:], h.SegmentSize)
	le.PutUint64(b[offCookie:], h.Cookie)
	le.PutUint64(b[offMaxPayload:], h.MaxPayload)
	le.PutUint64(b[offStatusOff:], h.Status.Off)
	le.PutUint64(b[offStatusLen:], h.Status.Len)
	le.PutUint64(b[offRequestOff:], h.Request.Off)
	le.PutUint64(b[offRequestLen:], h.Request.Len)
	le.PutUint64(b[offResponseOff:], h.Response.Off)
	le.PutUint64(b[offResponseLen:], h.Response.Len)
	return nil
}

// Decode reads and validates the header at the start of seg, which must be
// the whole mapped segment: its length is checked against SegmentSize. It
// reads each header word exactly once and never panics. The checks, in
// order: seg holds a header, the magic, the version (a *VersionError, which
// matches ErrVersion), the reserved word is zero, SegmentSize == len(seg),
// then everything Validate checks. Every error but the version's wraps
// ErrInvalid and names the field.
//
// The worker decodes the header once, when it attaches, and keeps the
// result; nothing in the header changes afterwards.
func Decode(seg []byte) (Header, error) {
	if len(seg) < HeaderSize {
		return Header{}, invalidf("segment of %d bytes shorter than its header (%d bytes)", len(seg), HeaderSize)
	}
	b := seg[:HeaderSize]
	var magic [len(Magic)]byte
	copy(magic[:], b[offMagic:])
	if string(magic[:]) != Magic {
		return Header{}, invalidf("segment header magic %q, want %q", string(magic[:]), Magic)
	}
	le := binary.LittleEndian
	if v := le.Uint32(b[offVersion:]); v != LayoutVersion {
		return Header{}, &VersionError{Got: v, Want: LayoutVersion}
	}
	if r := le.Uint32(b[offReserved:]); r != 0 {
		return Header{}, invalidf("segment header reserved word %#x not zero", r)
	}
	h := Header{
		SegmentSize: le.Uint64(b[offSegmentSize:]),
		Cookie:      le.Uint64(b[offCookie:]),
		MaxPayload:  le.Uint64(b[offMaxPayload:]),
		Status:      Region{Off: le.Uint64(b[offStatusOff:]), Len: le.Uint64(b[offStatusLen:])},
		Request:     Region{Off: le.Uint64(b[offRequestOff:]), Len: le.Uint64(b[offRequestLen:])},
		Response:    Region{Off: le.Uint64(b[offResponseOff:]), Len: le.Uint64(b[offResponseLen:])},
	}
	if h.SegmentSize != uint64(len(seg)) {
		return Header{}, invalidf("segment header segment size %d, but the segment is %d bytes", h.SegmentSize, len(seg))
	}
	if err := h.Validate(); err != nil {
		return Header{}, err
	}
	return h, nil
}
