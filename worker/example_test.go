package worker_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/shmpool/shmpool/status"
	"github.com/shmpool/shmpool/worker"
)

// The workers in these examples run the test binary itself: its TestMain
// calls worker.Main (see main_test.go), and the functions are registered in
// init functions, here and in main_test.go, which run in both processes.
func init() {
	// reverse returns its input reversed.
	worker.Register("reverse", func(_ context.Context, in []byte) ([]byte, error) {
		out := slices.Clone(in) // in aliases shared memory: copy what you keep
		slices.Reverse(out)
		return out, nil
	})
	// greet is built once per configuration from its static data, the
	// greeting.
	worker.RegisterFactory("greet", func(static []byte) (worker.Func, error) {
		if len(static) == 0 {
			return nil, errors.New("greet: no greeting")
		}
		greeting := string(static) // static is the factory's own copy; it may keep it
		return func(_ context.Context, in []byte) ([]byte, error) {
			return fmt.Appendf(nil, "%s, %s!", greeting, in), nil
		}, nil
	})
}

// A program is its own worker: main calls Main first. In the parent, Main
// returns at once; in a worker process (this program, started again by
// Start), it runs the worker loop and never returns.
func ExampleMain() {
	worker.Main() // first thing in main; a test binary calls it in TestMain

	ctx := context.Background()
	h, err := worker.Start(ctx, worker.Config{Func: "reverse"})
	if err != nil {
		panic(err)
	}
	defer h.Close()
	out, err := h.Execute(ctx, []byte("stressed"))
	fmt.Println(string(out), err)
	// Output: desserts <nil>
}

func ExampleRegister() {
	// In an init function (see the top of this file):
	//
	//	worker.Register("reverse", func(_ context.Context, in []byte) ([]byte, error) { ... })
	ctx := context.Background()
	h, err := worker.Start(ctx, worker.Config{Func: "reverse"})
	if err != nil {
		panic(err)
	}
	defer h.Close()
	out, _ := h.Execute(ctx, []byte("drawer"))
	fmt.Println(string(out))
	// Output: reward
}

// A factory builds the function in the worker from Config.Static: once at
// Start, and again at each SetFunc. Its error fails Start.
func ExampleRegisterFactory() {
	ctx := context.Background()
	h, err := worker.Start(ctx, worker.Config{Func: "greet", Static: []byte("Hello")})
	if err != nil {
		panic(err)
	}
	defer h.Close()
	out, _ := h.Execute(ctx, []byte("worker"))
	fmt.Println(string(out))

	_, err = worker.Start(ctx, worker.Config{Func: "greet"}) // no static data
	var remote *worker.RemoteError
	fmt.Println(errors.As(err, &remote), remote.Message)
	// Output:
	// Hello, worker!
	// true greet: no greeting
}

func ExampleStart() {
	ctx := context.Background()
	h, err := worker.Start(ctx, worker.Config{
		Func:     "upper",
		RingSize: 1 << 20, // 1 MiB per direction instead of 4 MiB
	})
	if err != nil {
		panic(err)
	}
	defer h.Close()
	fmt.Println(h.PID() > 0, h.Status().Func)

	_, err = worker.Start(ctx, worker.Config{Func: "no such function"})
	fmt.Println(errors.Is(err, worker.ErrUnknownFunc))
	// Output:
	// true upper
	// true
}

// Execute is a synchronous round trip. A function's error or panic comes
// back as a *RemoteError, and the worker lives on.
func ExampleHandle_Execute() {
	ctx := context.Background()
	h, err := worker.Start(ctx, worker.Config{Func: "panic"})
	if err != nil {
		panic(err)
	}
	defer h.Close()

	_, err = h.Execute(ctx, []byte("at the disco"))
	var remote *worker.RemoteError
	if errors.As(err, &remote) {
		fmt.Println("panic:", remote.Panic, "message:", remote.Message)
	}
	_, err = h.Execute(ctx, []byte("again"))
	fmt.Println(err)
	// Output:
	// panic: true message: boom: at the disco
	// worker: panic panicked: boom: again
}

// ExecuteAppend appends each result to a buffer the caller reuses, so a
// loop of round trips allocates nothing for its results.
func ExampleHandle_ExecuteAppend() {
	ctx := context.Background()
	h, err := worker.Start(ctx, worker.Config{Func: "reverse"})
	if err != nil {
		panic(err)
	}
	defer h.Close()

	var buf []byte
	for _, word := range []string{"stressed", "drawer", "diaper"} {
		buf, err = h.ExecuteAppend(ctx, buf[:0], []byte(word))
		if err != nil {
			panic(err)
		}
		fmt.Println(string(buf))
	}
	// Output:
	// desserts
	// reward
	// repaid
}

// Send queues work without waiting for it; Recv returns the results in
// Send order. Sending several before receiving keeps the worker busy while
// the parent prepares the next input.
func ExampleHandle_Send() {
	ctx := context.Background()
	h, err := worker.Start(ctx, worker.Config{Func: "upper"})
	if err != nil {
		panic(err)
	}
	defer h.Close()

	for _, s := range []string{"one", "two", "three"} {
		if err := h.Send(ctx, []byte(s)); err != nil {
			panic(err)
		}
	}
	for range 3 {
		out, err := h.Recv(ctx)
		fmt.Println(string(out), err)
	}
	_, err = h.Recv(ctx)
	fmt.Println(err)
	// Output:
	// ONE <nil>
	// TWO <nil>
	// THREE <nil>
	// worker: Recv without an outstanding Send
}

// Poll says whether Recv would return at once, so a loop can do other work
// while results are on their way.
func ExampleHandle_Poll() {
	ctx := context.Background()
	h, err := worker.Start(ctx, worker.Config{Func: "sleep"})
	if err != nil {
		panic(err)
	}
	defer h.Close()

	if err := h.Send(ctx, []byte("20ms")); err != nil {
		panic(err)
	}
	fmt.Println("ready at once:", h.Poll())
	for !h.Poll() {
		time.Sleep(time.Millisecond) // other work
	}
	out, err := h.Recv(ctx)
	fmt.Println(string(out), err)
	// Output:
	// ready at once: false
	// 20ms <nil>
}

// SetFunc switches a running worker to another function, built by its
// factory from new static data (doctable's update_userfunc).
func ExampleHandle_SetFunc() {
	ctx := context.Background()
	h, err := worker.Start(ctx, worker.Config{Func: "greet", Static: []byte("Hello")})
	if err != nil {
		panic(err)
	}
	defer h.Close()

	for _, greeting := range []string{"Bonjour", "Hallo"} {
		if err := h.SetFunc(ctx, "greet", []byte(greeting)); err != nil {
			panic(err)
		}
		out, _ := h.Execute(ctx, []byte("Welt"))
		fmt.Println(string(out))
	}
	err = h.SetFunc(ctx, "greet", nil) // the factory fails: the old function stays
	fmt.Println(err)
	out, _ := h.Execute(ctx, []byte("again"))
	fmt.Println(string(out))
	// Output:
	// Bonjour, Welt!
	// Hallo, Welt!
	// worker: greet: greet: no greeting
	// Hallo, again!
}

// Status reads the worker's counters straight from shared memory: no
// message is sent, and it works while the worker is busy.
func ExampleHandle_Status() {
	ctx := context.Background()
	h, err := worker.Start(ctx, worker.Config{Func: "fail"})
	if err != nil {
		panic(err)
	}
	defer h.Close()

	for _, s := range []string{"a", "bb", "ccc"} {
		h.Execute(ctx, []byte(s)) // "fail" always fails
	}
	s := h.Status()
	fmt.Println(s.PID == h.PID(), s.Func, s.State)
	fmt.Println("tasks", s.Tasks, "errors", s.Errors, "bytes in", s.BytesIn)
	// Output:
	// true fail idle
	// tasks 3 errors 3 bytes in 6
}

// Close stops a worker gracefully: the work already sent finishes first.
func ExampleHandle_Close() {
	ctx := context.Background()
	h, err := worker.Start(ctx, worker.Config{Func: "sleep"})
	if err != nil {
		panic(err)
	}
	if err := h.Send(ctx, []byte("10ms")); err != nil {
		panic(err)
	}
	fmt.Println(h.Close())
	<-h.Done() // closed once the process has exited
	out, err := h.Recv(ctx)
	fmt.Println(string(out), err)
	_, err = h.Execute(ctx, []byte("1ms"))
	fmt.Println(errors.Is(err, worker.ErrClosed))
	// Output:
	// <nil>
	// 10ms <nil>
	// true
}

// Terminate kills a worker now; the calls pending on it fail with its
// *ExitError.
func ExampleHandle_Terminate() {
	ctx := context.Background()
	h, err := worker.Start(ctx, worker.Config{Func: "block"})
	if err != nil {
		panic(err)
	}
	done := make(chan error)
	go func() {
		_, err := h.Execute(ctx, nil) // "block" never returns
		done <- err
	}()
	for h.Status().State != status.Busy { // until the task runs
		time.Sleep(time.Millisecond)
	}
	h.Terminate()
	err = <-done
	var exit *worker.ExitError
	fmt.Println(errors.As(err, &exit), exit.Signal == syscall.SIGKILL, errors.Is(err, worker.ErrExited))
	fmt.Println(strings.Contains(err.Error(), "killed by signal killed"))
	// Output:
	// true true true
	// true
}

// A worker process that dies fails its pending calls with an *ExitError:
// its exit status or signal, and the tail of its standard error.
func ExampleExitError() {
	ctx := context.Background()
	h, err := worker.Start(ctx, worker.Config{Func: "exit"})
	if err != nil {
		panic(err)
	}
	defer h.Close()
	_, err = h.Execute(ctx, []byte("3")) // "exit" calls os.Exit
	var exit *worker.ExitError
	if errors.As(err, &exit) {
		fmt.Println("exit status", exit.Code, exit.PID == h.PID())
	}
	_, err = h.Execute(ctx, []byte("0"))
	fmt.Println(errors.Is(err, worker.ErrExited))
	// Output:
	// exit status 3 true
	// true
}
