package pool_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"testing"

	"github.com/shmpool/shmpool/internal/testutil"
	"github.com/shmpool/shmpool/pool"
	"github.com/shmpool/shmpool/worker"
)

func TestMain(m *testing.M) {
	worker.Main()
	testutil.Main(m, helpers)
}

// helpers are the test binary's helper-process roles (testutil.HelperCommand).
var helpers = map[string]func(){}

// The functions the tests' workers run. The worker is this test binary,
// re-executed, so they are registered in both processes. Functions
// registered with pool.Register can be batched; those registered with
// worker.Register run one item per message.
func init() {
	pool.Register("echo", func(_ context.Context, in []byte) ([]byte, error) { return in, nil })
	worker.Register("echo-raw", func(_ context.Context, in []byte) ([]byte, error) { return in, nil })
	pool.Register("upper", func(_ context.Context, in []byte) ([]byte, error) { return bytes.ToUpper(in), nil })
	worker.Register("upper-raw", func(_ context.Context, in []byte) ([]byte, error) { return bytes.ToUpper(in), nil })
	// fail fails on inputs that start with "fail", panics on "panic", exits
	// the worker on "exit".
	fail := func(_ context.Context, in []byte) ([]byte, error) {
		switch {
		case bytes.HasPrefix(in, []byte("fail")):
			return nil, fmt.Errorf("cannot handle %q", in)
		case bytes.HasPrefix(in, []byte("panic")):
			panic("boom: " + string(in))
		case bytes.HasPrefix(in, []byte("exit")):
			os.Exit(7)
		}
		return bytes.ToUpper(in), nil
	}
	pool.Register("fail", fail)
	worker.Register("fail-raw", fail)
	// sleep sleeps for the duration its input names ("10ms"), then echoes.
	sleep := func(_ context.Context, in []byte) ([]byte, error) {
		if d, err := time.ParseDuration(string(bytes.TrimSpace(in))); err == nil {
			time.Sleep(d)
		}
		return in, nil
	}
	pool.Register("sleep", sleep)
	worker.Register("sleep-raw", sleep)
	pool.Register("pid", func(_ context.Context, in []byte) ([]byte, error) {
		return []byte(strconv.Itoa(os.Getpid())), nil
	})
	pool.RegisterFactory("prefix", func(static []byte) (worker.Func, error) {
		if string(static) == "bad" {
			return nil, errors.New("static data says bad")
		}
		p := append([]byte(nil), static...)
		return func(_ context.Context, in []byte) ([]byte, error) { return append(append([]byte(nil), p...), in...), nil }, nil
	})
}
