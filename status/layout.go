package status

import (
	"unsafe"

	"github.com/shmpool/shmpool/internal/atomicx"
)

// FuncNameMax is the largest function name, in bytes, that a status block
// stores. Longer names are truncated at a rune boundary by Writer.SetFunc.
const FuncNameMax = 64

// block describes the status block. It is never instantiated over shared
// memory: its only use is to give the offsets below through unsafe.Offsetof,
// so that no offset is written as a literal. Every field is a 64-bit word
// written by the worker (Writer) only and read by the parent (Reader) only,
// one sync/atomic operation per access. Times are int64 Unix nanoseconds
// (wall clock) stored in the word's bits; 0 means "not set". Counters are
// free-running uint64.
//
//	offset  field       owner   meaning
//	0x000   state       worker  State; Idle with taskStart set reads as Busy
//	0x008   pid         worker  process id of the worker
//	0x010   started     worker  Unix ns of NewWriter
//	0x018   stopped     worker  Unix ns of Writer.Stopped, 0 while running
//	0x020   taskStart   worker  Unix ns the task in progress started, 0 if none
//	0x028   waitStart   worker  Unix ns the wait in progress started, 0 if none
//	0x030   busy        worker  ns spent in completed tasks
//	0x038   waiting     worker  ns spent in completed waits for input
//	0x040   tasks       worker  completed tasks
//	0x048   errors      worker  tasks that failed (returned an error or panicked)
//	0x050   panics      worker  tasks that panicked
//	0x058   bytesIn     worker  payload bytes read by completed tasks
//	0x060   bytesOut    worker  payload bytes written by completed tasks
//	0x068   funcSeq     worker  seqlock over funcName: odd while it is rewritten
//	0x070   funcName    worker  FuncNameMax bytes, NUL-padded, in 8 words
//	0x0b0   (reserved)          zero, up to Size = 0x100 (two cache lines)
//
// Publication order (the Reader's loads mirror it so that a per-field
// snapshot undercounts rather than double counts, see reader.go): when a task
// ends the worker stores taskStart = 0 before adding to busy, and adds to
// tasks before errors before panics; a wait ends with waitStart = 0 before
// the add to waiting.
//
// Changing any offset, size or meaning here changes the shared-memory
// format: pin it in layout_test.go and bump the segment LayoutVersion in
// internal/proto, because a parent and a worker built from different
// versions must refuse to talk rather than misread each other's counters.
type block struct {
	state     uint64
	pid       uint64
	started   int64
	stopped   int64
	taskStart int64
	waitStart int64
	busy      uint64
	waiting   uint64
	tasks     uint64
	errors    uint64
	panics    uint64
	bytesIn   uint64
	bytesOut  uint64
	funcSeq   uint64
	funcName  [FuncNameMax / 8]uint64
}

// Offsets of the words in a status block, in bytes from its start.
const (
	offState     = int(unsafe.Offsetof(block{}.state))
	offPID       = int(unsafe.Offsetof(block{}.pid))
	offStarted   = int(unsafe.Offsetof(block{}.started))
	offStopped   = int(unsafe.Offsetof(block{}.stopped))
	offTaskStart = int(unsafe.Offsetof(block{}.taskStart))
	offWaitStart = int(unsafe.Offsetof(block{}.waitStart))
	offBusy      = int(unsafe.Offsetof(block{}.busy))
	offWaiting   = int(unsafe.Offsetof(block{}.waiting))
	offTasks     = int(unsafe.Offsetof(block{}.tasks))
	offErrors    = int(unsafe.Offsetof(block{}.errors))
	offPanics    = int(unsafe.Offsetof(block{}.panics))
	offBytesIn   = int(unsafe.Offsetof(block{}.bytesIn))
	offBytesOut  = int(unsafe.Offsetof(block{}.bytesOut))
	offFuncSeq   = int(unsafe.Offsetof(block{}.funcSeq))
	offFuncName  = int(unsafe.Offsetof(block{}.funcName))

	// wordSize is the size of every word in the block.
	wordSize = int(unsafe.Sizeof(uint64(0)))
	// funcWords is the number of words that hold the function name.
	funcWords = int(unsafe.Sizeof(block{}.funcName)) / wordSize
	// usedSize is the part of the block that holds words; the rest up to
	// Size is reserved and zero.
	usedSize = int(unsafe.Sizeof(block{}))
)

// Size is the number of bytes a status block occupies: the words above
// rounded up to a whole number of cache lines, so that a block placed on a
// cache-line boundary shares no line with its neighbours.
const Size = (usedSize + atomicx.CacheLine - 1) / atomicx.CacheLine * atomicx.CacheLine

// Alignment is the alignment, in bytes, that NewWriter and NewReader require
// of a block's first byte. Place blocks on a cache-line boundary for speed.
const Alignment = 8
