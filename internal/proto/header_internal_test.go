package proto

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// validSegment returns a zeroed segment for Plan(512, 2 pages) with its
// header encoded: status at 128, request at 4096, response at 12288, 20480
// bytes in all.
func validSegment(tb testing.TB) []byte {
	tb.Helper()
	h, err := Plan(512, 2*PageSize)
	require.NoError(tb, err)
	h.Cookie, h.MaxPayload = 42, 1<<20
	seg := make([]byte, h.SegmentSize)
	require.NoError(tb, h.Encode(seg))
	return seg
}

func put64(seg []byte, off int, v uint64) []byte {
	binary.LittleEndian.PutUint64(seg[off:], v)
	return seg
}

func TestDecodeRejectsCorruptHeaders(t *testing.T) {
	tests := []struct {
		name     string
		corrupt  func(seg []byte) []byte
		wantText string // a part of the error that names the field
	}{
		{"an empty segment", func(seg []byte) []byte { return nil }, "segment of 0 bytes shorter than its header"},
		{"a segment shorter than the header", func(seg []byte) []byte { return seg[:HeaderSize-1] }, "shorter than its header"},
		{"a zeroed segment", func(seg []byte) []byte { clear(seg); return seg }, "magic"},
		{"a bad magic", func(seg []byte) []byte { seg[3] = 'X'; return seg }, `magic "SHMXOOL\x00"`},
		{"a nonzero reserved word", func(seg []byte) []byte { seg[offReserved] = 1; return seg }, "reserved word 0x1"},
		{"a segment shorter than its header says", func(seg []byte) []byte { return seg[:len(seg)-PageSize] }, "segment size 20480, but the segment is 16384 bytes"},
		{"a segment size larger than the mapping", func(seg []byte) []byte { return put64(seg, offSegmentSize, 6*PageSize) }, "segment size 24576, but"},
		{"a segment size near 2^64", func(seg []byte) []byte { return put64(seg, offSegmentSize, math.MaxUint64&^(PageSize-1)) }, "segment size 18446744073709547520, but"},
		{"a segment size that is not whole pages", func(seg []byte) []byte {
			seg = append(seg, make([]byte, 8)...)
			return put64(seg, offSegmentSize, uint64(len(seg)))
		}, "segment size 20488 not a positive multiple of 4096"},
		{"a zero max payload", func(seg []byte) []byte { return put64(seg, offMaxPayload, 0) }, "max payload 0"},
		{"a max payload beyond an int", func(seg []byte) []byte { return put64(seg, offMaxPayload, math.MaxInt+1) }, "max payload 9223372036854775808"},
		{"a status block inside the header", func(seg []byte) []byte { return put64(seg, offStatusOff, 0) }, "status.off 0 overlaps the header"},
		{"a misaligned status block", func(seg []byte) []byte { return put64(seg, offStatusOff, 136) }, "status.off 136 not a multiple of 128"},
		{"an empty status block", func(seg []byte) []byte { return put64(seg, offStatusLen, 0) }, "status.len is zero"},
		{"a status block overlapping the request ring", func(seg []byte) []byte { return put64(seg, offStatusLen, PageSize) }, "request.off 4096 overlaps the status block, which ends at 4224"},
		{"a status length that wraps off+len around 2^64", func(seg []byte) []byte { return put64(seg, offStatusLen, math.MaxUint64-127) }, "status.len 18446744073709551488 at offset 128 runs past the segment end"},
		{"a misaligned request ring", func(seg []byte) []byte { return put64(seg, offRequestOff, PageSize+8) }, "request.off 4104 not a multiple of 4096"},
		{"a request ring that is not whole pages", func(seg []byte) []byte { return put64(seg, offRequestLen, PageSize+8) }, "request.len 4104 not a multiple of 4096"},
		{"an empty request ring", func(seg []byte) []byte { return put64(seg, offRequestLen, 0) }, "request.len is zero"},
		{"a response ring overlapping the request ring", func(seg []byte) []byte { return put64(seg, offResponseOff, 2*PageSize) }, "response.off 8192 overlaps the request ring, which ends at 12288"},
		{"a response ring before the request ring", func(seg []byte) []byte {
			seg = put64(seg, offResponseOff, PageSize)
			return put64(seg, offRequestOff, 3*PageSize)
		}, "response.off 4096 overlaps the request ring"},
		{"a response ring running past the end", func(seg []byte) []byte { return put64(seg, offResponseLen, 3*PageSize) }, "response.len 12288 at offset 12288 runs past the segment end 20480"},
		{"a response ring starting past the end", func(seg []byte) []byte { return put64(seg, offResponseOff, 8*PageSize) }, "response.off 32768 past the segment end 20480"},
		{"a response length that wraps off+len around 2^64", func(seg []byte) []byte {
			return put64(seg, offResponseLen, math.MaxUint64&^(PageSize-1))
		}, "response.len 18446744073709547520 at offset 12288 runs past"},
		{"a request offset near 2^64", func(seg []byte) []byte { return put64(seg, offRequestOff, math.MaxUint64&^(PageSize-1)) }, "request.off 18446744073709547520 past the segment end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := Decode(tt.corrupt(validSegment(t)))
			require.ErrorIs(t, err, ErrInvalid)
			assert.ErrorContains(t, err, tt.wantText)
			assert.NotErrorIs(t, err, ErrVersion)
			assert.Equal(t, Header{}, h)
		})
	}
}

func TestDecodeValidSegment(t *testing.T) {
	h, err := Decode(validSegment(t))
	require.NoError(t, err)
	assert.Equal(t, Header{
		SegmentSize: 5 * PageSize,
		Cookie:      42,
		MaxPayload:  1 << 20,
		Status:      Region{Off: 128, Len: 512},
		Request:     Region{Off: PageSize, Len: 2 * PageSize},
		Response:    Region{Off: 3 * PageSize, Len: 2 * PageSize},
	}, h)
}

func TestValidateRejectsHugeSegment(t *testing.T) {
	h := Header{SegmentSize: math.MaxInt + 1, MaxPayload: 1}
	err := h.Validate()
	require.ErrorIs(t, err, ErrInvalid)
	assert.ErrorContains(t, err, "segment size 9223372036854775808")
}
