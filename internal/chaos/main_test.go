package chaos_test

import (
	"flag"
	"testing"

	"github.com/shmpool/shmpool/internal/testutil"
	"github.com/shmpool/shmpool/worker"
)

// full selects the full variant of every test (make chaos); the default is
// the short variant that make test and CI run.
var full = flag.Bool("chaos.full", false, "run the full reliability suite (make chaos), not the short CI variant")

// helpers are the test binary's helper-process roles (testutil.HelperCommand).
// Test files add theirs from init functions.
var helpers = map[string]func(){}

// The worker functions the tests run are registered from init functions in
// the test files that use them: the worker is this test binary, re-executed,
// so they are registered in both processes before TestMain runs.
func TestMain(m *testing.M) {
	worker.Main()
	testutil.Main(m, helpers)
}

// scale returns n in the full variant and short otherwise.
func scale(short, n int) int {
	if *full {
		return n
	}
	return short
}
