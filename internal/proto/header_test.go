package proto_test

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/internal/proto"
)

const (
	kib = 1 << 10
	mib = 1 << 20
)

func TestPlanEncodeDecodeRoundTrip(t *testing.T) {
	tests := []struct {
		name               string
		statusSize, ring   int
		wantRequestOff     uint64
		wantSegmentPages   uint64
		wantStatusOff      uint64
		wantResponseOffset uint64
	}{
		{"smallest segment", 1, proto.PageSize, 4096, 3, 128, 8192},
		{"a 512-byte status block and 4 MiB rings", 512, 4*mib + proto.PageSize, 4096, 2051, 128, 4202496},
		{"a status block that fills the control page", proto.PageSize - 128, 2 * proto.PageSize, 4096, 5, 128, 12288},
		{"a status block one byte past the control page", proto.PageSize - 127, proto.PageSize, 8192, 4, 128, 12288},
		{"a large status block", mib, mib, 4096 + mib, 3*256 + 1, 128, 4096 + 2*mib},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := proto.Plan(tt.statusSize, tt.ring)
			require.NoError(t, err)
			assert.Equal(t, proto.Region{Off: tt.wantStatusOff, Len: uint64(tt.statusSize)}, h.Status)
			assert.Equal(t, proto.Region{Off: tt.wantRequestOff, Len: uint64(tt.ring)}, h.Request)
			assert.Equal(t, proto.Region{Off: tt.wantResponseOffset, Len: uint64(tt.ring)}, h.Response)
			assert.Equal(t, tt.wantSegmentPages*proto.PageSize, h.SegmentSize)
			assert.Zero(t, h.Cookie, "Plan leaves the cookie to the caller")
			assert.Zero(t, h.MaxPayload, "Plan leaves the max payload to the caller")

			h.Cookie, h.MaxPayload = 0xfeedface_cafebeef, 64*mib
			seg := make([]byte, h.SegmentSize)
			require.NoError(t, h.Encode(seg))
			got, err := proto.Decode(seg)
			require.NoError(t, err)
			assert.Equal(t, h, got)

			for _, r := range []proto.Region{got.Status, got.Request, got.Response} {
				s := r.Slice(seg)
				assert.Len(t, s, int(r.Len))
				assert.Equal(t, int(r.Len), cap(s), "capacity clipped to the region")
			}
		})
	}
}

func TestPlanRejectsBadSizes(t *testing.T) {
	tests := []struct {
		name             string
		statusSize, ring int
		wantText         string
	}{
		{"a zero status size", 0, proto.PageSize, "status size 0"},
		{"a negative status size", -1, proto.PageSize, "status size -1"},
		{"a zero ring region", 512, 0, "ring region size 0"},
		{"a negative ring region", 512, -proto.PageSize, "ring region size -4096"},
		{"a ring region that is not whole pages", 512, 4*mib + kib, "ring region size 4195328 not a positive multiple of 4096"},
		{"a ring region so large the segment overflows", 512, math.MaxInt &^ (proto.PageSize - 1), "exceeds"},
		{"two ring regions that together overflow", 512, (math.MaxInt/2 + 1) &^ (proto.PageSize - 1), "exceeds"},
		{"a status block so large the segment overflows", math.MaxInt, proto.PageSize, "exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := proto.Plan(tt.statusSize, tt.ring)
			require.ErrorIs(t, err, proto.ErrInvalid)
			assert.ErrorContains(t, err, tt.wantText)
			assert.Equal(t, proto.Header{}, h)
		})
	}
}

func TestEncodeRefusesWithoutWriting(t *testing.T) {
	h, err := proto.Plan(512, proto.PageSize)
	require.NoError(t, err)

	t.Run("a header without a max payload", func(t *testing.T) {
		b := make([]byte, proto.HeaderSize)
		err := h.Encode(b)
		require.ErrorIs(t, err, proto.ErrInvalid)
		assert.ErrorContains(t, err, "max payload 0")
		assert.Equal(t, make([]byte, proto.HeaderSize), b, "nothing written")
	})
	t.Run("a buffer shorter than the header", func(t *testing.T) {
		h := h
		h.MaxPayload = mib
		b := make([]byte, proto.HeaderSize-1)
		require.ErrorIs(t, h.Encode(b), proto.ErrInvalid)
		assert.Equal(t, make([]byte, proto.HeaderSize-1), b, "nothing written")
	})
	t.Run("a header buffer alone is enough", func(t *testing.T) {
		h := h
		h.MaxPayload = mib
		require.NoError(t, h.Encode(make([]byte, proto.HeaderSize)))
	})
}

func TestVersionError(t *testing.T) {
	h, err := proto.Plan(512, proto.PageSize)
	require.NoError(t, err)
	h.MaxPayload = mib
	seg := make([]byte, h.SegmentSize)
	require.NoError(t, h.Encode(seg))
	seg[8] = 2 // the version word, pinned in layout_internal_test.go

	got, err := proto.Decode(seg)
	assert.Equal(t, proto.Header{}, got)
	var ve *proto.VersionError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, proto.VersionError{Got: 2, Want: proto.LayoutVersion}, *ve)
	assert.ErrorIs(t, err, proto.ErrVersion)
	assert.False(t, errors.Is(err, proto.ErrInvalid), "a version mismatch is not corruption")
	assert.EqualError(t, err, "proto: segment layout version 2, this binary reads version 1")
}
