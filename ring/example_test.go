package ring_test

import (
	"bytes"
	"fmt"

	"github.com/shmpool/shmpool/internal/atomicx"
	"github.com/shmpool/shmpool/ring"
)

// A ring over heap memory; in shmpool the region is part of a memfd mapping
// shared by two processes, and each side attaches its own Ring to it.
func ExampleInit() {
	region := atomicx.AlignedBytes(ring.RegionSize(4096)) // 8-byte aligned
	r, err := ring.Init(region)
	if err != nil {
		panic(err)
	}
	p, c := r.Producer(), r.Consumer(1<<20)

	for i, s := range []string{"first", "second"} {
		if ok, _, err := p.TryPush(1, uint64(i), []byte(s)); !ok || err != nil {
			panic(err)
		}
	}
	var buf []byte
	for {
		m, ok, err := c.TryPop(buf[:0])
		if err != nil {
			panic(err)
		}
		if !ok {
			break // empty: a real consumer would wait (internal/wake)
		}
		buf = m.Data
		fmt.Println(m.Kind, m.ID, string(m.Data))
	}
	fmt.Println(r.Capacity(), r.MaxRecord())
	// Output:
	// 1 0 first
	// 1 1 second
	// 4096 2032
}

// Reserve and Commit build a record in ring memory; Peek and Release read it
// there. Neither side copies the payload.
func ExampleProducer_Reserve() {
	r, err := ring.Init(atomicx.AlignedBytes(ring.RegionSize(4096)))
	if err != nil {
		panic(err)
	}
	p, c := r.Producer(), r.Consumer(1<<20)

	buf, ok, err := p.Reserve(64)
	if !ok || err != nil {
		panic(err)
	}
	n := copy(buf, "built in place") // buf aliases the ring until Commit
	if _, err := p.Commit(n, 2, 42); err != nil {
		panic(err)
	}

	m, ok, err := c.Peek()
	if !ok || err != nil {
		panic(err)
	}
	fmt.Println(m.ID, string(m.Data), m.Owned) // m.Data aliases the ring until Release
	if _, err := c.Release(); err != nil {
		panic(err)
	}
	// Output: 42 built in place false
}

// PushMessage splits a message larger than a record into fragments, and the
// consumer reassembles it into a buffer of its own: any size passes through
// a ring of any capacity, as long as the consumer keeps reading.
func ExampleProducer_PushMessage() {
	r, err := ring.Init(atomicx.AlignedBytes(ring.RegionSize(4096)))
	if err != nil {
		panic(err)
	}
	p, c := r.Producer(), r.Consumer(1<<20)

	big := bytes.Repeat([]byte("0123456789abcdef"), 1024) // 16 KiB, 4 times the ring
	var out ring.Outgoing
	out.Reset(3, 7, big)
	for {
		done, _, err := p.PushMessage(&out)
		if err != nil {
			panic(err)
		}
		if done {
			break
		}
		// The ring is full: read what is there, as the other process would.
		if _, _, err := c.Peek(); err != nil {
			panic(err)
		}
	}
	m, ok, err := c.Peek()
	if !ok || err != nil {
		panic(err)
	}
	fmt.Println(m.ID, len(m.Data), bytes.Equal(m.Data, big), m.Owned)
	if _, err := c.Release(); err != nil {
		panic(err)
	}
	// Output: 7 16384 true true
}
