package wake

import (
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/shmpool/shmpool/internal/atomicx"
)

// TestStoreLoadFence runs the store-buffering litmus test, the core of the
// lost-wake-up proof, on a shared mapping (memory the race detector does
// not instrument) between two goroutines:
//
//	A: x.Store(1); storeLoadFence(); r1 = y.Load()
//	B: y.Store(1); storeLoadFence(); r2 = x.Load()
//
// Sequential consistency forbids r1 == 0 && r2 == 0. Without the fence a
// -race build showed it 12 times in 200,000 rounds here (sync/atomic is
// release/acquire there); other builds never did.
func TestStoreLoadFence(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 || runtime.NumCPU() < 2 {
		t.Skip("the litmus test needs two goroutines running in parallel")
	}
	n := int64(20_000)
	if testing.Short() {
		n = 5_000
	}
	mem, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANON)
	require.NoError(t, err)
	defer unix.Munmap(mem)
	x, y := atomicx.Uint32At(mem, 0), atomicx.Uint32At(mem, atomicx.CacheLine)
	r2 := atomicx.Uint32At(mem, 2*atomicx.CacheLine)
	var start, doneB atomic.Int64 // the rounds, on the heap: the race detector sees them

	go func() {
		for i := int64(1); i <= n; i++ {
			for start.Load() != i {
				pause()
			}
			y.Store(1)
			storeLoadFence()
			r2.Store(x.Load())
			doneB.Store(i)
		}
	}()
	forbidden := 0
	for i := int64(1); i <= n; i++ {
		x.Store(0)
		y.Store(0)
		start.Store(i)
		x.Store(1)
		storeLoadFence()
		r1 := y.Load()
		for doneB.Load() != i {
			pause()
		}
		if r1 == 0 && r2.Load() == 0 {
			forbidden++
		}
	}
	assert.Zero(t, forbidden, "rounds in which each side missed the other's store")
}
