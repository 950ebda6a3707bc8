package ring_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/bits"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/internal/atomicx"
	"github.com/shmpool/shmpool/ring"
)

// The fuzz targets check properties, not just the absence of a panic. Seeds
// and crashers live in testdata/fuzz/FuzzXxx/ and run with every `go test`;
// FuzzConsumer also adds ring images written by a real producer
// (ringImages), so its seeds follow the record format as it changes.

// Offsets of the header words, pinned by TestLayout (layout_test.go).
const (
	offMagic           = 0
	offCapacity        = 8
	offTail            = 128
	offHead            = 256
	offConsumerWaiting = 384
	offProducerWaiting = 512
)

// ringMagic is the header's magic word ("SHMRING" and format 1).
const ringMagic uint64 = 0x01474e49524d4853

// maxFuzzData bounds the data area FuzzAttach builds; larger sizes wrap.
const maxFuzzData = 64 << 10

// FuzzAttach attaches to a region of a fuzzed size whose header words
// (magic, capacity, head, tail, waiting words) are fuzzed, optionally
// misaligned, with fuzzed bytes in the data area. Properties:
//  1. Attach never panics, and returns an error exactly when it returns no
//     ring; an error about the header's content matches ErrCorrupt.
//  2. On success the capacity is a power of two in [MinCapacity,
//     MaxCapacity] equal to len(region)-HeaderSize, and head and tail are
//     8-aligned with tail-head <= capacity.
//  3. The ends of an attached ring never panic either: popping whatever the
//     data area holds ends in a message, nothing or ErrCorrupt, and a push
//     either fits or is refused.
func FuzzAttach(f *testing.F) {
	f.Fuzz(func(t *testing.T, size uint32, magic, capacity, head, tail uint64, cw, pw uint32, misalign bool, data []byte) {
		n := int(size % uint32(ring.HeaderSize+maxFuzzData+64))
		buf := atomicx.AlignedBytes(max(n, offProducerWaiting+4) + 8)
		region := buf[:n]
		if misalign {
			region = buf[4 : n+4]
		}
		// The header words are written even beyond a short region, where
		// Attach must not look.
		hdr := region[:max(n, offProducerWaiting+4)]
		binary.LittleEndian.PutUint64(hdr[offMagic:], magic)
		binary.LittleEndian.PutUint64(hdr[offCapacity:], capacity)
		binary.LittleEndian.PutUint64(hdr[offTail:], tail)
		binary.LittleEndian.PutUint64(hdr[offHead:], head)
		binary.LittleEndian.PutUint32(hdr[offConsumerWaiting:], cw)
		binary.LittleEndian.PutUint32(hdr[offProducerWaiting:], pw)
		if len(region) > ring.HeaderSize {
			copy(region[ring.HeaderSize:], data)
		}

		r, err := ring.Attach(region)
		if err != nil {
			require.Nil(t, r, "an error and a ring")
			contentOK := len(region) >= ring.RegionSize(ring.MinCapacity) && !misalign
			if contentOK && !errors.Is(err, ring.ErrCorrupt) {
				t.Fatalf("error about a region of the right shape does not match ErrCorrupt: %v", err)
			}
			return
		}
		require.NotNil(t, r)
		c := r.Capacity()
		require.Equal(t, 1, bits.OnesCount(uint(c)), "capacity %d is a power of two", c)
		require.GreaterOrEqual(t, c, ring.MinCapacity)
		require.LessOrEqual(t, c, ring.MaxCapacity)
		require.Equal(t, len(region)-ring.HeaderSize, c)
		require.False(t, misalign, "a misaligned region was accepted")
		require.Equal(t, ringMagic, magic)
		require.Zero(t, head%8)
		require.Zero(t, tail%8)
		require.LessOrEqual(t, tail-head, uint64(c), "head %d tail %d", head, tail)

		drain(t, r.Consumer(fuzzMaxMessage), fuzzMaxMessage, region, head, tail, 0x55)
		// The head the consumer left is valid, so the producer finds no fault.
		_, _, err = r.Producer().TryPush(1, 1, []byte("x"))
		require.NoError(t, err)
	})
}

// FuzzConsumer overwrites the data area and the head and tail words of a
// ring of capacity 4096 with fuzzed bytes, then pops until nothing is left
// or an error. With plausible set the indices are 8-aligned and at most a
// capacity apart (tail = head + a multiple of 8), so the consumer gets as
// far as the records; otherwise they are used as they are. Properties:
//  1. No panic, and the loop ends (it is bounded, and so must be the work).
//  2. Every message has len(Data) <= the consumer's maxMessage; a message
//     read in place (not Owned) lies inside the data area.
//  3. The head the consumer publishes never passes the tail: it consumes at
//     most what the producer published.
//  4. An error matches ErrCorrupt and is sticky: every later call returns it.
func FuzzConsumer(f *testing.F) {
	for _, img := range ringImages(f) {
		f.Add(img.head, img.tail, true, uint8(0x55), img.data)
		f.Add(img.head, img.tail, false, uint8(0xff), img.data)
	}
	f.Fuzz(func(t *testing.T, head, tail uint64, plausible bool, mode uint8, data []byte) {
		const capacity = 4096
		region := atomicx.AlignedBytes(ring.RegionSize(capacity))
		r, err := ring.Init(region)
		require.NoError(t, err)
		copy(region[ring.HeaderSize:], data)
		if plausible {
			head &^= 7
			tail = head + tail%(capacity/8+1)*8
		}
		binary.LittleEndian.PutUint64(region[offTail:], tail)
		binary.LittleEndian.PutUint64(region[offHead:], head)
		drain(t, r.Consumer(fuzzMaxMessage), fuzzMaxMessage, region, head, tail, mode)
	})
}

// fuzzMaxMessage is the reassembly limit of the fuzzed consumers.
const fuzzMaxMessage = 3 * 4096

// drain pops from c, a consumer of the ring in region with limit
// maxMessage, until it reports nothing or an error, with TryPop when the bit
// of mode for the iteration is set and Peek+Release otherwise, and checks the
// properties of FuzzConsumer. head0 and tail are the indices the region held
// when c was created. The loop checks with plain comparisons: testify's
// reflection costs a microsecond a call, which would slow the fuzzer down
// tenfold.
func drain(t *testing.T, c *ring.Consumer, maxMessage int, region []byte, head0, tail uint64, mode uint8) {
	t.Helper()
	area := region[ring.HeaderSize:]
	consumed := func() uint64 { return binary.LittleEndian.Uint64(region[offHead:]) - head0 }
	var dst []byte
	for i, prev := 0, uint64(0); ; i++ {
		if i > len(area)/16 {
			t.Fatalf("%d messages from a ring of %d bytes", i, len(area))
		}
		var (
			m   ring.Msg
			ok  bool
			err error
		)
		if mode>>(i%8)&1 != 0 {
			m, ok, err = c.TryPop(dst)
			if ok && !m.Owned {
				t.Fatalf("TryPop returned a message it does not own")
			}
		} else {
			m, ok, err = c.Peek()
			if ok {
				again, ok2, err2 := c.Peek()
				if err2 != nil || !ok2 || again.Kind != m.Kind || again.ID != m.ID || again.Owned != m.Owned ||
					len(again.Data) != len(m.Data) || len(m.Data) > 0 && &again.Data[0] != &m.Data[0] {
					t.Fatalf("Peek returned %+v, then %+v, %v, %v: not the same message until Release", m, again, ok2, err2)
				}
				if !m.Owned {
					requireInside(t, m.Data, area)
				}
			}
		}
		if n := consumed(); n > tail-head0 {
			t.Fatalf("the consumer released %d bytes, %d were published", n, tail-head0)
		}
		if err != nil {
			require.False(t, ok)
			require.ErrorIs(t, err, ring.ErrCorrupt)
			require.Equal(t, err, c.Err())
			_, ok, err2 := c.TryPop(nil)
			assert.False(t, ok)
			assert.Same(t, err, err2, "the error is sticky (TryPop)")
			_, ok, err2 = c.Peek()
			assert.False(t, ok)
			assert.Same(t, err, err2, "the error is sticky (Peek)")
			_, err2 = c.Release()
			assert.Same(t, err, err2, "the error is sticky (Release)")
			return
		}
		if !ok {
			return
		}
		if len(m.Data) > maxMessage {
			t.Fatalf("a message of %d bytes, the limit is %d", len(m.Data), maxMessage)
		}
		if mode>>(i%8)&1 == 0 {
			if _, err := c.Release(); err != nil {
				t.Fatalf("Release after Peek: %v", err)
			}
		}
		n := consumed()
		if n > tail-head0 {
			t.Fatalf("the consumer released %d bytes, %d were published", n, tail-head0)
		}
		if n <= prev {
			t.Fatalf("message %d was returned without consuming anything (head at +%d)", i, n)
		}
		prev = n
	}
}

// requireInside checks that b lies inside area, by identity of its first
// byte (no unsafe: test files may not import it, STYLE.md part (c)).
// Payloads start 8-aligned in the data area, so only those offsets are
// tried; a payload anywhere else fails too.
func requireInside(t *testing.T, b, area []byte) {
	t.Helper()
	if len(b) == 0 {
		return
	}
	for off := 0; off+len(b) <= len(area); off += 8 {
		if &area[off] == &b[0] {
			return
		}
	}
	t.Fatalf("a message of %d bytes read in place is not at an 8-aligned place inside the data area", len(b))
}

// ringImage is a ring's data area and indices as a producer left them.
type ringImage struct {
	head, tail uint64
	data       []byte
}

// ringImages returns data areas of capacity 4096 written by a real producer
// starting at various indices: single records, padding, empty records and
// fragments of large messages. They are the seeds that reach deep into the
// consumer's checks.
func ringImages(tb testing.TB) []ringImage {
	const capacity = 4096
	build := func(start uint64, fill func(p *ring.Producer)) ringImage {
		region := atomicx.AlignedBytes(ring.RegionSize(capacity))
		r, err := ring.Init(region)
		require.NoError(tb, err)
		binary.LittleEndian.PutUint64(region[offTail:], start)
		binary.LittleEndian.PutUint64(region[offHead:], start)
		fill(r.Producer())
		return ringImage{
			head: start,
			tail: binary.LittleEndian.Uint64(region[offTail:]),
			data: bytes.Clone(region[ring.HeaderSize:]),
		}
	}
	pushAll := func(sizes ...int) func(p *ring.Producer) {
		return func(p *ring.Producer) {
			for i, n := range sizes {
				var o ring.Outgoing
				o.Reset(ring.Kind(1+i), uint64(i), payload(uint64(i), n))
				_, _, err := p.PushMessage(&o)
				require.NoError(tb, err)
			}
		}
	}
	return []ringImage{
		build(0, pushAll(0, 1, 7, 8, 100)),
		build(3968, pushAll(200, 50, 3)),          // wraps: padding near the end
		build(4088, pushAll(16, 16)),              // padding of one word
		build(1<<40, pushAll(2032, 2032)),         // two largest records
		build(512, pushAll(5000)),                 // first fragment of a message
		build(0, pushAll(2040)),                   // fragmented, first record then room for the rest
		build(^uint64(0)-1023, pushAll(64, 1000)), // indices about to wrap around 2^64
	}
}

// TestEndsRefuseBadIndices creates ring ends over indices a peer corrupted
// after Init (Attach would have refused them) and checks that every call
// fails with the same ErrCorrupt instead of panicking or writing out of
// place.
func TestEndsRefuseBadIndices(t *testing.T) {
	const capacity = 4096
	tests := []struct {
		name       string
		head, tail uint64
		producer   bool // the producer finds it (else the consumer)
	}{
		{"a producer over an unaligned tail", 0, 4095, true},
		{"a producer over an unaligned head", 1, 8, true},
		{"a producer whose tail is more than a capacity ahead", 0, 2 * capacity, true},
		{"a producer whose head passed the tail", 16, 8, true},
		{"a consumer over an unaligned head", 4095, 4096, false},
		{"a consumer over an unaligned tail", 0, 9, false},
		{"a consumer whose tail is more than a capacity ahead", 8, 16 + capacity, false},
		// The data area is zeroed: the word at the head reads as padding.
		{"a consumer given padding with nothing published after it", 3000, capacity, false},
		// ... followed, at offset 0, by a record that would be valid.
		{"a consumer given padding of half the capacity", capacity / 2, capacity + 24, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			region := atomicx.AlignedBytes(ring.RegionSize(capacity))
			r, err := ring.Init(region)
			require.NoError(t, err)
			binary.LittleEndian.PutUint64(region[offTail:], tt.tail)
			binary.LittleEndian.PutUint64(region[offHead:], tt.head)
			// A one-record message of 8 bytes, kind 1, at offset 0.
			binary.LittleEndian.PutUint64(region[ring.HeaderSize:], 8|1<<32|1<<40)
			if tt.producer {
				p := r.Producer()
				_, _, err := p.TryPush(1, 1, make([]byte, 100))
				require.ErrorIs(t, err, ring.ErrCorrupt)
				var o ring.Outgoing
				o.Reset(1, 1, make([]byte, 3*capacity))
				_, _, err2 := p.PushMessage(&o)
				assert.Same(t, err, err2, "the error is sticky")
				_, _, err2 = p.Reserve(8)
				assert.Same(t, err, err2, "the error is sticky")
				assert.Same(t, err, p.Err())
				return
			}
			c := r.Consumer(capacity)
			_, ok, err := c.Peek()
			assert.False(t, ok)
			require.ErrorIs(t, err, ring.ErrCorrupt)
			_, _, err2 := c.TryPop(nil)
			assert.Same(t, err, err2, "the error is sticky")
			assert.Same(t, err, c.Err())
		})
	}
}

// FuzzRoundTrip derives a sequence of operations from the fuzzed bytes and
// runs it on one goroutine over a small ring (4 or 8 KiB): messages of any size pushed
// with TryPush, PushMessage (fragmented when larger than a record) or
// Reserve and a shorter Commit, interleaved with pops by TryPop or
// Peek+Release. Properties:
//  1. Every message arrives exactly once, in order, with its kind, id and
//     content; no call ever reports an error.
//  2. A message larger than the ring gets through as long as the consumer
//     keeps popping (the producer never waits for good).
//  3. Once everything is popped the ring is empty and wholly free.
func FuzzRoundTrip(f *testing.F) {
	// Bounded work per input keeps the fuzzer fast: at most this many
	// operations of at most two capacities each.
	const maxRoundTripOps = 256
	f.Fuzz(func(t *testing.T, shift uint8, ops []byte) {
		capacity := ring.MinCapacity << (shift % 2)
		ops = ops[:min(len(ops), 3*maxRoundTripOps)]
		r, p, c := newRing(t, capacity)
		maxRec := r.MaxRecord()

		type sent struct {
			kind ring.Kind
			id   uint64
			data []byte
		}
		var want []sent // pushed, not yet popped
		var nextID uint64
		var dst []byte
		// pop takes one message if one is complete and checks it against
		// the oldest one pushed. It reports whether it got one.
		pop := func(peek bool) bool {
			t.Helper()
			var m ring.Msg
			var ok bool
			var err error
			if peek {
				m, ok, err = c.Peek()
				if ok {
					again, _, err2 := c.Peek()
					if err2 != nil || again.ID != m.ID || len(again.Data) != len(m.Data) {
						t.Fatalf("Peek returned %+v then %+v, %v: not the same message until Release", m, again, err2)
					}
				}
			} else {
				m, ok, err = c.TryPop(dst)
			}
			if err != nil {
				t.Fatalf("pop: %v", err)
			}
			if !ok {
				return false
			}
			if len(want) == 0 {
				t.Fatalf("a message (kind %d id %d, %d bytes) nobody sent", m.Kind, m.ID, len(m.Data))
			}
			w := want[0]
			want = want[1:]
			if m.ID != w.id || m.Kind != w.kind || !bytes.Equal(m.Data, w.data) {
				t.Fatalf("got message %d (kind %d, %d bytes), want %d (kind %d, %d bytes; content equal: %v)",
					m.ID, m.Kind, len(m.Data), w.id, w.kind, len(w.data), bytes.Equal(m.Data, w.data))
			}
			if peek {
				if _, err := c.Release(); err != nil {
					t.Fatalf("Release: %v", err)
				}
			} else if cap(m.Data) > cap(dst) {
				dst = m.Data
			}
			return true
		}
		// room pops until the producer may go on; it fails the test when
		// nothing is left to pop, which would mean the producer waits for
		// good.
		room := func() {
			t.Helper()
			if !pop(nextID%2 == 0) && len(want) == 0 && !c.Ready() {
				t.Fatalf("the producer is stuck with %d of %d bytes free and nothing to pop", p.Free(), capacity)
			}
		}
		for len(ops) >= 3 {
			op, hi, lo := ops[0], ops[1], ops[2]
			ops = ops[3:]
			size := int(hi)<<8 | int(lo)
			kind := ring.Kind(1 + op>>2%255)
			id := nextID
			nextID++
			switch op % 4 {
			case 0: // one record, copied in
				size %= maxRec + 1
				data := payload(id, size)
				want = append(want, sent{kind, id, data})
				for {
					ok, _, err := p.TryPush(kind, id, data)
					if err != nil {
						t.Fatalf("TryPush: %v", err)
					}
					if ok {
						break
					}
					room()
				}
			case 1: // any size up to twice the capacity, fragmented if it must
				size %= 2*capacity + 1
				data := payload(id, size)
				want = append(want, sent{kind, id, data})
				var o ring.Outgoing
				o.Reset(kind, id, data)
				for {
					done, _, err := p.PushMessage(&o)
					if err != nil {
						t.Fatalf("PushMessage: %v", err)
					}
					if done {
						break
					}
					room()
				}
			case 2: // reserve, fill, commit part of it
				size %= maxRec + 1
				n := size - int(lo)%(size+1)
				data := payload(id, n)
				want = append(want, sent{kind, id, data})
				for {
					buf, ok, err := p.Reserve(size)
					if err != nil {
						t.Fatalf("Reserve: %v", err)
					}
					if ok {
						if len(buf) != size {
							t.Fatalf("Reserve(%d) returned %d bytes", size, len(buf))
						}
						copy(buf, data)
						if _, err := p.Commit(n, kind, id); err != nil {
							t.Fatalf("Commit: %v", err)
						}
						break
					}
					room()
				}
			case 3: // pop a few
				nextID--
				for i := range int(hi%8) + 1 {
					if !pop((int(lo)>>i)&1 == 0) {
						break
					}
				}
			}
		}
		for len(want) > 0 {
			if !pop(len(want)%2 == 0) {
				t.Fatalf("%d messages pushed but never arrived", len(want))
			}
		}
		_, ok, err := c.Peek()
		require.NoError(t, err)
		assert.False(t, ok, "nothing beyond the last message")
		assert.False(t, c.Ready())
		assert.Equal(t, capacity, p.Free(), "every byte is free again")
	})
}
