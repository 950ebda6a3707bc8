// Package atomicx is the only place in shmpool that turns bytes into atomic
// words.
//
// Shared-memory layouts (ring headers, the status block, the segment header)
// are byte regions. Their index and counter words are accessed through the
// typed views this package returns: Uint64At and Uint32At check bounds and
// alignment once, when a region is attached, and the caller keeps the view.
// A bad offset is a layout bug in our own code, so it panics; it is never
// derived from bytes a peer wrote.
//
// Cross-process coherence: the views are ordinary sync/atomic operations on
// memory that another process maps too (MAP_SHARED). The Go memory model
// speaks only of goroutines in one program; we rely on the fact that on amd64
// and arm64 sync/atomic compiles to hardware atomic instructions (LOCK-prefixed
// or XCHG on amd64, LDAR/STLR/LDADDAL on arm64) that are coherent across every
// mapping of the same physical page. Go's sync/atomic operations are
// sequentially consistent, which the wake-up protocol in internal/wake
// depends on.
//
// The race detector does not instrument mmap'd memory, so the algorithms
// built on these views are tested on heap memory from AlignedBytes.
//
// Rule for changing this package: add nothing but typed views and the
// constants they need; every other use of unsafe belongs in shm's mapping
// file or nowhere.
package atomicx
