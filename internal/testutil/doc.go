// Package testutil holds what shmpool's tests share: helper-process dispatch
// from TestMain (re-executing the test binary as a child, the os/exec
// pattern) and leak checks that fail the run when goroutines, file
// descriptors, child processes or memfd mappings outlive the tests.
//
// It is imported only by _test.go files. It must not import any public
// shmpool package: worker's in-package tests would form an import cycle.
// Helpers are passed in as funcs.
package testutil
