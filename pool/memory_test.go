package pool_test

import (
	"context"
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/pool"
	"github.com/shmpool/shmpool/worker"
)

// TestStreamMemoryIsFlat streams 10^6 tiny items (10^4 with -short).
// Invariants: 1. every result comes back, in order, right; 2. the heap in
// use after all the items is about what it was after the first 10%: memory
// does not grow with the input's length.
func TestStreamMemoryIsFlat(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 10_000
	}
	p := newPool(t, pool.Config{Workers: 2, Worker: worker.Config{Func: "echo"}})
	in := func(yield func([]byte) bool) {
		for i := range n {
			if !yield(binary.LittleEndian.AppendUint64(nil, uint64(i))) {
				return
			}
		}
	}
	var at10 uint64
	got := 0
	for r := range p.Stream(context.Background(), in) {
		if r.Err != nil || r.Index != got || len(r.Out) != 8 || binary.LittleEndian.Uint64(r.Out) != uint64(got) {
			t.Fatalf("result %d: %+v", got, r)
		}
		got++
		if got == n/10 {
			at10 = heapInUse()
		}
	}
	require.Equal(t, n, got)
	at100 := heapInUse()
	t.Logf("heap in use after 10%%: %d KiB, after 100%%: %d KiB", at10>>10, at100>>10)
	assert.Less(t, at100, at10+16<<20, "the heap grew with the input")
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}
