package atomicx_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/internal/atomicx"
)

func TestAlignedBytes(t *testing.T) {
	for _, n := range []int{0, 1, 8, 127, 128, 4096, 1 << 20} {
		b := atomicx.AlignedBytes(n)
		require.Len(t, b, n)
		assert.Equal(t, n, cap(b), "capacity is clipped so appends cannot spill")
		assert.True(t, atomicx.IsAligned(b, atomicx.CacheLine), "size %d", n)
	}
}

func TestViewsShareMemory(t *testing.T) {
	b := atomicx.AlignedBytes(64)
	u64 := atomicx.Uint64At(b, 8)
	u64.Store(0x0102030405060708)
	assert.Equal(t, byte(0x08), b[8], "little-endian low byte first")
	assert.Equal(t, u64.Load(), atomicx.Uint64At(b, 8).Load(), "two views of one word agree")

	u32 := atomicx.Uint32At(b, 60)
	u32.Add(7)
	assert.Equal(t, uint32(7), u32.Load())
}

func TestViewsPanicOnLayoutBugs(t *testing.T) {
	b := atomicx.AlignedBytes(64)
	tests := []struct {
		name string
		fn   func()
	}{
		{"a uint64 past the end", func() { atomicx.Uint64At(b, 60) }},
		{"a negative offset", func() { atomicx.Uint64At(b, -8) }},
		{"a misaligned uint64", func() { atomicx.Uint64At(b, 4) }},
		{"a misaligned uint32", func() { atomicx.Uint32At(b, 2) }},
		{"a uint32 past the end", func() { atomicx.Uint32At(b, 61) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { assert.Panics(t, tt.fn) })
	}
}
