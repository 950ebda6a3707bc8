// Package status implements a worker's status counters over a plain byte
// region: a Writer on the worker's side publishes what the worker is doing
// and how it has spent its time, and a Reader on the parent's side turns the
// same bytes into a Snapshot without sending the worker a message.
//
// In production the region is a Size-byte block in the control page of the
// worker's shared-memory segment (internal/proto places it; package worker
// wires both sides); in tests it is heap memory from atomicx.AlignedBytes,
// so the race detector sees every access. The block is a fixed set of 64-bit
// words (layout.go has the diagram): a state, the pid, start, stop and
// in-progress timestamps, accumulated busy and waiting nanoseconds, task,
// error, panic and byte counters, and the name of the function the worker
// runs. A Snapshot adds derived figures (Efficiency, Utilization,
// Starvation, MeanTask), Sum summarises many workers and WriteTable prints
// them. It is the replacement for doctable.parallel's WorkerStatus.
//
// # Definitions
//
// All times are wall-clock Unix nanoseconds: a monotonic clock cannot be
// shared between processes.
//
//   - Uptime is the time from the worker's start (the now passed to
//     NewWriter) to the now passed to Reader.Snapshot, or to the time passed
//     to Writer.Stopped once the worker has stopped.
//   - Busy time is the sum, over completed tasks, of the time from
//     Writer.TaskStart to Writer.TaskEnd, plus the time the task in progress
//     (if any) has run so far: a long task shows as busy in real time.
//   - Waiting time (starvation) is the sum, over completed waits, of the
//     time from Writer.WaitStart to Writer.WaitEnd (or to the TaskStart that
//     ended the wait), plus the wait in progress: the time the worker had
//     nothing to do and was blocked waiting for input from its parent.
//   - The rest, Uptime - Busy - Waiting, is overhead: starting up, moving
//     payloads, and time the worker was neither running a task nor waiting.
//
// Efficiency is Busy / (Busy + Waiting), Utilization Busy / Uptime,
// Starvation Waiting / Uptime, and MeanTask the mean time of a completed
// task.
//
// # Concurrency
//
// Every word has exactly one writer, the worker's Writer, which accesses it
// only with sync/atomic operations through views built once in NewWriter;
// Readers only load, through views built once in NewReader. A Writer must be
// used by one goroutine at a time; a Reader is safe for concurrent use by
// any number of goroutines, in any number of processes.
//
// A Snapshot is per-field atomic, not a consistent cut: each word is loaded
// once, atomically, but the words are loaded one after another while the
// worker keeps going. The store and load orders are chosen so that a
// transient disagreement undercounts (a task counted but its busy time not
// yet added), never double counts, and the Reader clamps what it derives
// (see Reader.Snapshot), so the figures are always sane even when they are
// a few nanoseconds apart. The function name is the one field published
// under a seqlock, so it is never torn. Durations added by the Writer are
// measured on Go's monotonic clock when the times passed to it carry one
// (time.Now's do).
//
// The package does not do any I/O, start goroutines, call time.Now, or know
// anything about processes or shared memory: callers pass every time in,
// which keeps it deterministic to test.
//
// # Caveats
//
// The block's contents are untrusted on the Reader's side: a buggy or hostile
// worker can write anything there. Snapshot never panics and keeps its
// invariants (durations >= 0, Busy + Waiting <= Uptime, ratios within
// [0, 1]), but the counters themselves are only as true as the worker that
// wrote them: garbage states read as Unknown, timestamps before 2000 or
// after now are clamped, and the function name is cut to FuncNameMax bytes
// of printable UTF-8.
//
// A wall-clock step (NTP, a manual date change) between the worker's start
// and a snapshot skews Uptime and the elapsed time of the task or wait in
// progress, since both are wall-clock differences; a step backwards is
// clamped so that nothing is negative, at worst showing a zero uptime.
//
// A Reader aliases the block: it must not be used after the memory is
// unmapped. A Snapshot is a copy and stays valid for ever. Restarts is not
// stored in the block; the owner of the worker slot fills it in.
package status
