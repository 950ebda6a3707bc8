// Package pool implements a pool of worker processes (package worker) with
// scheduling, backpressure, batching of small items, ordered and unordered
// maps, retries, respawn and time limits: the Go successor of doctable's
// WorkerPool.
//
// A Pool runs one function (SetFunc switches it) on items in memory. It
// deliberately does not persist work (the queue is lost with the parent),
// prioritise it (one FIFO queue), or stop a task a worker has started other
// than by killing the worker (TaskTimeout, Terminate): a caller whose
// context ends stops waiting, and the late result is dropped.
//
// # Design
//
// A Pool owns Config.Workers slots. Each slot has one goroutine, its
// dispatcher, which starts the slot's worker (and replaces it when it dies)
// and is the only sender into that worker's request ring; a receiver
// goroutine per worker process takes the results in ring order. Work waits
// in one FIFO queue shared by all slots:
//
//	Do/Submit/Map/Stream/Unordered --push--> queue --take--> dispatcher i --Send--> worker i
//	                 results <--sink.finish-- receiver i <--Recv-- worker i
//
// Scheduling is least-loaded: a dispatcher takes work only while its
// worker has fewer than MaxInFlight messages in flight (the pipeline depth
// that hides the round trip) and no other worker that could take work has
// fewer; a push wakes the least loaded waiting dispatcher first. A worker
// that seems stuck gets no more work until it answers: once its oldest
// message in flight has run for more than 8 times the usual service time
// of a message (at least 1 ms), so work does not queue behind a slow task
// while another worker could run it. When the items are tiny (under 20 us
// of the worker's time each, as measured), the pool's own per-item work is
// the bottleneck, not the workers: more workers would only split the work
// into more, smaller messages and make them take turns on the CPUs. So
// work then goes to as few workers as keep up (from one up to as many as
// CPUs, tuned every 10 ms from how long the active ones wait for input),
// preferring the one that had work last (its rings are warm in the
// caches); the idle ones take over when those get stuck (they look again
// every 10 ms or so). Nobody polls: dispatchers, receivers and callers
// sleep on channels and timers, and package worker sleeps on eventfd
// doorbells.
//
// Batching: when the function was registered with Register or
// RegisterFactory (not worker.Register), the worker is this binary
// (Config.Worker.Path unset), and small items (up to 8 KiB) are queued, a
// dispatcher packs up to 1024 of them (128 KiB, and about 1 ms of work as
// the worker measures it) into one ring message, and a wrapper in the
// worker calls the function on each. A batch takes a fair share of the
// queue (queued items divided by the workers that can run at once), so
// batching happens only when many items wait: a lone Do is sent as is.
// Each item keeps its own result or error.
//
// Faults: a worker that dies (crash, kill, corrupt shared memory) fails the
// messages in flight on it. The task it was running (its status block says
// which) goes back to the front of the queue while it has Retries left,
// else it fails with the worker's *worker.ExitError; the tasks behind it in
// the ring never started, and run again without using up a try; a batch it
// was running is split, and its items run again one by one, for free, so
// that only the item that kills a worker on its own uses up its tries. The
// slot starts a replacement at once, or after a backoff (10 ms doubling to
// 1 s) when its workers keep dying within a second of starting; after 5
// consecutive failed starts the slot gives up, and once no slot is left
// every task fails with an error wrapping ErrNoWorkers that says why. With
// a TaskTimeout, a watchdog reads the worker's current task start from its
// status block (no message) and kills the worker when the task runs too
// long; that task fails with an error wrapping worker.ErrTimeout and is not
// retried (a task that hung once would most likely hang again, and each
// try costs a worker and the whole TaskTimeout). The other tasks in flight
// on that worker run again for free; a batch that timed out is split, so
// only the item that hangs fails. Every task ends exactly once: with a
// result, an error, or ErrClosed.
//
// Functions: SetFunc switches every worker, and the pool keeps the current
// function for the workers it starts later.
//
// Typed functions: RegisterTyped registers a worker.TypedFunc through
// Register, so its small items are batched, and MapOf, StreamOf,
// UnorderedOf, DoOf and SubmitOf are Map, Stream, Unordered, Do and Submit
// with values of its In and Out types, encoded and decoded by its codecs
// (StreamOf and UnorderedOf encode each item as they read it). They keep
// the untyped semantics; a result that does not decode is the item's
// *codec.DecodeError, an input that cannot be encoded fails its item and
// ends the call, and a pool that runs another function fails the call with
// worker.ErrWrongFunc.
//
// Measured default: MaxInFlight 16. On this project's 2-vCPU machine
// (BenchmarkMaxInFlight, 2 workers), 64 B items batched went from 2.1 M
// items/s with 1 message in flight to 3.4 M with 8 and 3.9 M with 16 (3.8 M
// with 32); unbatched 64 B items from 22 k to 54 k (8) and 66 k (16); 64 KiB
// items were within the noise from 4 to 32 (about 1 GB/s). Deeper costs
// memory: a window of Workers x MaxInFlight messages.
//
// # Concurrency
//
// A Pool is safe for concurrent use by multiple goroutines, and so is a
// Future. Close and Terminate may be called any number of times, from any
// goroutine, in any order; Terminate cuts a blocked Close short. The
// iterators of Stream and Unordered run the whole pipeline on the ranging
// goroutine (the pool's own goroutines only deliver results): breaking out
// of the loop drops the work not yet sent, and nothing keeps running for
// it. Items must not be modified until their result has been returned.
//
// # Caveats
//
// Results of a batch share one allocation: a result of Map, Stream or
// Unordered can keep the results of up to 1023 neighbours reachable. Their
// capacity is cut, so appending to one never writes into another.
//
// A batch whose results together exceed Config.Worker.MaxPayload is cut
// short in the worker, and the items left out run again one by one; an
// item whose result did not fit may so run to completion twice.
//
// With batching, the status block of a worker counts messages; Pool.Status
// corrects Tasks and Errors to items once a batch's result has reached the
// pool, but Busy covers whole batches and BytesIn and BytesOut include the
// framing.
//
// Only functions registered through this package are batched: package
// worker does not expose its registry, which the wrapper in the worker
// needs to build the function by name.
//
// A message sent to a worker cannot be taken back: the messages already
// queued in a worker's ring behind a task that turns out slow (up to
// MaxInFlight minus one) wait for it. What the scheduler guarantees is that
// no more work goes to a worker once it seems stuck, while another can take
// it; a lower MaxInFlight bounds the wait for tasks of very uneven lengths.
//
// Submit and Do never block: their queue is unbounded. Map, Stream and
// Unordered queue a bounded window at a time.
//
// A task that ran on a worker which then died may have run to completion
// there (its result lost), and runs again: functions should be safe to
// repeat. Even with Retries 0, tasks that had not started, or that shared a
// batch with the task that crashed, run again.
//
// Config.Worker.Stderr is shared by every worker of the pool; the pool
// serialises their writes, so any io.Writer will do (a bytes.Buffer too,
// once the pool is closed).
//
// Linux only, like package worker.
package pool
