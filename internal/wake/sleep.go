package wake

import (
	"context"
	"sync/atomic"
	"time"
)

// How the spin phase paces itself. Reading the clock costs a few tens of
// nanoseconds (vDSO), so it is read once per clockEvery checks.
//
// The spin never calls runtime.Gosched: that puts the goroutine on the
// global run queue and wakes an idle P, whose thread then steals it, so the
// spinner migrates to the CPU where the peer it waits for runs. Measured on
// a 2-vCPU VM: an Execute round trip of 1.9 us p50 became 63 us with a
// Gosched every 64 checks. The spin is bounded by time instead, and the
// default spin policy (worker.DefaultSpin) does not spin when GOMAXPROCS
// leaves no room for it.
//
// The spin does yield the CPU to the operating system (sched_yield) every
// yieldEvery. The kernel often wakes a process on the CPU of the process
// that woke it, so after a few sleeps the two sides of a ring can end up on
// one CPU; a side that then spins keeps its peer, runnable on the same CPU,
// from running until the spin ends, so the spin never catches anything, the
// adaptive Spin stops spinning, and both sides stay asleep and together:
// an Execute round trip of 18-23 us p50 instead of 1.8 us, in about half of
// the runs on a 2-vCPU VM. sched_yield lets the co-located peer run at once
// and costs a fraction of a microsecond when nothing else is runnable; with
// it, 16 runs of 16 stayed at 1.8 us (go test -run='^$'
// -bench='ExecuteSpin/spin=default' -benchtime=20000x -count=8 ./worker/,
// twice, alternating with a build without the yield: 7 of 16 runs at
// 17.7-23.1 us there).
const (
	clockEvery = 32
	yieldEvery = 4 * time.Microsecond
)

// Why no wake-up is lost.
//
// The waiter (Sleep) and the waker (the peer's publish, then Wake) each do a
// store and then a load of the other's word:
//
//	waiter: W1 flag.Store(1)     W2 ready() loads the peer's index   then d.Wait
//	waker:  P1 index.Store(new)  P2 flag.Load() (and CAS to 0)       then d.Ring
//
// All four are sync/atomic operations, which Go makes sequentially
// consistent: they take place in one total order that respects each side's
// program order. If P2 precedes W1, then P1 < P2 < W1 < W2, so W2 sees the new
// index and the waiter returns without blocking. Otherwise W1 precedes P2, so
// P2 sees the flag nonzero and the waker rings; the ring stays pending in the
// eventfd counter (or the pipe) until the waiter's Wait drains it, so it does
// not matter whether the Wait has begun. Either way the waiter cannot block
// past a publication. A plain (non-atomic) access on either side breaks this.
//
// Wake clears the flag (compare-and-swap to 0) before it rings, so that the
// publications that follow, while the waiter is still waking, make no more
// system calls. That keeps the proof valid because the waiter re-checks
// ready() after every wake-up and stores the flag again (W1) before each new
// sleep: every sleep starts a fresh W1, W2 pair. If the compare-and-swap fails,
// the flag changed after P2; only the waiter writes it, and its next step
// after any write is a new ready() check that follows P1 in the order, so
// Wake just re-reads the flag. The flag is peer-writable: any nonzero value
// counts as set, and after a few failed swaps Wake rings anyway, since a
// spurious ring is harmless and an unbounded loop on a hostile word is not.
//
// The race detector weakens the premise. In a -race build sync/atomic goes
// through ThreadSanitizer with release stores and acquire loads, and on
// memory outside the Go heap (a shared mapping) the store is a plain MOV on
// amd64: the load after it may be satisfied first, and both sides can miss
// each other. (This was seen: a cross-process ping-pong under -race stalled
// with the flag set and the ping published.) storeLoadFence restores the
// order between W1 and W2 and between P1 and P2 in race builds; in other
// builds sync/atomic stores are already full barriers (XCHG on amd64, STLR
// followed by LDAR on arm64) and it compiles to nothing.

// storeLoadFence orders the caller's earlier atomic stores before its later
// atomic loads where sync/atomic alone does not (race builds). The fence is
// assembly, so it adds no happens-before edge that could hide a race.
func storeLoadFence() {
	if raceEnabled {
		fence()
	}
}

// Sleep waits until ready reports true. It returns nil at once if ready()
// already holds; otherwise it spins for up to spin (checking ready between
// CPU pauses), then sleeps on d: it sets *flag, re-checks ready, and only
// then blocks in d.Wait, clearing *flag when it wakes. A spin of 0 or less
// does not spin. The peer must publish before calling Wake(d, flag).
//
// Sleep returns ctx.Err() when ctx is done, and an error wrapping ErrClosed
// when d is closed, even if ready would hold by then; either way it leaves
// *flag cleared. Wake-ups may be spurious: Sleep loops until ready() holds.
// ready is called often and must be cheap; it must load the peer's index with
// a sync/atomic operation. One goroutine at a time may sleep on a flag.
func Sleep(ctx context.Context, d *Doorbell, flag *atomic.Uint32, ready func() bool, spin time.Duration) error {
	if ready() {
		return nil
	}
	if spin > 0 && SpinUntil(ready, spin) {
		return nil
	}
	for {
		flag.Store(1) // W1
		storeLoadFence()
		if ready() { // W2
			flag.Store(0)
			return nil
		}
		err := d.Wait(ctx)
		flag.Store(0)
		if err != nil {
			return err
		}
		if ready() {
			return nil
		}
	}
}

// Wake is what the publishing side calls after its publication (a
// sync/atomic store the waiter's ready func loads): if the waiter's flag is
// set, it clears the flag and rings d. It reports whether it rang. A flag of
// any nonzero value counts as set. Without a flag set it makes no system
// call: one load of the flag (plus a fence in race builds).
func Wake(d *Doorbell, flag *atomic.Uint32) (rang bool, err error) {
	storeLoadFence() // the caller's publication (P1) before P2
	for range 4 {
		v := flag.Load() // P2
		if v == 0 {
			return false, nil
		}
		if flag.CompareAndSwap(v, 0) {
			return true, d.Ring()
		}
	}
	return true, d.Ring()
}

// SpinUntil calls ready, with a CPU pause between calls, until it holds or
// spin has passed, and reports whether it held. Time, not an iteration
// count, bounds the spin, so the bound holds on any CPU. Every yieldEvery
// it yields the CPU to any other runnable thread on it (see yieldEvery).
func SpinUntil(ready func() bool, spin time.Duration) bool {
	start := time.Now()
	yieldAt := yieldEvery
	for i := 1; ; i++ {
		if ready() {
			return true
		}
		pause()
		if i%clockEvery != 0 {
			continue
		}
		elapsed := time.Since(start)
		if elapsed >= spin {
			return ready()
		}
		if elapsed >= yieldAt {
			osYield()
			yieldAt = elapsed + yieldEvery
		}
	}
}
