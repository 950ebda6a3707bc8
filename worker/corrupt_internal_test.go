package worker

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/internal/proto"
)

// TestCorruptResponseRing makes the worker's side of shared memory invalid
// (a response-ring tail index that is not 8-aligned, as a buggy or hostile
// worker could write) while a call is pending: the parent must not panic,
// the pending call and later ones fail with ErrCorrupt, and the worker is
// killed. "block" is registered by the black-box tests of this binary.
func TestCorruptResponseRing(t *testing.T) {
	for _, spin := range []time.Duration{0, -1} {
		h, err := Start(context.Background(), Config{Func: "block", Spin: spin})
		require.NoError(t, err)
		defer h.Terminate()

		res := make(chan error, 1)
		go func() {
			_, err := h.Execute(context.Background(), []byte("x"))
			res <- err
		}()
		for deadline := time.Now().Add(10 * time.Second); h.Status().Tasks == 0 && h.Status().TaskStarted.IsZero(); {
			require.False(t, time.Now().After(deadline), "the worker never ran the task")
			time.Sleep(time.Millisecond)
		}

		mem := h.seg.Bytes()
		hdr, err := proto.Decode(mem)
		require.NoError(t, err)
		const offTail = 128 // ring/layout.go
		binary.LittleEndian.PutUint64(hdr.Response.Slice(mem)[offTail:], 3)
		require.NoError(t, h.resultBell.Ring())
		h.kick()

		select {
		case err := <-res:
			require.ErrorIs(t, err, ErrCorrupt)
		case <-time.After(10 * time.Second):
			t.Fatal("the pending call hangs on corrupt memory")
		}
		select {
		case <-h.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("the corrupt worker was not killed")
		}
		_, err = h.Execute(context.Background(), []byte("y"))
		assert.ErrorIs(t, err, ErrCorrupt, "later calls fail the same way")
		assert.False(t, errors.Is(err, ErrClosed))
		require.NoError(t, h.Close())
		_, err = h.Execute(context.Background(), []byte("y"))
		assert.ErrorIs(t, err, ErrClosed)
	}
}

// TestCorruptHeadWhileWaitingForRoom: a sender waits for room in a full
// request ring while the worker's function blocks; the worker's side of
// memory then gets a request-ring head that moved backwards, and the room
// doorbell rings. The sender's wake-up finds the corrupt head: it must fail
// with ErrCorrupt at once, not go back to sleep until the worker (which
// may never) moves the head again. Found by internal/chaos
// TestHostileWorker.
func TestCorruptHeadWhileWaitingForRoom(t *testing.T) {
	for _, spin := range []time.Duration{0, -1} {
		h, err := Start(context.Background(), Config{Func: "block", RingSize: 64 << 10, Spin: spin})
		require.NoError(t, err)
		defer h.Terminate()

		res := make(chan error, 2)
		go func() {
			_, err := h.Execute(context.Background(), []byte("x"))
			res <- err
		}()
		for deadline := time.Now().Add(10 * time.Second); h.Status().TaskStarted.IsZero(); {
			require.False(t, time.Now().After(deadline), "the worker never ran the task")
			time.Sleep(time.Millisecond)
		}
		// Larger than the ring: the sender fills it and waits for room.
		go func() {
			_, err := h.Execute(context.Background(), make([]byte, 200<<10))
			res <- err
		}()
		mem := h.seg.Bytes()
		hdr, err := proto.Decode(mem)
		require.NoError(t, err)
		const offHead = 256 // ring/layout.go
		req := hdr.Request.Slice(mem)
		for deadline := time.Now().Add(10 * time.Second); h.reqRing.ProducerWaiting().Load() == 0; {
			require.False(t, time.Now().After(deadline), "the sender never waited for room")
			time.Sleep(time.Millisecond)
		}
		head := binary.LittleEndian.Uint64(req[offHead:])
		require.NotZero(t, head)
		binary.LittleEndian.PutUint64(req[offHead:], head-8) // backwards
		require.NoError(t, h.roomBell.Ring())

		for range 2 {
			select {
			case err := <-res:
				require.ErrorIs(t, err, ErrCorrupt)
			case <-time.After(5 * time.Second):
				t.Fatal("the sender sleeps on despite the corrupt head")
			}
		}
		require.NoError(t, h.Terminate())
	}
}
