package worker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/shmpool/shmpool/internal/testutil"
	"github.com/shmpool/shmpool/worker"
)

func TestMain(m *testing.M) {
	worker.Main()
	testutil.Main(m, nil)
}

// The functions the tests' workers run. The worker is this test binary,
// re-executed, so they are registered in both processes.
func init() {
	worker.Register("echo", func(_ context.Context, in []byte) ([]byte, error) { return in, nil })
	worker.Register("upper", func(_ context.Context, in []byte) ([]byte, error) { return bytes.ToUpper(in), nil })
	worker.Register("fail", func(_ context.Context, in []byte) ([]byte, error) {
		return nil, fmt.Errorf("cannot handle %q", in)
	})
	worker.Register("panic", func(_ context.Context, in []byte) ([]byte, error) {
		if string(in) == "nil" {
			var m map[string]int
			m["x"] = 1
		}
		panic("boom: " + string(in))
	})
	worker.Register("sleep", func(_ context.Context, in []byte) ([]byte, error) {
		d, err := time.ParseDuration(string(in))
		if err != nil {
			return nil, err
		}
		time.Sleep(d)
		return in, nil
	})
	// grow returns as many bytes as its input says.
	worker.Register("grow", func(_ context.Context, in []byte) ([]byte, error) {
		n, err := strconv.Atoi(string(in))
		if err != nil {
			return nil, err
		}
		return bytes.Repeat([]byte{'g'}, n), nil
	})
	worker.Register("exit", func(_ context.Context, in []byte) ([]byte, error) {
		code, _ := strconv.Atoi(string(in))
		os.Exit(code)
		return nil, nil
	})
	worker.Register("pid", func(_ context.Context, in []byte) ([]byte, error) {
		return []byte(strconv.Itoa(os.Getpid())), nil
	})
	worker.RegisterFactory("prefix", func(static []byte) (worker.Func, error) {
		if string(static) == "bad" {
			return nil, errors.New("static data says bad")
		}
		p := append([]byte(nil), static...)
		return func(_ context.Context, in []byte) ([]byte, error) {
			return append(append([]byte(nil), p...), in...), nil
		}, nil
	})
}
