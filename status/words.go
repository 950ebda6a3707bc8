package status

import (
	"fmt"
	"math"
	"sync/atomic"

	"github.com/shmpool/shmpool/internal/atomicx"
)

// words holds the atomic views of one block's words. Writer and Reader build
// it once, when they attach, and then only Load, Store and Add through it.
type words struct {
	state, pid                 *atomic.Uint64
	started, stopped           *atomic.Uint64
	taskStart, waitStart       *atomic.Uint64
	busy, waiting              *atomic.Uint64
	tasks, errors, panics      *atomic.Uint64
	bytesIn, bytesOut, funcSeq *atomic.Uint64
	funcName                   [funcWords]*atomic.Uint64
}

// attach checks block and builds the views over its first Size bytes.
func attach(op string, block []byte) (words, error) {
	if len(block) < Size {
		return words{}, fmt.Errorf("%s: block of %d bytes, need %d: %w", op, len(block), Size, ErrTooSmall)
	}
	if !atomicx.IsAligned(block, Alignment) {
		return words{}, fmt.Errorf("%s: block not on a %d-byte boundary: %w", op, Alignment, ErrMisaligned)
	}
	b := block[:Size:Size]
	w := words{
		state:     atomicx.Uint64At(b, offState),
		pid:       atomicx.Uint64At(b, offPID),
		started:   atomicx.Uint64At(b, offStarted),
		stopped:   atomicx.Uint64At(b, offStopped),
		taskStart: atomicx.Uint64At(b, offTaskStart),
		waitStart: atomicx.Uint64At(b, offWaitStart),
		busy:      atomicx.Uint64At(b, offBusy),
		waiting:   atomicx.Uint64At(b, offWaiting),
		tasks:     atomicx.Uint64At(b, offTasks),
		errors:    atomicx.Uint64At(b, offErrors),
		panics:    atomicx.Uint64At(b, offPanics),
		bytesIn:   atomicx.Uint64At(b, offBytesIn),
		bytesOut:  atomicx.Uint64At(b, offBytesOut),
		funcSeq:   atomicx.Uint64At(b, offFuncSeq),
	}
	for i := range w.funcName {
		w.funcName[i] = atomicx.Uint64At(b, offFuncName+i*wordSize)
	}
	return w, nil
}

// all returns every word of the block, for initialisation.
func (w *words) all() []*atomic.Uint64 {
	out := []*atomic.Uint64{
		w.state, w.pid, w.started, w.stopped, w.taskStart, w.waitStart,
		w.busy, w.waiting, w.tasks, w.errors, w.panics, w.bytesIn, w.bytesOut, w.funcSeq,
	}
	return append(out, w.funcName[:]...)
}

// satInt64 converts a word to int64, saturating instead of wrapping.
func satInt64(u uint64) int64 {
	if u > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(u)
}

// satAdd adds two non-negative int64s, saturating at math.MaxInt64.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// satAddU adds two uint64s, saturating at math.MaxUint64.
func satAddU(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}
