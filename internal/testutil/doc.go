// Package testutil implements what shmpool's tests share: helper-process
// dispatch from TestMain and leak checks.
//
// Main is called from a package's TestMain. When the binary was started by
// HelperCommand it runs the named helper instead of the tests (re-executing
// the test binary as a child, the os/exec pattern; HelperArgs reads the
// helper's arguments); otherwise it runs the tests and then fails the run
// (exit 99) if goroutines (goleak), file descriptors, child processes or
// memfd mappings outlive them, retrying for a few seconds so that processes
// being reaped are not reported. Snapshot and CheckLeaks do the same around
// a single test, and Children, OpenFDs, MemfdMappings, Alive, ProcStat and
// CPUTime read /proc for tests that check a process's resources themselves
// and benchmarks that report the CPU time a worker used.
//
// # Concurrency
//
// Main runs once, from TestMain. Snapshot, CheckLeaks and the /proc readers
// are safe to call from any goroutine, but a leak check is only meaningful
// once the code under test has stopped: Snapshot counts what the whole
// process holds, whoever opened it, so tests that run in parallel with a
// leak check make it report their resources.
//
// # Caveats
//
// The leak checks see this process only: a grandchild that a worker leaves
// behind is not a child of the test binary. Packages whose workers are the
// test binary must call worker.Main before Main, so that a re-executed worker
// never runs the tests. The package does not start, signal or reap
// processes itself, except the command HelperCommand returns, which the
// caller runs and waits for.
//
// Rule for changing this package: it is imported only by _test.go files, and
// it must not import any public shmpool package, or worker's in-package tests
// would form an import cycle: helpers are passed in as funcs.
package testutil
