package worker

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/internal/proto"
)

// TestSendRacingClose is a Send that passed its closing check just as
// Close began: Close's kick found nothing pending, so the receiver
// goroutine stopped reading, and the Send's result, larger than the
// response ring, would have kept the worker from ever reaching the stop
// message (Close timed out and killed it). The Send must be answered, and
// Close must stop the worker gracefully. "grow" is registered by the
// black-box tests of this binary.
func TestSendRacingClose(t *testing.T) {
	ctx := context.Background()
	h, err := Start(ctx, Config{Func: "grow", RingSize: 64 << 10, StopTimeout: 10 * time.Second})
	require.NoError(t, err)
	defer h.Terminate()

	require.NoError(t, h.lockSend(ctx)) // a sender past its closing check
	closed := make(chan error, 1)
	go func() { closed <- h.Close() }()
	require.Eventually(t, h.closing.Load, 10*time.Second, time.Millisecond)
	time.Sleep(20 * time.Millisecond) // let the receiver act on Close's kick and stop
	require.NoError(t, h.enqueue(ctx, getCall(proto.KindTask, true), []byte("1048576")))
	h.unlockSend()

	select {
	case err := <-closed:
		require.NoError(t, err, "Close")
	case <-time.After(20 * time.Second):
		t.Fatal("Close hangs")
	}
	out, err := h.Recv(ctx)
	require.NoError(t, err, "the Send accepted before Close is answered")
	assert.Len(t, out, 1<<20)
}

// TestRecvWaitingWhileAnotherReads has two Recv calls wait while someone
// else holds the response ring (as a Poll or an Execute may), for one
// Send. One gets its result; the other must not wait for ever: it learns
// that no Send is outstanding or, once another Send comes, gets its
// result, although the receiver goroutine stopped reading when nothing was
// pending.
func TestRecvWaitingWhileAnotherReads(t *testing.T) {
	ctx := context.Background()
	h, err := Start(ctx, Config{Func: "echo"})
	require.NoError(t, err)
	defer h.Terminate()

	h.rxMu.Lock() // someone else reads
	require.NoError(t, h.Send(ctx, []byte("1")))
	type res struct {
		out []byte
		err error
	}
	got := make(chan res, 2)
	for range 2 {
		go func() {
			out, err := h.Recv(ctx)
			got <- res{out, err}
		}()
	}
	require.Eventually(t, func() bool {
		h.pendMu.Lock()
		defer h.pendMu.Unlock()
		return h.recvWait == 2
	}, 10*time.Second, time.Millisecond, "both Recv calls wait for someone else to read")
	h.rxMu.Unlock()

	select {
	case r := <-got:
		require.NoError(t, r.err)
		assert.Equal(t, "1", string(r.out))
	case <-time.After(10 * time.Second):
		t.Fatal("no Recv got the result")
	}
	require.NoError(t, h.Send(ctx, []byte("2")))
	select {
	case r := <-got:
		if r.err != nil {
			require.ErrorIs(t, r.err, ErrNoSend)
			out, err := h.Recv(ctx)
			require.NoError(t, err)
			r.out = out
		}
		assert.Equal(t, "2", string(r.out))
	case <-time.After(10 * time.Second):
		t.Fatal("the second Recv hangs")
	}
	require.NoError(t, h.Close())
}
