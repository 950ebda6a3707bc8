package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// HelperEnv names the environment variable that makes a test binary run a
// helper instead of its tests.
const HelperEnv = "SHMPOOL_TEST_HELPER"

// Main runs the tests of a package, or, when the binary was started by
// HelperCommand, the named helper (which should call os.Exit; Main exits 0 if
// it returns). It sets GORACE atexit_sleep_ms=0 for the tests and the
// processes they start, so that a worker under -race exits at once. After the tests it fails the run (exit 99) if goroutines, file
// descriptors, child processes or memfd mappings outlive them.
func Main(m *testing.M, helpers map[string]func()) {
	if name := os.Getenv(HelperEnv); name != "" {
		fn, ok := helpers[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "testutil: unknown helper %q\n", name)
			os.Exit(2)
		}
		fn()
		os.Exit(0)
	}
	// Under -race a process sleeps for a second before it exits (GORACE
	// atexit_sleep_ms defaults to 1000), which would make every graceful
	// Close of a worker take a second. The workers the tests start inherit
	// the setting.
	os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	before := Snapshot()
	code := m.Run()
	if code == 0 {
		if err := CheckLeaks(before); err != nil {
			fmt.Fprintf(os.Stderr, "testutil: leak after tests: %v\n", err)
			code = 99
		}
	}
	os.Exit(code)
}

// HelperCommand returns a command that re-executes the test binary as the
// named helper. The helper reads args with HelperArgs. The child's stderr is
// the test's stderr.
func HelperCommand(tb testing.TB, name string, args ...string) *exec.Cmd {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatalf("testutil: os.Executable: %v", err)
	}
	cmd := exec.Command(exe, append([]string{"-test.run=^$"}, args...)...)
	cmd.Env = append(os.Environ(), HelperEnv+"="+name)
	cmd.Stderr = os.Stderr
	return cmd
}

// HelperArgs returns the arguments HelperCommand passed to this helper.
func HelperArgs() []string {
	var out []string
	for _, a := range os.Args[1:] {
		if !strings.HasPrefix(a, "-test.") {
			out = append(out, a)
		}
	}
	return out
}

// Resources is what a process holds that a test could leak.
type Resources struct {
	FDs      map[int]string // fd -> readlink target
	Children []int          // child pids (running or zombie)
	Memfds   int            // mappings of memfd files in /proc/self/maps
}

// Snapshot reads the current process's resources. It first makes sure the
// runtime's netpoller exists, so its lazily created descriptors are in the
// baseline rather than reported as leaks.
func Snapshot() Resources {
	if r, w, err := os.Pipe(); err == nil {
		r.Close()
		w.Close()
	}
	return Resources{FDs: openFDs(), Children: children(), Memfds: memfdMappings()}
}

// CheckLeaks compares the current resources with a baseline from Snapshot,
// retrying for up to 5 s so that processes being reaped and goroutines on
// their way out are not reported.
func CheckLeaks(before Resources) error {
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; {
		err = diff(before, Snapshot())
		if err == nil {
			err = goleak.Find(ignoreForker)
		}
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ignoreForker ignores package worker's forker goroutine, which is started
// on the first worker.Start and lives as long as the process by design.
var ignoreForker = goleak.IgnoreAnyFunction("github.com/shmpool/shmpool/worker.forkLoop")

func diff(before, after Resources) error {
	var leaks []string
	for fd, target := range after.FDs {
		if _, ok := before.FDs[fd]; !ok {
			leaks = append(leaks, fmt.Sprintf("fd %d -> %s", fd, target))
		}
	}
	sort.Strings(leaks)
	if len(after.Children) > len(before.Children) {
		leaks = append(leaks, fmt.Sprintf("child processes %v (before: %v)", after.Children, before.Children))
	}
	if after.Memfds > before.Memfds {
		leaks = append(leaks, fmt.Sprintf("%d memfd mappings (before: %d)", after.Memfds, before.Memfds))
	}
	if len(leaks) > 0 {
		return fmt.Errorf("%s", strings.Join(leaks, "; "))
	}
	return nil
}
