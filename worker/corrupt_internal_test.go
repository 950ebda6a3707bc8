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
