package status_test

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/internal/atomicx"
	"github.com/shmpool/shmpool/status"
)

// goldenLayout pins the status block's format. Changing any value here
// changes what a parent and a worker exchange: bump LayoutVersion in
// internal/proto in the same change, so that mismatched binaries refuse each
// other instead of misreading the counters.
var goldenLayout = []status.Word{
	{Name: "state", Offset: 0x000, Size: 8},
	{Name: "pid", Offset: 0x008, Size: 8},
	{Name: "started", Offset: 0x010, Size: 8},
	{Name: "stopped", Offset: 0x018, Size: 8},
	{Name: "taskStart", Offset: 0x020, Size: 8},
	{Name: "waitStart", Offset: 0x028, Size: 8},
	{Name: "busy", Offset: 0x030, Size: 8},
	{Name: "waiting", Offset: 0x038, Size: 8},
	{Name: "tasks", Offset: 0x040, Size: 8},
	{Name: "errors", Offset: 0x048, Size: 8},
	{Name: "panics", Offset: 0x050, Size: 8},
	{Name: "bytesIn", Offset: 0x058, Size: 8},
	{Name: "bytesOut", Offset: 0x060, Size: 8},
	{Name: "funcSeq", Offset: 0x068, Size: 8},
	{Name: "funcName", Offset: 0x070, Size: 64},
}

const (
	goldenSize     = 256 // status.Size
	goldenUsedSize = 0xb0
)

func TestLayoutIsPinned(t *testing.T) {
	t.Run("every offset matches the golden layout", func(t *testing.T) {
		assert.Equal(t, goldenLayout, status.Layout)
	})
	t.Run("the block size matches the golden size", func(t *testing.T) {
		assert.Equal(t, goldenSize, status.Size)
		assert.Equal(t, goldenUsedSize, status.UsedSize)
		assert.Equal(t, 64, status.FuncNameMax)
		assert.Equal(t, 8, status.Alignment)
	})
	t.Run("the state values match the golden values", func(t *testing.T) {
		for want, s := range []status.State{status.Starting, status.Idle, status.Busy, status.Stopping, status.Exited} {
			assert.Equal(t, uint32(want), uint32(s), "%v", s)
		}
		assert.Equal(t, uint32(0xffffffff), uint32(status.Unknown))
	})
}

func TestLayoutIsSound(t *testing.T) {
	t.Run("every word is 8-byte aligned", func(t *testing.T) {
		for _, w := range status.Layout {
			assert.Zero(t, w.Offset%8, "%s at %#x", w.Name, w.Offset)
			assert.Zero(t, w.Size%8, "%s of %d bytes", w.Name, w.Size)
		}
	})
	t.Run("words follow one another without overlap or gap", func(t *testing.T) {
		next := 0
		for _, w := range status.Layout {
			assert.Equal(t, next, w.Offset, "%s", w.Name)
			next = w.Offset + w.Size
		}
		assert.Equal(t, status.UsedSize, next)
	})
	t.Run("the block is a whole number of cache lines holding every word", func(t *testing.T) {
		assert.Zero(t, status.Size%atomicx.CacheLine)
		assert.GreaterOrEqual(t, status.Size, status.UsedSize)
		assert.Less(t, status.Size-status.UsedSize, atomicx.CacheLine, "no spare line")
	})
}

// TestLayoutGoldenBytes checks the layout from outside the package: what a
// Writer stores lands at the pinned offsets, little-endian, and a block
// written byte by byte at those offsets reads back as expected.
func TestLayoutGoldenBytes(t *testing.T) {
	le := binary.LittleEndian
	t.Run("a writer stores each field at its pinned offset", func(t *testing.T) {
		block := newBlock(t)
		w, err := status.NewWriter(block, 4242, t0)
		require.NoError(t, err)
		w.SetFunc("resize")
		w.WaitStart(at(1 * time.Second))
		w.TaskStart(at(3 * time.Second)) // ends the wait: 2 s waiting
		w.TaskEnd(at(7*time.Second), 100, 200, true, true)
		w.TaskStart(at(8 * time.Second))

		want := map[int]uint64{
			0x000: uint64(status.Idle), // Idle with a task in progress reads as Busy
			0x008: 4242,
			0x010: ns(t0),
			0x018: 0,
			0x020: ns(at(8 * time.Second)),
			0x028: 0,
			0x030: uint64(4 * time.Second),
			0x038: uint64(2 * time.Second),
			0x040: 1,
			0x048: 1,
			0x050: 1,
			0x058: 100,
			0x060: 200,
			0x068: 2,
		}
		for off, v := range want {
			assert.Equal(t, v, le.Uint64(block[off:]), "word at %#x", off)
		}
		name := append([]byte("resize"), make([]byte, 64-len("resize"))...)
		assert.Equal(t, name, block[0x070:0x0b0], "name bytes in order, NUL-padded")
		assert.Equal(t, make([]byte, goldenSize-goldenUsedSize), block[goldenUsedSize:], "reserved bytes stay zero")
	})

	t.Run("a reader reads each field from its pinned offset", func(t *testing.T) {
		block := newBlock(t)
		le.PutUint64(block[0x000:], uint64(status.Idle))
		le.PutUint64(block[0x008:], 77)
		le.PutUint64(block[0x010:], ns(t0))
		le.PutUint64(block[0x018:], 0)
		le.PutUint64(block[0x020:], ns(at(50*time.Second)))
		le.PutUint64(block[0x028:], 0)
		le.PutUint64(block[0x030:], uint64(20*time.Second))
		le.PutUint64(block[0x038:], uint64(10*time.Second))
		le.PutUint64(block[0x040:], 9)
		le.PutUint64(block[0x048:], 3)
		le.PutUint64(block[0x050:], 2)
		le.PutUint64(block[0x058:], 1000)
		le.PutUint64(block[0x060:], 2000)
		le.PutUint64(block[0x068:], 6)
		copy(block[0x070:], "parse")
		r, err := status.NewReader(block)
		require.NoError(t, err)

		s := r.Snapshot(at(60 * time.Second))
		assert.Equal(t, status.Snapshot{
			PID: 77, State: status.Busy, Func: "parse", // Idle with a task in progress
			Started: time.Unix(0, t0.UnixNano()), TaskStarted: time.Unix(0, at(50*time.Second).UnixNano()),
			Uptime: 60 * time.Second, Busy: 30 * time.Second, Waiting: 10 * time.Second,
			TaskElapsed: 10 * time.Second,
			Tasks:       9, Errors: 3, Panics: 2, BytesIn: 1000, BytesOut: 2000,
		}, s)
	})
}
