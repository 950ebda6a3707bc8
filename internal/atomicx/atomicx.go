package atomicx

import (
	"fmt"
	"sync/atomic"
	"unsafe"
)

// CacheLine is the stride that keeps words written by different sides on
// different cache lines. It is 128 bytes, not 64: adjacent-line prefetch on
// x86 and 128-byte lines on some arm64 parts pair lines up.
const CacheLine = 128

// Uint64At returns an atomic view of b[off:off+8]. It panics if the word is
// out of bounds or not 8-byte aligned in memory: both are layout bugs, never
// runtime input.
func Uint64At(b []byte, off int) *atomic.Uint64 {
	p := wordAt(b, off, 8)
	return (*atomic.Uint64)(p)
}

// Uint32At returns an atomic view of b[off:off+4]. It panics if the word is
// out of bounds or not 4-byte aligned in memory.
func Uint32At(b []byte, off int) *atomic.Uint32 {
	p := wordAt(b, off, 4)
	return (*atomic.Uint32)(p)
}

func wordAt(b []byte, off, size int) unsafe.Pointer {
	if off < 0 || off > len(b)-size {
		panic(fmt.Sprintf("atomicx: word at offset %d (size %d) outside region of %d bytes", off, size, len(b)))
	}
	p := unsafe.Pointer(&b[off])
	if uintptr(p)%uintptr(size) != 0 {
		panic(fmt.Sprintf("atomicx: word at offset %d (address %#x) not %d-byte aligned", off, uintptr(p), size))
	}
	return p
}

// AlignedBytes returns a zeroed n-byte slice whose first byte is aligned to
// CacheLine, backed by Go heap memory. Tests use it to run shared-memory
// algorithms under the race detector, which cannot see mmap'd memory.
func AlignedBytes(n int) []byte {
	if n < 0 {
		panic("atomicx: AlignedBytes of negative size")
	}
	words := make([]uint64, (n+2*CacheLine+7)/8)
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), len(words)*8)
	skip := int((CacheLine - uintptr(unsafe.Pointer(&b[0]))%CacheLine) % CacheLine)
	return b[skip : skip+n : skip+n]
}

// IsAligned reports whether b's first byte is aligned to a multiple of align.
func IsAligned(b []byte, align int) bool {
	if len(b) == 0 {
		return true
	}
	return uintptr(unsafe.Pointer(&b[0]))%uintptr(align) == 0
}
