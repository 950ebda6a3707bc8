// Package wake implements the doorbell between two processes and the
// spin-then-sleep wait that uses it without losing a wake-up.
//
// A [Doorbell] carries wake-ups in one direction. It is an eventfd by default,
// or a non-blocking pipe pair ([Pipe]) where an eventfd is unwanted. Its
// descriptors are non-blocking and wrapped in [os.File], so a goroutine in
// [Doorbell.Wait] parks in Go's netpoller and holds no OS thread, however many
// doorbells a process waits on; a [context.Context] cancels or bounds the
// wait. Only the waiting side's descriptor enters its netpoller (at the first
// Wait), so a ring wakes the waiting process and no other. The parent creates
// a doorbell with [New] and hands [Doorbell.Files] to the child in
// exec.Cmd.ExtraFiles; the child rebuilds it with [Open] or [FromFDs].
//
// The doorbell is rung only when the other side has gone to sleep. The
// waiting side owns a flag word in shared memory; [Sleep] spins for a bounded
// time, then sets the flag, re-checks its condition and only then blocks;
// [Wake], called by the other side after it has published, rings only when
// the flag is set. In the steady state no system call is made per message.
// [Spin] adapts the spin budget to how long recent waits took.
//
// No wake-up is lost (the full argument is above [Sleep]): the waiter stores
// its flag and then loads the peer's index; the waker stores its index and
// then loads the flag. All four accesses are sync/atomic operations, which are
// sequentially consistent in Go, so in their single total order one side's
// load follows the other side's store: either the waiter sees the new index
// and does not block, or the waker sees the flag and rings. The eventfd
// counter (or the pipe's bytes) keeps a ring made before the waiter blocks.
// Race builds need more: there sync/atomic is only release/acquire on
// memory outside the Go heap, so Sleep and Wake add a full fence between
// the store and the load (see storeLoadFence; other builds need none).
//
// Concurrency: [Doorbell.Ring] and [Doorbell.Close] are safe for concurrent
// use by any number of goroutines; [Doorbell.Wait] admits one waiter at a
// time (a second concurrent Wait fails with [ErrConcurrentWait]). [Sleep] has
// the same one-waiter rule per flag word and doorbell. [Wake] is safe from any
// goroutine. A [Spin] belongs to one waiting goroutine.
//
// The package does not decide policy: how long to spin, whether to spin at
// all when workers outnumber CPUs, and what a flag word's offset is belong to
// the caller (package worker).
//
// # Caveats
//
//   - The flag word lives in memory the peer can write. Any nonzero value
//     counts as set; a hostile value costs at most a spurious ring, never a
//     panic. A peer that clears the flag or never publishes can make a waiter
//     wait for ever: always bound waits with a context (and, across processes,
//     a lifeline).
//   - Wake-ups may be spurious. Sleep re-checks its condition after every
//     wake-up; a caller of Doorbell.Wait must do the same.
//   - The files returned by Doorbell.Files belong to the doorbell: pass them to
//     ExtraFiles, never close them, never read from them. They are
//     duplicates wrapped while still blocking, so this process's netpoller
//     never watches them and File.Fd (which exec calls) leaves the shared,
//     non-blocking description alone.
//   - Linux only (eventfd, pipe2); elsewhere New and Open fail with an error
//     wrapping errors.ErrUnsupported. The CPU pause is PAUSE on amd64 and
//     YIELD on arm64, and nothing elsewhere.
//
// Rule for changing this package: it knows nothing of rings, segments or
// workers. It takes a flag word and a ready func and nothing else from
// shared memory. Any change to Sleep or Wake must keep both store-then-load
// pairs atomic, in that order and fenced in race builds, update the proof
// above Sleep, and keep the cross-process stress test passing, repeatedly,
// under -race and -short: a lost wake-up shows as a rare stall, not as a
// failed assertion.
package wake
