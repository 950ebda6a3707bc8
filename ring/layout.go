package ring

import (
	"unsafe"

	"github.com/shmpool/shmpool/internal/atomicx"
)

// A ring region is a header page followed by the data area:
//
//	offset    0  | magic u64 | capacity u64 |             read-only after Init
//	offset  128  | tail u64  |                            producer writes, consumer reads
//	offset  256  | head u64  |                            consumer writes, producer reads
//	offset  384  | consumer waiting u32 |                 consumer sets before sleeping, producer clears
//	offset  512  | producer waiting u32 |                 producer sets before sleeping, consumer clears
//	offset 4096  | data [capacity]byte ...                records, 8-byte aligned
//
// tail and head live on separate 128-byte lines so the two sides never write
// the same line; the waiting words get lines of their own because they are
// read after every publish and written only around a sleep, so those reads
// hit in cache. The data area starts on a page boundary, which keeps the
// region (HeaderSize + a power-of-two capacity) a whole number of pages.
//
// Every record starts with a 16-byte header:
//
//	word 0 (u64 little endian): bits 0-31 payload length, bits 32-39 kind,
//	                            bits 40-47 flags, bits 48-63 zero
//	word 1 (u64): message id
//
// A padding record (kind 0) is only its first word, which is zero; it fills
// the rest of the data area when the next record would cross the end, is
// published together with that record, and the consumer skips to offset 0.
// So padding is shorter than capacity/2 (the largest record) and never the
// last thing published; the consumer refuses any other. Records and padding are 8-byte aligned and
// the capacity is a multiple of 8, so at least 8 bytes always remain before
// the end.
//
// Changing any offset here changes the shared-memory layout: bump
// proto.LayoutVersion, and the pinned values in layout_test.go.
type header struct {
	Magic           uint64
	Capacity        uint64
	_               [atomicx.CacheLine - 16]byte
	Tail            uint64
	_               [atomicx.CacheLine - 8]byte
	Head            uint64
	_               [atomicx.CacheLine - 8]byte
	ConsumerWaiting uint32
	_               [atomicx.CacheLine - 4]byte
	ProducerWaiting uint32
	_               [4096 - 4*atomicx.CacheLine - 4]byte
}

const (
	offMagic           = int(unsafe.Offsetof(header{}.Magic))
	offCapacity        = int(unsafe.Offsetof(header{}.Capacity))
	offTail            = int(unsafe.Offsetof(header{}.Tail))
	offHead            = int(unsafe.Offsetof(header{}.Head))
	offConsumerWaiting = int(unsafe.Offsetof(header{}.ConsumerWaiting))
	offProducerWaiting = int(unsafe.Offsetof(header{}.ProducerWaiting))

	// HeaderSize is the size of the ring header; the data area follows it.
	HeaderSize = int(unsafe.Sizeof(header{}))

	// recordHeaderSize is the size of a record header (two 64-bit words).
	recordHeaderSize = 16
)

// magic identifies an initialised ring header ("SHMRING" and format 1).
const magic uint64 = 0x01474e49524d4853
