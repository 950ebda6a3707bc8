package main

import (
	"context"
	"fmt"
	"hash/crc32"
	"sync"

	"github.com/shmpool/shmpool/pool"
	"github.com/shmpool/shmpool/ring"
	"github.com/shmpool/shmpool/worker"
)

// The functions this binary's workers run.
const (
	fnEcho = "shmbench.echo" // returns its input
	fnSink = "shmbench.sink" // copies its input out and returns nothing: one-way streaming
	fnCRC  = "shmbench.crc"  // CRC-32C of its input: a pool item
)

func init() {
	worker.Register(fnEcho, func(_ context.Context, in []byte) ([]byte, error) { return in, nil })
	// The sink copies its input out, as every other transport's receiver
	// does: reading the payload in place would skip the receiving copy.
	var mu sync.Mutex
	var buf []byte
	worker.Register(fnSink, func(_ context.Context, in []byte) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		if cap(buf) < len(in) {
			buf = make([]byte, len(in))
		}
		ring.Copy(buf[:len(in)], in)
		return nil, nil
	})
	pool.Register(fnCRC, func(_ context.Context, in []byte) ([]byte, error) {
		c := crc32.Checksum(in, castagnoli)
		return []byte{byte(c), byte(c >> 8), byte(c >> 16), byte(c >> 24)}, nil
	})
}

// shmTransport is a worker.Handle: ExecuteAppend of a function that echoes,
// into one reused buffer, for the round trip; for the stream, Send of a
// function that returns nothing, with its (empty) results taken by Recv as
// they come, at most sendWindow outstanding. One worker switches between
// the two with SetFunc: a second worker would halve the spin budget of the
// default policy (DefaultSpin), which spins only while every worker and
// receiver fits on a CPU.
type shmTransport struct {
	h           *worker.Handle
	rbuf        []byte // the round trip's result
	fn          string
	outstanding int
	sent        uint64
}

const sendWindow = 1024

func newShmTransport(maxMsg int) (*shmTransport, error) {
	h, err := worker.Start(context.Background(), worker.Config{Func: fnEcho, MaxPayload: max(maxMsg, 1<<20)})
	if err != nil {
		return nil, err
	}
	return &shmTransport{h: h, fn: fnEcho}, nil
}

func (t *shmTransport) use(fn string) error {
	if t.fn == fn {
		return nil
	}
	if err := t.h.SetFunc(context.Background(), fn, nil); err != nil {
		return err
	}
	t.fn = fn
	return nil
}

func (t *shmTransport) roundTrip(msg []byte) error {
	if err := t.use(fnEcho); err != nil {
		return err
	}
	// Into one reused buffer, as every other transport's receiver reads.
	out, err := t.h.ExecuteAppend(context.Background(), t.rbuf[:0], msg)
	t.rbuf = out
	if err == nil && len(out) != len(msg) {
		err = fmt.Errorf("echo of %d bytes for %d", len(out), len(msg))
	}
	return err
}

func (t *shmTransport) recv() error {
	_, err := t.h.Recv(context.Background())
	t.outstanding--
	return err
}

func (t *shmTransport) send(msg []byte) error {
	if err := t.use(fnSink); err != nil {
		return err
	}
	if err := t.h.Send(context.Background(), msg); err != nil {
		return err
	}
	t.outstanding++
	t.sent++
	for t.outstanding >= sendWindow || t.outstanding > 0 && t.h.Poll() {
		if err := t.recv(); err != nil {
			return err
		}
	}
	return nil
}

func (t *shmTransport) sync() (uint64, error) {
	for t.outstanding > 0 {
		if err := t.recv(); err != nil {
			return 0, err
		}
	}
	n := t.sent
	t.sent = 0
	return n, nil
}

func (t *shmTransport) close() error { return t.h.Close() }
