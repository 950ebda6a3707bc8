package proto

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLayout pins the segment header. Changing a value here changes the
// shared-memory layout: bump LayoutVersion with it.
func TestLayout(t *testing.T) {
	assert.Equal(t, uint32(1), LayoutVersion)
	assert.Equal(t, 0, offMagic)
	assert.Equal(t, 8, offVersion)
	assert.Equal(t, 12, offReserved)
	assert.Equal(t, 16, offSegmentSize)
	assert.Equal(t, 24, offCookie)
	assert.Equal(t, 32, offMaxPayload)
	assert.Equal(t, 40, offStatusOff)
	assert.Equal(t, 48, offStatusLen)
	assert.Equal(t, 56, offRequestOff)
	assert.Equal(t, 64, offRequestLen)
	assert.Equal(t, 72, offResponseOff)
	assert.Equal(t, 80, offResponseLen)
	assert.Equal(t, 88, HeaderSize)
	assert.Equal(t, 4096, PageSize)
	assert.Equal(t, 128, StatusAlign)
	assert.Len(t, Magic, 8)

	for _, off := range []int{offSegmentSize, offCookie, offMaxPayload, offStatusOff, offStatusLen,
		offRequestOff, offRequestLen, offResponseOff, offResponseLen} {
		assert.Zero(t, off%8, "word at %d is 8-byte aligned", off)
	}
	assert.LessOrEqual(t, HeaderSize, StatusAlign, "the status block starts on the first line pair after the header")
}

// TestLayoutGolden pins the encoded bytes of one header, word by word.
func TestLayoutGolden(t *testing.T) {
	h := Header{
		SegmentSize: 3 * PageSize,
		Cookie:      0x0807060504030201,
		MaxPayload:  1 << 20,
		Status:      Region{Off: 128, Len: 512},
		Request:     Region{Off: PageSize, Len: PageSize},
		Response:    Region{Off: 2 * PageSize, Len: PageSize},
	}
	b := make([]byte, HeaderSize)
	require.NoError(t, h.Encode(b))
	want := "53484d504f4f4c00" + "01000000" + "00000000" + // magic, version, reserved
		"0030000000000000" + // segment size 12288
		"0102030405060708" + // cookie
		"0000100000000000" + // max payload 1 MiB
		"8000000000000000" + "0002000000000000" + // status 128, 512
		"0010000000000000" + "0010000000000000" + // request 4096, 4096
		"0020000000000000" + "0010000000000000" // response 8192, 4096
	assert.Equal(t, want, hex.EncodeToString(b))
}
