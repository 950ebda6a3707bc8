package testhook

// BeforeCommit, when set, is called by a worker's serve loop while it
// writes a response record that fits in one ring record: after the record
// has been reserved and the first written bytes of its payload copied in,
// before the rest is copied and the record committed. kind is the record's
// kind (internal/proto.Kind), rec the reserved payload, aliasing the
// response ring. The hook may return, or end the process (the case it
// exists for: a worker dying with a record half written).
var BeforeCommit func(kind uint8, rec []byte, written int)
