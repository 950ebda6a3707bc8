package ring

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
)

// Kind is the type of a record, chosen by the ring's user. Kind 0 is
// reserved for padding.
type Kind uint8

// Record flags. A message in one record carries flagFirst. A fragmented
// message is a record with flagFirst|flagMore whose payload starts with the
// 8-byte total length, then records with flagMore, then a last record with
// neither flag.
const (
	flagFirst = 1 << 0
	flagMore  = 1 << 1
)

// minFragment is the smallest fragment the producer writes while more of a
// message remains: smaller ones would cost more in headers and wake-ups than
// they gain in overlap.
const minFragment = 4096

// Producer is the writing end of a ring. It must not be used by more than
// one goroutine at a time; a concurrent call is caught and returns an error
// instead of corrupting the indices.
type Producer struct {
	_ noCopy
	r *Ring

	tail      uint64 // local tail: records up to here are written, maybe not published
	headCache uint64 // last head read from the consumer; refreshed only when the ring looks full

	resPos   uint64 // data offset of the reserved record's header
	resEnd   uint64 // tail after the reservation (padding included)
	resLen   int    // payload bytes reserved
	reserved bool

	guard atomic.Int32
	err   error // sticky: the consumer's head was found corrupt
}

func (p *Producer) enter() error {
	if !p.guard.CompareAndSwap(0, 1) {
		return errConcurrent
	}
	if p.err != nil {
		// Sticky: refuse the call, but leave the guard open so that the next
		// call gets the same error rather than errConcurrent.
		p.guard.Store(0)
		return p.err
	}
	return nil
}

func (p *Producer) leave() { p.guard.Store(0) }

// free returns the bytes free in the ring, re-reading the consumer's head
// only when the cached value does not leave need bytes. A head that moved
// backwards or past the tail is corruption.
func (p *Producer) free(need uint64) (uint64, error) {
	capacity := uint64(len(p.r.data))
	if f := capacity - (p.tail - p.headCache); f >= need {
		return f, nil
	}
	head := p.r.head.Load() // read once: acquire, pairs with the consumer's release
	if used := p.tail - head; used > capacity || head < p.headCache || head%8 != 0 {
		p.err = corrupt(head, "consumer head %d is not within a capacity below tail %d", head, p.tail)
		return 0, p.err
	}
	p.headCache = head
	return capacity - (p.tail - head), nil
}

// Reserve returns n bytes of ring memory for the payload of one record, to
// be filled and then published with Commit. ok is false when the ring has no
// room now (nothing is written). n may be at most MaxRecord. The slice
// aliases shared memory and is valid until Commit; a second Reserve before
// Commit replaces the first.
func (p *Producer) Reserve(n int) (buf []byte, ok bool, err error) {
	if err := p.enter(); err != nil {
		return nil, false, err
	}
	defer p.leave()
	return p.reserve(n)
}

func (p *Producer) reserve(n int) ([]byte, bool, error) {
	if n < 0 || n > p.r.MaxRecord() {
		return nil, false, fmt.Errorf("ring: reserve %d bytes: record payload must be in [0, %d]: %w", n, p.r.MaxRecord(), ErrTooLarge)
	}
	capacity := uint64(len(p.r.data))
	size := align8(uint64(recordHeaderSize + n))
	pos := p.tail & p.r.mask
	pad := uint64(0)
	if toEnd := capacity - pos; size > toEnd {
		pad = toEnd
	}
	if f, err := p.free(pad + size); err != nil || f < pad+size {
		return nil, false, err
	}
	if pad > 0 {
		// The padding word is published together with the record by Commit.
		binary.LittleEndian.PutUint64(p.r.data[pos:], 0)
		pos = 0
	}
	p.resPos, p.resEnd, p.resLen, p.reserved = pos, p.tail+pad+size, n, true
	return p.r.data[pos+recordHeaderSize : pos+recordHeaderSize+uint64(n) : pos+recordHeaderSize+uint64(n)], true, nil
}

// Commit publishes the reserved record with its first n bytes as payload
// (n at most what Reserve returned), kind and id. It reports whether the
// consumer is waiting and must be woken.
func (p *Producer) Commit(n int, kind Kind, id uint64) (wake bool, err error) {
	if err := p.enter(); err != nil {
		return false, err
	}
	defer p.leave()
	return p.commit(n, kind, id, flagFirst)
}

func (p *Producer) commit(n int, kind Kind, id uint64, flags uint8) (bool, error) {
	if !p.reserved {
		return false, fmt.Errorf("ring: commit without a reservation")
	}
	if n < 0 || n > p.resLen {
		return false, fmt.Errorf("ring: commit %d bytes of a %d-byte reservation", n, p.resLen)
	}
	if kind == 0 {
		return false, fmt.Errorf("ring: commit: kind 0 is reserved for padding")
	}
	h := p.r.data[p.resPos : p.resPos+recordHeaderSize]
	binary.LittleEndian.PutUint64(h, uint64(uint32(n))|uint64(kind)<<32|uint64(flags)<<40)
	binary.LittleEndian.PutUint64(h[8:], id)
	// A shorter payload frees the tail of the reservation.
	p.tail = p.resEnd - (align8(uint64(recordHeaderSize+p.resLen)) - align8(uint64(recordHeaderSize+n)))
	p.reserved = false
	// Publish: the record bytes above were written with plain stores; this
	// atomic store orders them before the new tail for a consumer that loads
	// tail atomically (Go atomics are sequentially consistent).
	p.r.tail.Store(p.tail)
	return p.r.consumerWaiting.Load() != 0, nil
}

// TryPush writes msg as one record if it fits now (ok false otherwise) and
// reports whether the consumer must be woken. msg may be at most MaxRecord
// bytes; larger messages go through PushMessage.
func (p *Producer) TryPush(kind Kind, id uint64, msg []byte) (ok, wake bool, err error) {
	if err := p.enter(); err != nil {
		return false, false, err
	}
	defer p.leave()
	buf, ok, err := p.reserve(len(msg))
	if !ok {
		return false, false, err
	}
	copyIn(buf, msg)
	wake, err = p.commit(len(msg), kind, id, flagFirst)
	return err == nil, wake, err
}

// Outgoing is a message being written by PushMessage, which records its
// progress here. Set Kind, ID and Data; the rest is the producer's.
type Outgoing struct {
	Kind Kind
	ID   uint64
	Data []byte

	sent    int  // bytes of Data in the ring
	started bool // the first record is in the ring
}

// Reset prepares o for a new message.
func (o *Outgoing) Reset(kind Kind, id uint64, data []byte) {
	*o = Outgoing{Kind: kind, ID: id, Data: data}
}

// Started reports whether part of the message is in the ring: from then
// on it must be finished before any other record is written.
func (o *Outgoing) Started() bool { return o.started }

// Done reports whether the whole message is in the ring.
func (o *Outgoing) Done() bool { return o.started && o.sent == len(o.Data) }

// PushMessage writes as much of m as fits now, as one record if it can or as
// fragments, and reports whether the message is complete and whether the
// consumer must be woken. Call it again when there is room until done; a
// message of any size passes through a ring of any capacity this way, as
// long as the consumer keeps reading. Between the first and the last call no
// other record may be written.
func (p *Producer) PushMessage(m *Outgoing) (done, wake bool, err error) {
	if err := p.enter(); err != nil {
		return false, false, err
	}
	defer p.leave()
	maxRec := p.r.MaxRecord()
	for !m.Done() {
		rest := len(m.Data) - m.sent
		if !m.started && rest <= maxRec {
			buf, ok, err := p.reserve(rest)
			if !ok {
				return false, wake, err
			}
			copyIn(buf, m.Data)
			if wake, err = p.commit(rest, m.Kind, m.ID, flagFirst); err != nil {
				return false, false, err
			}
			m.sent, m.started = rest, true
			break
		}
		prefix := 0
		if !m.started {
			prefix = 8
		}
		limit := min(rest, maxRec-prefix)
		n := min(limit, p.room()-prefix)
		if n < limit && n < minFragment {
			return false, wake, p.err // wait for more room
		}
		buf, ok, err := p.reserve(prefix + n)
		if !ok {
			return false, wake, err
		}
		flags := uint8(flagMore)
		if !m.started {
			binary.LittleEndian.PutUint64(buf, uint64(len(m.Data)))
			flags |= flagFirst
		}
		if n == rest {
			flags &^= flagMore
		}
		copyIn(buf[prefix:], m.Data[m.sent:m.sent+n])
		if wake, err = p.commit(prefix+n, m.Kind, m.ID, flags); err != nil {
			return false, false, err
		}
		m.sent += n
		m.started = true
	}
	return true, wake, nil
}

// room returns the largest payload a single reservation could take now.
func (p *Producer) room() int {
	capacity := uint64(len(p.r.data))
	f, err := p.free(capacity)
	if err != nil {
		return 0
	}
	pos := p.tail & p.r.mask
	contiguous := min(f, capacity-pos)
	if contiguous < f { // the record may go after a padding to the end
		contiguous = max(contiguous, f-(capacity-pos))
	}
	if contiguous < recordHeaderSize {
		return 0
	}
	return int(contiguous - recordHeaderSize)
}

// Free reports the bytes free in the ring, re-reading the consumer's head.
// It is the producer's readiness test while it waits for room.
func (p *Producer) Free() int {
	f, _ := p.free(uint64(len(p.r.data)) + 1)
	return int(f)
}

// NeedsWake reports whether the consumer has said it is sleeping.
func (p *Producer) NeedsWake() bool { return p.r.consumerWaiting.Load() != 0 }

// Err returns the sticky error found in the consumer's index, if any.
func (p *Producer) Err() error { return p.err }

// noCopy makes go vet's copylocks check flag copies of the ring ends.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}
