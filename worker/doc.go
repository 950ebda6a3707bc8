// Package worker implements worker processes: it runs a Go function in a
// separate process that exchanges payloads with its parent over shared
// memory.
//
// The package has two sides in one binary, like go-plugin's Client and
// Serve. The parent calls Start and gets a *Handle; the worker process is
// the same program re-executed, whose main (or TestMain) calls Main first:
// in a worker process Main runs the serve loop and never returns, elsewhere
// it returns at once. Functions are found by name in a registry filled by
// Register and RegisterFactory from init functions, which run in both
// processes.
//
// Typed functions: RegisterTyped (or Typed, which does not register)
// wraps a func(ctx, In) (Out, error) with a codec for its input and one for
// its result (package codec: Binary, JSON, Gob, String, Bytes) into a
// *TypedFunc, whose Execute, Send and Recv take and return values on a
// Handle. An input the worker cannot decode fails the call with a
// *RemoteError naming the type; a result the parent cannot decode is a
// *codec.DecodeError; a call on a worker that runs another function fails
// with ErrWrongFunc before anything is sent.
//
// A Handle is one worker and no more: spreading work over several workers,
// retries, replacing a worker that died and task time limits are package
// pool's. Nor does the package sandbox anything: a worker runs as the
// parent's user, in its working directory, with its resource limits and its
// environment (plus Config.Env), and holds no descriptor of the parent's
// but those described below.
//
// # Design
//
// Start creates one sealed memfd segment per worker (internal/proto plans
// it): a control page with the header and the status counters (package
// status), a request ring (parent to worker) and a response ring (worker to
// parent), both package ring. Three eventfd doorbells (internal/wake) and a
// lifeline pipe go to the child as inherited descriptors 3-7; every other
// descriptor is close-on-exec, so a worker holds only its own memory.
//
//	parent                                   worker process
//	Execute/Send --request ring-->  serve loop: fn(ctx, in) in place
//	receiver goroutine <--response ring--     result copied once
//	status.Reader  <--status block (atomics)-- status.Writer
//	lifeline (write end)  -----EOF----->      exits when the parent dies
//
// The worker answers in the order requests entered the ring, so the parent
// matches results to calls with a FIFO queue (and checks the ids). A side
// that finds nothing to do spins for a while, then sets its waiting word,
// re-checks, and sleeps on its doorbell; the other side rings only when the
// word is set, so no system call is made per message while both are busy.
//
// Wait policy: Config.Spin bounds the spin before sleeping. The default
// (Config.Spin == 0) is DefaultSpin: 50 us, adaptive (a side whose waits
// keep outlasting it stops spinning), and no spin at all once the workers
// of this process and their receivers outnumber the CPUs, because a
// spinning side would then steal the CPU of the side it waits for. A caller
// of Execute or SetFunc whose message had to wake the worker spins four
// times the limit for the answer, since that answer comes a wake-up later:
// one wake-up per call instead of two for calls that arrive further apart
// than the worker spins. For messages of 64 KiB and more, both sides add
// the time the other needs to copy them (at 5 GB/s) to their spin. Every
// spin yields the CPU to the OS every few microseconds, so two sides the
// kernel has put on one CPU still make progress.
//
// Failure: everything read from shared memory is validated. A worker whose
// memory breaks the protocol is killed and its calls fail with ErrCorrupt;
// a worker that dies fails its pending calls with *ExitError, after the
// results it completed before dying have been delivered (a record becomes
// visible only once whole). The parent never panics because of a worker.
//
// # Concurrency
//
// A Handle is safe for concurrent use by multiple goroutines. Execute
// calls pipeline; Recv returns the results of Send in Send order, and an
// Execute result never shows up in Recv. Close and Terminate may be called
// any number of times, from any goroutine, in any order.
//
// # Caveats
//
// The input a Func receives aliases the request ring and is valid only until
// the function returns: copy what you keep. Its result is copied once into
// the response ring, and once more out of it, so the caller owns what
// Execute returns. That second copy goes into fresh memory, whose first
// touch costs a page fault per page: for large results, ExecuteAppend
// into a buffer the caller reuses avoids it (see the README's caveats).
//
// The static data a factory receives (Config.Static, SetFunc) is its own
// copy, valid for as long as the factory or its function keeps it.
//
// Results of Send wait in the response ring until Recv or Poll reads them.
// When both rings are full and a sender waits for room, they are read into
// the parent's memory instead: a program that Sends without ever calling
// Recv grows without bound.
//
// The registry is the one piece of global state: a re-executed worker can
// only find its function by name. Register in init, not in main after Main.
//
// Linux only (memfd_create, eventfd, sealing).
package worker
