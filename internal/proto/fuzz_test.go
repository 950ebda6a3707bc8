package proto_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/internal/proto"
)

// The fuzz targets check properties, not just the absence of a panic. Seeds
// live in testdata/fuzz/FuzzXxx/ and run with every `go test`.

// maxFuzzSegment bounds the segment FuzzDecodeHeader decodes; larger sizes
// wrap around it.
const maxFuzzSegment = 16 << 20

// fuzzSegment is zeroed memory FuzzDecodeHeader lends its segments from, so
// that a multi-megabyte segment costs no allocation per input. Decode reads
// only the header, so the rest stays zero.
var fuzzSegment = sync.OnceValue(func() []byte { return make([]byte, maxFuzzSegment) })

// FuzzDecodeHeader decodes a segment of size bytes that starts with hdr.
// Property: Decode returns an error (wrapping ErrInvalid or ErrVersion) and a
// zero Header, or a Header that satisfies every invariant, checked here
// independently of Validate, and that re-encodes to exactly the bytes it was
// decoded from.
func FuzzDecodeHeader(f *testing.F) {
	f.Fuzz(func(t *testing.T, hdr []byte, size uint32) {
		n := int(size % maxFuzzSegment)
		seg := fuzzSegment()[:n]
		copy(seg, hdr)
		defer clear(seg[:min(len(hdr), n)])

		h, err := proto.Decode(seg)
		if err != nil {
			assert.Equal(t, proto.Header{}, h)
			if !errors.Is(err, proto.ErrInvalid) && !errors.Is(err, proto.ErrVersion) {
				t.Fatalf("error %v wraps neither ErrInvalid nor ErrVersion", err)
			}
			return
		}
		checkHeaderInvariants(t, h, seg)

		again := make([]byte, proto.HeaderSize)
		require.NoError(t, h.Encode(again))
		require.Equal(t, seg[:proto.HeaderSize], again, "re-encoding gives the same bytes")
	})
}

// checkHeaderInvariants re-derives what Decode promises from the raw bytes
// and the decoded header, with overflow-checked arithmetic.
func checkHeaderInvariants(t *testing.T, h proto.Header, seg []byte) {
	t.Helper()
	require.Equal(t, proto.Magic, string(seg[:8]))
	require.Equal(t, proto.LayoutVersion, binary.LittleEndian.Uint32(seg[8:]))
	require.Equal(t, uint64(len(seg)), h.SegmentSize)
	require.Zero(t, h.SegmentSize%proto.PageSize)
	require.NotZero(t, h.MaxPayload)
	require.LessOrEqual(t, h.MaxPayload, uint64(math.MaxInt))

	prevEnd := uint64(proto.HeaderSize)
	for i, r := range []proto.Region{h.Status, h.Request, h.Response} {
		align := uint64(proto.PageSize)
		if i == 0 {
			align = proto.StatusAlign
		} else {
			require.Zero(t, r.Len%proto.PageSize, "region %d is whole pages", i)
		}
		require.Zero(t, r.Off%align, "region %d aligned", i)
		require.NotZero(t, r.Len, "region %d not empty", i)
		end, carry := bits.Add64(r.Off, r.Len, 0)
		require.Zero(t, carry, "region %d: off+len overflows", i)
		require.GreaterOrEqual(t, r.Off, prevEnd, "region %d after the previous one", i)
		require.LessOrEqual(t, end, h.SegmentSize, "region %d inside the segment", i)
		require.Len(t, r.Slice(seg), int(r.Len))
		prevEnd = end
	}
}

// FuzzDecodeRemoteError: a payload that decodes is the canonical encoding of
// the decoded value; one that does not gives an ErrInvalid and a zero value.
func FuzzDecodeRemoteError(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := proto.DecodeRemoteError(b)
		if err != nil {
			require.ErrorIs(t, err, proto.ErrInvalid)
			require.Equal(t, proto.RemoteError{}, e)
			return
		}
		require.Equal(t, b, proto.AppendRemoteError(nil, e), "canonical encoding")
	})
}

// FuzzDecodeSetFunc: as FuzzDecodeRemoteError; also a decoded name passes
// CheckName and Static never aliases the input.
func FuzzDecodeSetFunc(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := proto.DecodeSetFunc(b)
		if err != nil {
			require.ErrorIs(t, err, proto.ErrInvalid)
			require.Equal(t, proto.SetFunc{}, m)
			return
		}
		require.NoError(t, proto.CheckName(m.Name))
		require.Equal(t, b, proto.AppendSetFunc(nil, m), "canonical encoding")
		if len(m.Static) > 0 {
			orig := bytes.Clone(m.Static)
			clear(b)
			require.Equal(t, orig, m.Static, "static bytes are a copy")
		}
	})
}

// FuzzDecodeHello: as FuzzDecodeRemoteError.
func FuzzDecodeHello(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := proto.DecodeHello(b)
		if err != nil {
			require.ErrorIs(t, err, proto.ErrInvalid)
			require.Equal(t, proto.Hello{}, m)
			return
		}
		require.Positive(t, m.PID)
		require.Equal(t, b, proto.AppendHello(nil, m), "canonical encoding")
	})
}

// FuzzDecodeTooLarge: as FuzzDecodeRemoteError.
func FuzzDecodeTooLarge(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := proto.DecodeTooLarge(b)
		if err != nil {
			require.ErrorIs(t, err, proto.ErrInvalid)
			require.Equal(t, proto.TooLarge{}, m)
			return
		}
		require.Greater(t, m.Size, m.Limit)
		require.Equal(t, b, proto.AppendTooLarge(nil, m), "canonical encoding")
	})
}
