// Package atomicx implements typed atomic views over byte regions: it is the
// only place in shmpool that turns bytes into atomic words.
//
// Shared-memory layouts (ring headers, the status block, the segment header)
// are byte regions. Their index and counter words are accessed through the
// typed views this package returns: Uint64At and Uint32At check bounds and
// alignment once, when a region is attached, and the caller keeps the view.
// A bad offset is a layout bug in our own code, so it panics; it is never
// derived from bytes a peer wrote. AlignedBytes gives tests heap memory with
// the alignment of a mapping, so the algorithms built on the views run under
// the race detector.
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
// # Concurrency
//
// The functions are pure and safe for concurrent use. A view is a
// *atomic.Uint64 or *atomic.Uint32: any number of goroutines, in any number
// of processes, may use views of the same word at once. The package orders
// nothing beyond each single atomic operation; the protocols built on the
// views (package ring, package status, internal/wake) say who writes which
// word.
//
// # Caveats
//
// A view aliases its region and does not keep a mapping alive: it must not be
// used once the memory is unmapped (a fault at best), and the owner of the
// mapping must stay reachable for as long as its views are in use (see
// package shm). The race detector does not instrument mmap'd memory, so the
// algorithms built on these views are tested on heap memory from
// AlignedBytes. The package does not validate what is in a word: values read
// from memory a peer can write are untrusted, and checking them is the
// caller's job.
//
// Rule for changing this package: add nothing but typed views and the
// constants they need; every other use of unsafe belongs in shm's mapping
// file or nowhere.
package atomicx
