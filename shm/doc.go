// Package shm implements shared-memory segments backed by memfd files: it
// creates them, sizes and seals them, maps them, inherits them from a file
// descriptor in a child process, and unmaps them.
//
// A segment is a memfd (memfd_create with MFD_CLOEXEC|MFD_ALLOW_SEALING)
// truncated to its size and then sealed with F_SEAL_SHRINK, F_SEAL_GROW and
// F_SEAL_SEAL, so that neither this process nor any process it shares the
// file with can ever change the size: a shrink would turn every later access
// to the lost pages into SIGBUS. The file is mapped MAP_SHARED, read/write,
// over its whole size. The parent passes [Segment.File] to a child through
// exec.Cmd.ExtraFiles (entry i becomes descriptor 3+i); the child maps it
// with [FromFD], which refuses a descriptor that is not a memfd, is not
// sealed, or has a size other than the one the child expects. An inspector
// maps another process's segment read-only with [OpenReadOnly] on
// /proc/PID/fd/N.
//
// Segment names are stored in the memfd name, with the prefix "shmpool:"
// (added if missing), so a segment shows up as /memfd:shmpool:NAME in
// /proc/PID/maps and /proc/PID/fd, where tools can find it.
//
// The package does not know what is inside a segment: rings, status counters
// and headers belong to the packages that lay them out over [Segment.Bytes].
// It never resizes, remaps or double-maps a segment, and it does not
// synchronise access to the mapped bytes.
//
// Concurrency: the methods of [Segment] are safe for concurrent use by
// multiple goroutines, including [Segment.Close], which may be called any
// number of times. The slice returned by [Segment.Bytes] aliases the mapping
// itself and is shared with every other goroutine and process that maps the
// same memfd: the callers must order their accesses themselves, with
// sync/atomic (see internal/atomicx).
//
// # Caveats
//
//   - Never ftruncate a segment's descriptor. The seals make the kernel
//     refuse it (EPERM), and that refusal is what protects the mapping; a
//     memfd without the seals is rejected by FromFD and OpenReadOnly.
//   - The slice from Bytes, and every view built on it, is valid only until
//     Close. Touching it afterwards is a use-after-unmap: a SIGSEGV at best,
//     silently reading another mapping at worst. Bytes returns nil after
//     Close, but copies taken before do not know.
//   - The Go garbage collector does not see that Bytes points into the
//     Segment. If a Segment becomes unreachable without Close, a cleanup
//     (runtime.AddCleanup) unmaps it and closes its descriptor, possibly
//     while slices of it are still in use. Keep the Segment reachable for as
//     long as its memory is used (hold it in the struct that holds the
//     views), and always call Close.
//   - The race detector does not instrument mmap'd memory: data races on
//     Bytes go unreported. Test the algorithms that run over segments on
//     heap memory (atomicx.AlignedBytes) under -race.
//   - A memfd counts against the memory of whoever touches its pages (tmpfs
//     accounting), not against the process that created it, and its pages
//     stay allocated for as long as any process holds the descriptor or a
//     mapping.
//   - Linux only. On other systems every constructor returns an error that
//     wraps errors.ErrUnsupported.
package shm
