package main

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/shmpool/shmpool/pool"
	"github.com/shmpool/shmpool/worker"
)

// The functions this binary's workers run.
const (
	fnEcho = "shmbench.echo" // returns its input
	fnSink = "shmbench.sink" // returns nothing: one-way streaming
	fnCRC  = "shmbench.crc"  // CRC-32C of its input: a pool item
)

func init() {
	worker.Register(fnEcho, func(_ context.Context, in []byte) ([]byte, error) { return in, nil })
	worker.Register(fnSink, func(_ context.Context, in []byte) ([]byte, error) { return nil, nil })
	pool.Register(fnCRC, func(_ context.Context, in []byte) ([]byte, error) {
		c := crc32.Checksum(in, castagnoli)
		return []byte{byte(c), byte(c >> 8), byte(c >> 16), byte(c >> 24)}, nil
	})
}

// shmTransport is a worker.Handle: Execute for the round trip; for the
// stream, Send of a function that returns nothing, with its (empty) results
// taken by Recv as they come, at most sendWindow outstanding.
type shmTransport struct {
	echo, sink  *worker.Handle
	outstanding int
	sent        uint64
}

const sendWindow = 1024

func newShmTransport(maxMsg int) (*shmTransport, error) {
	ctx := context.Background()
	cfg := worker.Config{Func: fnEcho, MaxPayload: max(maxMsg, 1<<20)}
	echo, err := worker.Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	cfg.Func = fnSink
	sink, err := worker.Start(ctx, cfg)
	if err != nil {
		echo.Close()
		return nil, err
	}
	return &shmTransport{echo: echo, sink: sink}, nil
}

func (t *shmTransport) roundTrip(msg []byte) error {
	out, err := t.echo.Execute(context.Background(), msg)
	if err == nil && len(out) != len(msg) {
		err = fmt.Errorf("echo of %d bytes for %d", len(out), len(msg))
	}
	return err
}

func (t *shmTransport) recv() error {
	_, err := t.sink.Recv(context.Background())
	t.outstanding--
	return err
}

func (t *shmTransport) send(msg []byte) error {
	if err := t.sink.Send(context.Background(), msg); err != nil {
		return err
	}
	t.outstanding++
	t.sent++
	for t.outstanding >= sendWindow || t.outstanding > 0 && t.sink.Poll() {
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

func (t *shmTransport) close() error {
	return errors.Join(t.echo.Close(), t.sink.Close())
}
