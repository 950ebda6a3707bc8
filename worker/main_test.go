package worker_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shmpool/shmpool/internal/testutil"
	"github.com/shmpool/shmpool/worker"
)

func TestMain(m *testing.M) {
	worker.Main()
	testutil.Main(m, map[string]func(){
		"lifeline-parent": lifelineParent,
	})
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
			//lint:ignore SA5000 a runtime error panic is the point
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
	// slowgrow sleeps, then returns as many bytes as its input says:
	// "100ms 4096".
	worker.Register("slowgrow", func(_ context.Context, in []byte) ([]byte, error) {
		ds, ns, _ := strings.Cut(string(in), " ")
		d, err := time.ParseDuration(ds)
		if err != nil {
			return nil, err
		}
		n, err := strconv.Atoi(ns)
		if err != nil {
			return nil, err
		}
		time.Sleep(d)
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
	// block does not return (for an hour): a task the worker is stuck in
	// until it is killed.
	worker.Register("block", func(_ context.Context, in []byte) ([]byte, error) {
		time.Sleep(time.Hour)
		return nil, nil
	})
	// env returns the worker's value of the environment variable named by in.
	worker.Register("env", func(_ context.Context, in []byte) ([]byte, error) {
		return []byte(os.Getenv(string(in))), nil
	})
	// stderr writes its input to the worker's standard error.
	worker.Register("stderr", func(_ context.Context, in []byte) ([]byte, error) {
		_, err := os.Stderr.Write(in)
		return nil, err
	})
	worker.RegisterFactory("factory-panic", func(static []byte) (worker.Func, error) {
		panic("factory boom: " + string(static))
	})
	worker.RegisterFactory("factory-nil", func([]byte) (worker.Func, error) { return nil, nil })
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

// lifelineParent is a helper process (testutil.HelperCommand): a parent that
// starts a worker, prints the worker's pid on stdout and then waits until
// it is killed (or its stdin is closed, so that it cannot outlive a failed
// test). It never closes the worker: its death is what the test is about.
func lifelineParent() {
	h, err := worker.Start(context.Background(), worker.Config{Func: "echo"})
	if err != nil {
		fmt.Fprintf(os.Stderr, "lifeline-parent: %v\n", err)
		os.Exit(1)
	}
	if out, err := h.Execute(context.Background(), []byte("ping")); err != nil || string(out) != "ping" {
		fmt.Fprintf(os.Stderr, "lifeline-parent: execute: %q, %v\n", out, err)
		os.Exit(1)
	}
	fmt.Println(h.PID())
	io.Copy(io.Discard, os.Stdin)
	h.Terminate()
	os.Exit(0)
}
