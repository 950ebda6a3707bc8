package ring

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"sync/atomic"

	"github.com/shmpool/shmpool/internal/atomicx"
)

// MinCapacity is the smallest data area a ring accepts.
const MinCapacity = 4096

// MaxCapacity is the largest data area a ring accepts: record lengths are
// 32-bit.
const MaxCapacity = 1 << 31

// Ring is one direction of the channel over a byte region: its header views
// and data area. It hands out exactly one Producer and one Consumer; in
// practice one process uses the Producer and the other the Consumer, each
// through its own Ring value over its own mapping of the region.
type Ring struct {
	data []byte // the data area, len == capacity
	mask uint64 // capacity - 1

	tail            *atomic.Uint64 // producer writes (publish), consumer reads (acquire)
	head            *atomic.Uint64 // consumer writes (release space), producer reads
	consumerWaiting *atomic.Uint32 // consumer sets before sleeping; producer reads after publishing
	producerWaiting *atomic.Uint32 // producer sets before sleeping; consumer reads after releasing
}

// RegionSize returns the size of a region holding a ring of the given
// capacity.
func RegionSize(capacity int) int { return HeaderSize + capacity }

// Init formats region as an empty ring whose capacity is
// len(region)-HeaderSize, which must be a power of two between MinCapacity
// and MaxCapacity. region must be 8-byte aligned. Init must run before any
// peer attaches; it is the only write to the header's read-only words.
func Init(region []byte) (*Ring, error) {
	capacity := len(region) - HeaderSize
	if err := checkCapacity(capacity); err != nil {
		return nil, fmt.Errorf("ring: init region of %d bytes: %w", len(region), err)
	}
	if !atomicx.IsAligned(region, 8) {
		return nil, fmt.Errorf("ring: init region: not 8-byte aligned")
	}
	clear(region[:HeaderSize])
	binary.LittleEndian.PutUint64(region[offCapacity:], uint64(capacity))
	binary.LittleEndian.PutUint64(region[offMagic:], magic)
	return newRing(region, capacity), nil
}

// Attach returns the ring that Init formatted in region, after checking the
// magic, that the capacity is a power of two matching the region's length,
// and that the indices are at most a capacity apart. A violation is a
// *CorruptError.
func Attach(region []byte) (*Ring, error) {
	if len(region) < HeaderSize+MinCapacity {
		return nil, corrupt(0, "region of %d bytes is smaller than a header and the minimum capacity (%d)", len(region), HeaderSize+MinCapacity)
	}
	if !atomicx.IsAligned(region, 8) {
		return nil, fmt.Errorf("ring: attach region: not 8-byte aligned")
	}
	if m := binary.LittleEndian.Uint64(region[offMagic:]); m != magic {
		return nil, corrupt(0, "bad magic %#x", m)
	}
	capacity := binary.LittleEndian.Uint64(region[offCapacity:])
	if capacity > MaxCapacity || checkCapacity(int(capacity)) != nil {
		return nil, corrupt(0, "capacity %d is not a power of two in [%d, %d]", capacity, MinCapacity, MaxCapacity)
	}
	if int(capacity) != len(region)-HeaderSize {
		return nil, corrupt(0, "capacity %d does not match region of %d bytes", capacity, len(region))
	}
	r := newRing(region, int(capacity))
	head, tail := r.head.Load(), r.tail.Load()
	if tail-head > capacity || head%8 != 0 || tail%8 != 0 {
		return nil, corrupt(head, "indices head %d tail %d are not 8-aligned at most a capacity apart", head, tail)
	}
	return r, nil
}

func checkCapacity(capacity int) error {
	if capacity < MinCapacity || capacity > MaxCapacity || bits.OnesCount(uint(capacity)) != 1 {
		return fmt.Errorf("capacity %d is not a power of two in [%d, %d]", capacity, MinCapacity, MaxCapacity)
	}
	return nil
}

func newRing(region []byte, capacity int) *Ring {
	return &Ring{
		data:            region[HeaderSize : HeaderSize+capacity : HeaderSize+capacity],
		mask:            uint64(capacity - 1),
		tail:            atomicx.Uint64At(region, offTail),
		head:            atomicx.Uint64At(region, offHead),
		consumerWaiting: atomicx.Uint32At(region, offConsumerWaiting),
		producerWaiting: atomicx.Uint32At(region, offProducerWaiting),
	}
}

// Capacity returns the size of the data area in bytes.
func (r *Ring) Capacity() int { return len(r.data) }

// MaxRecord returns the largest payload one record can carry: half the
// capacity, minus the record header. A record of at most half the capacity
// always fits once the ring has drained, whatever the wrap position, so a
// producer can never wait forever for room. Larger messages are fragmented.
func (r *Ring) MaxRecord() int { return len(r.data)/2 - recordHeaderSize }

// ConsumerWaiting returns the word the consumer sets before it sleeps
// waiting for records; the producer's side wakes it (see internal/wake).
func (r *Ring) ConsumerWaiting() *atomic.Uint32 { return r.consumerWaiting }

// ProducerWaiting returns the word the producer sets before it sleeps
// waiting for room; the consumer's side wakes it.
func (r *Ring) ProducerWaiting() *atomic.Uint32 { return r.producerWaiting }

// Producer returns the ring's producer end. Call it once per process. If the
// indices in the region are no longer valid (the peer changed them since
// Init or Attach), every call on the producer returns a *CorruptError.
func (r *Ring) Producer() *Producer {
	tail, head := r.tail.Load(), r.head.Load() // read once each
	p := &Producer{r: r, tail: tail, headCache: head}
	if tail-head > uint64(len(r.data)) || (tail|head)%8 != 0 {
		// The peer changed the indices since Init or Attach checked them.
		p.err = corrupt(tail, "indices head %d tail %d are not 8-aligned at most a capacity apart", head, tail)
	}
	return p
}

// Consumer returns the ring's consumer end. maxMessage bounds the size of a
// reassembled message: a fragmented message announcing more is corrupt.
func (r *Ring) Consumer(maxMessage int) *Consumer {
	head := r.head.Load()
	// tailCache starts at head: nothing is known to be published yet, so the
	// first read re-loads and checks the tail.
	return &Consumer{r: r, head: head, tailCache: head, maxMessage: uint64(max(maxMessage, 0))}
}

func align8(n uint64) uint64 { return (n + 7) &^ 7 }

// How records are copied. The two sides copy differently because what
// comes next differs: the consumer's copy out of the ring is read next by
// the same core, the producer's copy into the ring by the other one.
//
// The consumer copies in copyChunk pieces: Go's memmove switches to
// non-temporal stores at 1 MiB (amd64), and a message copied out of the ring
// that way goes to memory just before its reader wants it in cache.
//
// The producer copies with one copy (copyIn), so a record of 1 MiB or more
// is written with non-temporal stores and goes to memory, not into this
// core's cache. Which is faster for the consumer depends on how far apart
// the two cores are, and on a VM that changes while a program runs: on a
// 2-vCPU KVM guest whose vCPUs moved between host placements from one run to
// the next, 1 MiB records streamed at 40 GB/s (cached stores) against 22
// GB/s (non-temporal) where a cache line crossed between the cores in 57-150
// ns, but at 6-8.5 GB/s against 23-30 GB/s where it took 250-500 ns; a
// SOCK_SEQPACKET socket moved 8-20 GB/s in the same runs (go test
// -run='^$' -bench='(RingCrossProcess|SeqpacketCrossProcess)/size=1MiB'
// ./ring/, run alternately against a build whose copyIn is copyCached).
// Non-temporal stores are never the slow case, so the producer uses them.
const copyChunk = 256 << 10

// copyCached copies src into dst in cache-sized pieces and returns the
// number of bytes copied.
func copyCached(dst, src []byte) int {
	n := min(len(dst), len(src))
	for off := 0; off < n; off += copyChunk {
		end := min(off+copyChunk, n)
		copy(dst[off:end], src[off:end])
	}
	return n
}

// copyIn copies a record's payload into the ring (see copyChunk).
func copyIn(dst, src []byte) int { return copy(dst, src) }

// Copy is the consumer's copy for callers outside the package that copy
// large messages out of ring memory into their own buffers: in cache-sized
// pieces, so the copy stays in cache for the code that reads it next.
func Copy(dst, src []byte) int { return copyCached(dst, src) }

// Clone returns a copy of b in fresh memory (never nil), for
// taking a message out of the ring. Unlike make and Copy it does not zero
// the new memory first (a 1 MiB make clears 1 MiB that the copy then
// overwrites), and unlike bytes.Clone it copies in cache-sized pieces, not
// with the non-temporal stores of one large memmove: bytes.Join allocates
// without zeroing and copies piece by piece.
func Clone(b []byte) []byte {
	if len(b) <= copyChunk {
		return append([]byte{}, b...)[:len(b):len(b)]
	}
	var stack [8][]byte // pieces of messages up to 2 MiB without an allocation
	pieces := stack[:0]
	for off := 0; off < len(b); off += copyChunk {
		pieces = append(pieces, b[off:min(off+copyChunk, len(b))])
	}
	return bytes.Join(pieces, nil)
}
