// Package ring implements the single-producer, single-consumer ring buffer
// that carries shmpool's messages between two processes, over any byte
// region: in production a memfd mapping shared by parent and worker, in
// tests plain heap memory.
//
// # Design
//
// The region holds a header page (see layout.go) and a power-of-two data
// area. The producer appends 8-byte-aligned records (a 16-byte header with
// length, kind, flags and a 64-bit id, then the payload) and publishes them
// by storing its tail index; the consumer reads records below the tail and
// hands their space back by storing its head index. Both indices are
// free-running uint64 byte counts, masked by capacity-1 to find an offset.
// Each side caches the other's index and re-reads it only when the ring
// looks full (producer) or empty (consumer), so in the steady state a
// record costs one cache-line transfer each way.
//
// A record that would cross the end of the data area is preceded by a
// padding word that sends the consumer to offset 0. A record carries at most
// half the capacity (MaxRecord), which guarantees it fits once the ring
// drains; larger messages are split into fragments by PushMessage and
// reassembled by the consumer into one heap buffer.
//
// Zero copy: Reserve/Commit let the producer build a record in place, and
// Peek/Release let the consumer read one in place. TryPush, PushMessage and
// TryPop are the copying conveniences. Copies into and out of the ring are
// done in cache-sized pieces (see Copy).
//
// The ring never blocks and makes no system call. Waiting is the caller's
// business: ConsumerWaiting and ProducerWaiting are the words a side sets
// before it sleeps, and Commit/Release report when the other side has set
// its word, so the caller can ring a doorbell (package internal/wake).
//
// Everything read from the region is untrusted: the peer may be buggy,
// crashed half-way or hostile. Each index and record header is read once
// into a local, checked against the capacity, the published range and the
// fragment protocol, and a violation is a *CorruptError (matching ErrCorrupt
// and wrapping io.ErrUnexpectedEOF), never a panic or an out-of-range slice.
// The ring does not checksum payloads: a peer can still send wrong bytes,
// just never make this side read outside the data area.
//
// # Concurrency
//
// A Ring's Producer and Consumer may run concurrently with each other, in
// one process or two. Each end must not be used by more than one goroutine
// at a time; a concurrent call is caught by a guard and returns an error
// instead of corrupting indices.
//
// # Caveats
//
// The slice from Reserve is valid until Commit; Msg.Data from Peek aliases
// ring memory until Release unless Msg.Owned is set. The race detector does
// not see mmap'd memory, so the ordering arguments in this package are
// tested on heap regions.
package ring
