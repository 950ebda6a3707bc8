package ring

import (
	"encoding/binary"
	"sync/atomic"
)

// Msg is a message read from the ring.
type Msg struct {
	Kind Kind
	ID   uint64
	// Data is the payload. For a message that arrived in one record it
	// aliases ring memory and is valid only until Release. For a fragmented
	// message it is a fresh heap buffer (Owned is true) that the caller may
	// keep.
	Data  []byte
	Owned bool
}

// Consumer is the reading end of a ring. It must not be used by more than
// one goroutine at a time; a concurrent call is caught and returns an error.
//
// Everything the consumer reads from the ring is untrusted: the tail index
// and each record header are read once into locals and checked against the
// capacity, the data area and the fragment protocol before any slice is
// taken. A violation is a *CorruptError, sticky from then on.
type Consumer struct {
	_ noCopy
	r *Ring

	head      uint64 // local head: records below it are consumed, maybe not released
	tailCache uint64 // last tail read from the producer; refreshed only when the ring looks empty

	maxMessage uint64

	peeked  bool   // a message is held between Peek and Release
	peekMsg Msg    // the message held
	next    uint64 // head after the held message

	// Reassembly of a fragmented message.
	asm       []byte
	asmKind   Kind
	asmID     uint64
	asmFilled uint64
	inAsm     bool

	guard atomic.Int32
	err   error
}

func (c *Consumer) enter() error {
	if !c.guard.CompareAndSwap(0, 1) {
		return errConcurrent
	}
	if c.err != nil {
		// Sticky: refuse the call, but leave the guard open so that the next
		// call gets the same error rather than errConcurrent.
		c.guard.Store(0)
		return c.err
	}
	return nil
}

func (c *Consumer) leave() { c.guard.Store(0) }

func (c *Consumer) fail(off uint64, format string, args ...any) error {
	c.err = corrupt(off, format, args...)
	return c.err
}

// available returns how many bytes the producer has published beyond head,
// re-reading the tail only when the cached value shows none.
func (c *Consumer) available() (uint64, error) {
	if c.tailCache != c.head {
		return c.tailCache - c.head, nil
	}
	tail := c.r.tail.Load() // read once: acquire, pairs with the producer's publish
	if d := tail - c.head; d > uint64(len(c.r.data)) || (tail|c.head)%8 != 0 {
		// c.head is checked too: it came from the region when c was created.
		return 0, c.fail(c.head, "producer tail %d and head %d are not 8-aligned with the tail at most a capacity above", tail, c.head)
	}
	c.tailCache = tail
	return tail - c.head, nil
}

// Ready reports whether the producer has published anything not yet
// consumed. It is the consumer's readiness test while it waits.
func (c *Consumer) Ready() bool { return c.r.tail.Load() != c.head || c.err != nil }

// Peek returns the next message without copying it when it arrived in one
// record. ok is false when no complete message is available yet; fragments
// of a large message are copied out and their space released as they
// arrive, so a message larger than the ring gets through. Peek returns the
// same message until Release.
func (c *Consumer) Peek() (m Msg, ok bool, err error) {
	if err := c.enter(); err != nil {
		return Msg{}, false, err
	}
	defer c.leave()
	return c.peek()
}

func (c *Consumer) peek() (Msg, bool, error) {
	if c.peeked {
		return c.peekMsg, true, nil
	}
	capacity := uint64(len(c.r.data))
	released := false
	defer func() {
		if released && !c.peeked {
			// Fragments were consumed: hand their space back now, so a
			// producer waiting for room can go on.
			c.r.head.Store(c.head)
		}
	}()
	for {
		avail, err := c.available()
		if err != nil || avail == 0 {
			return Msg{}, false, err
		}
		pos := c.head & c.r.mask
		toEnd := capacity - pos
		w0 := binary.LittleEndian.Uint64(c.r.data[pos:]) // read once
		length, kind, flags := uint64(uint32(w0)), Kind(w0>>32), uint8(w0>>40)
		if kind == 0 {
			// A producer pads only before a record too large for the
			// toEnd bytes left, and publishes the padding together with
			// that record. No record takes more than capacity/2 bytes, so
			// padding of capacity/2 or more, or padding with nothing
			// published after it, never comes from a correct producer: a
			// peer that moves the tail over zeroed bytes would otherwise
			// look like one that padded, and go unnoticed.
			if w0 != 0 || toEnd >= avail || toEnd >= capacity/2 {
				return Msg{}, false, c.fail(c.head, "bad padding word %#x (%d bytes to end, %d published)", w0, toEnd, avail)
			}
			c.head += toEnd
			released = true
			continue
		}
		size := align8(recordHeaderSize + length)
		if w0>>48 != 0 || length > uint64(c.r.MaxRecord()) || size > toEnd || size > avail {
			return Msg{}, false, c.fail(c.head, "bad record header %#x (%d bytes to end, %d published)", w0, toEnd, avail)
		}
		id := binary.LittleEndian.Uint64(c.r.data[pos+8:])
		payload := c.r.data[pos+recordHeaderSize : pos+recordHeaderSize+length : pos+recordHeaderSize+length]
		switch {
		case flags == flagFirst && !c.inAsm:
			c.peekMsg = Msg{Kind: kind, ID: id, Data: payload}
			c.next = c.head + size
			c.peeked = true
			return c.peekMsg, true, nil
		case flags == flagFirst|flagMore && !c.inAsm:
			if length < 8 {
				return Msg{}, false, c.fail(c.head, "first fragment of %d bytes has no length", length)
			}
			total := binary.LittleEndian.Uint64(payload)
			if total > c.maxMessage || total < length-8 {
				return Msg{}, false, c.fail(c.head, "fragmented message of %d bytes (limit %d, first fragment %d)", total, c.maxMessage, length-8)
			}
			c.asm = make([]byte, total)
			c.asmKind, c.asmID, c.inAsm = kind, id, true
			c.asmFilled = uint64(copyCached(c.asm, payload[8:]))
		case (flags == flagMore || flags == 0) && c.inAsm:
			if kind != c.asmKind || id != c.asmID || c.asmFilled+length > uint64(len(c.asm)) {
				return Msg{}, false, c.fail(c.head, "fragment (kind %d, id %d, %d bytes) does not continue message (kind %d, id %d, %d of %d bytes)",
					kind, id, length, c.asmKind, c.asmID, c.asmFilled, len(c.asm))
			}
			c.asmFilled += uint64(copyCached(c.asm[c.asmFilled:], payload))
			if flags == 0 {
				if c.asmFilled != uint64(len(c.asm)) {
					return Msg{}, false, c.fail(c.head, "last fragment ends message at %d of %d bytes", c.asmFilled, len(c.asm))
				}
				c.head += size
				c.peekMsg = Msg{Kind: kind, ID: id, Data: c.asm, Owned: true}
				c.next = c.head
				c.peeked = true
				c.asm, c.inAsm = nil, false
				c.r.head.Store(c.head)
				return c.peekMsg, true, nil
			}
		default:
			return Msg{}, false, c.fail(c.head, "record flags %#x out of sequence (reassembling: %v)", flags, c.inAsm)
		}
		c.head += size
		released = true
	}
}

// Release consumes the message returned by Peek, handing its space back to
// the producer, and reports whether the producer is waiting for room and
// must be woken. Data of a message that aliased the ring must not be used
// afterwards.
func (c *Consumer) Release() (wake bool, err error) {
	if err := c.enter(); err != nil {
		return false, err
	}
	defer c.leave()
	c.release()
	return c.r.producerWaiting.Load() != 0, nil
}

func (c *Consumer) release() {
	if !c.peeked {
		return
	}
	c.peeked, c.peekMsg = false, Msg{}
	c.head = c.next
	// Release: the consumer's reads of the record happen before this store;
	// the producer loads head before it overwrites the space.
	c.r.head.Store(c.head)
}

// TryPop copies the next message into dst's storage (appending to dst[:0])
// and releases it. ok is false when no complete message is available. It
// does not allocate when dst has room for a message that arrived in one
// record; a fragmented message's own buffer is returned as is.
func (c *Consumer) TryPop(dst []byte) (m Msg, ok bool, err error) {
	if err := c.enter(); err != nil {
		return Msg{}, false, err
	}
	defer c.leave()
	m, ok, err = c.peek()
	if !ok {
		return m, ok, err
	}
	if !m.Owned {
		dst = growTo(dst[:0], len(m.Data))
		copyCached(dst, m.Data)
		m.Data, m.Owned = dst, true
	}
	c.release()
	return m, true, nil
}

func growTo(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// NeedsWake reports whether the producer has said it is sleeping for room.
func (c *Consumer) NeedsWake() bool { return c.r.producerWaiting.Load() != 0 }

// Err returns the sticky corruption error, if any.
func (c *Consumer) Err() error { return c.err }
