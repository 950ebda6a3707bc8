package pool_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/shmpool/shmpool/internal/testutil"
	"github.com/shmpool/shmpool/pool"
	"github.com/shmpool/shmpool/worker"
)

func TestMain(m *testing.M) {
	worker.Main()
	testutil.Main(m, helpers)
}

// helpers are the test binary's helper-process roles (testutil.HelperCommand).
var helpers = map[string]func(){
	"parent": helperParent,
}

// The functions the tests' workers run. The worker is this test binary,
// re-executed, so they are registered in both processes. Functions
// registered with pool.Register can be batched; those registered with
// worker.Register ("-raw") run one item per message.
func init() {
	both := func(name string, fn worker.Func) {
		pool.Register(name, fn)
		worker.Register(name+"-raw", fn)
	}
	both("echo", func(_ context.Context, in []byte) ([]byte, error) { return in, nil })
	both("upper", func(_ context.Context, in []byte) ([]byte, error) { return bytes.ToUpper(in), nil })
	// fail fails on inputs that start with "fail", panics on "panic",
	// exits the worker on "exit", sleeps on "sleep <duration>", and
	// upper-cases anything else.
	both("fail", func(_ context.Context, in []byte) ([]byte, error) {
		switch {
		case bytes.HasPrefix(in, []byte("fail")):
			return nil, fmt.Errorf("cannot handle %q", in)
		case bytes.HasPrefix(in, []byte("panic")):
			panic("boom: " + string(in))
		case bytes.HasPrefix(in, []byte("exit")):
			os.Exit(7)
		case bytes.HasPrefix(in, []byte("sleep ")):
			d, err := time.ParseDuration(string(in[len("sleep "):]))
			if err != nil {
				return nil, err
			}
			time.Sleep(d)
		}
		return bytes.ToUpper(in), nil
	})
	// sleep sleeps for the duration its input names ("10ms"), then echoes.
	both("sleep", func(_ context.Context, in []byte) ([]byte, error) {
		d, err := time.ParseDuration(string(in))
		if err != nil {
			return nil, err
		}
		time.Sleep(d)
		return in, nil
	})
	pool.Register("pid", func(_ context.Context, in []byte) ([]byte, error) {
		return []byte(strconv.Itoa(os.Getpid())), nil
	})
	pool.RegisterFactory("prefix", func(static []byte) (worker.Func, error) {
		if string(static) == "bad" {
			return nil, errors.New("static data says bad")
		}
		p := append([]byte(nil), static...)
		return func(_ context.Context, in []byte) ([]byte, error) {
			return append(append([]byte(nil), p...), in...), nil
		}, nil
	})
	// count appends "<input> <pid>\n" to the file named by its static data
	// once it has computed its result, so each line is a run to
	// completion; it works for about spinFor first.
	pool.RegisterFactory("count", func(static []byte) (worker.Func, error) {
		f, err := os.OpenFile(string(static), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, err
		}
		pid := strconv.Itoa(os.Getpid())
		return func(_ context.Context, in []byte) ([]byte, error) {
			for start := time.Now(); time.Since(start) < spinFor; {
			}
			out := append([]byte("r"), in...)
			line := append(append(append(append([]byte(nil), in...), ' '), pid...), '\n')
			if _, err := f.Write(line); err != nil {
				return nil, err
			}
			return out, nil
		}, nil
	})
	// exit-once exits the worker the first time it sees an input (it
	// remembers inputs as files in the directory its static data names),
	// and upper-cases it after that.
	pool.RegisterFactory("exit-once", func(static []byte) (worker.Func, error) {
		dir := string(static)
		return func(_ context.Context, in []byte) ([]byte, error) {
			f, err := os.OpenFile(filepath.Join(dir, string(in)), os.O_CREATE|os.O_EXCL, 0o600)
			if err == nil {
				f.Close()
				os.Exit(3)
			}
			return bytes.ToUpper(in), nil
		}, nil
	})
	// third-fails fails to build in the third worker that builds it
	// (workers take numbers by creating files in the directory its static
	// data names).
	pool.RegisterFactory("third-fails", func(static []byte) (worker.Func, error) {
		for i := 0; ; i++ {
			f, err := os.OpenFile(filepath.Join(string(static), strconv.Itoa(i)), os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				continue
			}
			f.Close()
			if i == 2 {
				return nil, errors.New("the third worker fails")
			}
			return func(_ context.Context, in []byte) ([]byte, error) { return in, nil }, nil
		}
	})
	// gated fails to build while the file its static data names exists.
	pool.RegisterFactory("gated", func(static []byte) (worker.Func, error) {
		if _, err := os.Stat(string(static)); err == nil {
			return nil, errors.New("the gate is closed")
		}
		return func(_ context.Context, in []byte) ([]byte, error) { return in, nil }, nil
	})
}

// spinFor is how long the count function works per item.
const spinFor = 50 * time.Microsecond

// helperParent is a parent process for TestKilledParentLeavesNoWorkers: it
// starts a pool, prints its workers' pids, one a line, then "ready", and
// waits to be killed.
func helperParent() {
	p, err := pool.New(context.Background(), pool.Config{Workers: 3, Worker: worker.Config{Func: "echo"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper parent:", err)
		os.Exit(1)
	}
	for _, w := range p.Status().Workers {
		fmt.Println(w.PID)
	}
	fmt.Println("ready")
	select {}
}
