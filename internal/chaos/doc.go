// Package chaos is shmpool's reliability suite: tests only, run by
// `make chaos` in full and, in a short variant, by `make test` and CI.
//
// Each test proves one promise of the README's Guarantees section against
// real worker processes: workers killed at random moments (including
// between a ring reservation and its commit), torn records, a worker that
// scribbles over its own shared memory, a parent killed with SIGKILL,
// thousands of Start/Close cycles, sealing and isolation of segments, a
// worker stopped with SIGSTOP, and a long soak of mixed-size messages.
//
// The full variant runs when the test binary gets -chaos.full (make chaos
// passes it); without it every test runs a small, fast version of itself
// with the same checks. The package has no non-test code beyond this
// comment: it exists so that the suite has one home and one TestMain.
package chaos
