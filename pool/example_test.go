package pool_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/shmpool/shmpool/pool"
	"github.com/shmpool/shmpool/worker"
)

// The workers run the test binary itself: TestMain calls worker.Main, and
// "upper", "fail" and the others are registered with pool.Register in an
// init function (see main_test.go), so the pool may batch their small items.
func init() {
	// length returns the length of its input, in decimal.
	pool.Register("length", func(_ context.Context, in []byte) ([]byte, error) {
		return strconv.AppendInt(nil, int64(len(in)), 10), nil
	})
}

// Register, like worker.Register, makes a function callable by name in the
// workers; it also lets the pool batch small items: many travel in one ring
// message, and the function is called on each in the worker. Register in an
// init function (see the top of this file), which runs in the parent and in
// every worker.
func ExampleRegister() {
	ctx := context.Background()
	p, err := pool.New(ctx, pool.Config{Workers: 2, Worker: worker.Config{Func: "length"}})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	ins := make([][]byte, 10_000)
	for i := range ins {
		ins[i] = make([]byte, i%100)
	}
	outs, err := p.Map(ctx, ins)
	if err != nil {
		panic(err)
	}
	sum := 0
	for _, out := range outs {
		n, _ := strconv.Atoi(string(out))
		sum += n
	}
	fmt.Println(len(outs), "items,", sum, "bytes")
	fmt.Println(p.Status().Total.Tasks, "tasks") // items, even when batched
	// Output:
	// 10000 items, 495000 bytes
	// 10000 tasks
}

// New starts the workers and returns once all of them run. The
// configuration here retries a task whose worker died once more, and kills
// a worker whose task runs longer than half a second.
func ExampleNew() {
	ctx := context.Background()
	p, err := pool.New(ctx, pool.Config{
		Workers:     3,
		Worker:      worker.Config{Func: "fail"}, // see main_test.go
		Retries:     1,
		TaskTimeout: 500 * time.Millisecond,
	})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	fmt.Println(len(p.Status().Workers), "workers")

	out, err := p.Do(ctx, []byte("fine"))
	fmt.Println(string(out), err)

	_, err = p.Do(ctx, []byte("exit")) // "fail" calls os.Exit(7) on it, both times
	var exit *worker.ExitError
	fmt.Println(errors.As(err, &exit), exit.Code)

	_, err = p.Do(ctx, []byte("sleep 1h"))
	fmt.Println(errors.Is(err, worker.ErrTimeout))

	_, err = pool.New(ctx, pool.Config{Worker: worker.Config{Func: "not registered"}})
	fmt.Println(errors.Is(err, worker.ErrUnknownFunc))
	// Output:
	// 3 workers
	// FINE <nil>
	// true 7
	// true
	// true
}

func ExamplePool_Map() {
	p, err := pool.New(context.Background(), pool.Config{Workers: 2, Worker: worker.Config{Func: "upper"}})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	outs, err := p.Map(context.Background(), [][]byte{[]byte("a"), []byte("b"), []byte("c")})
	if err != nil {
		panic(err)
	}
	for _, out := range outs {
		fmt.Println(string(out))
	}
	// Output:
	// A
	// B
	// C
}

func ExamplePool_Stream() {
	p, err := pool.New(context.Background(), pool.Config{Workers: 2, Worker: worker.Config{Func: "fail"}})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	ins := slices.Values([][]byte{[]byte("one"), []byte("fail two"), []byte("three")})
	for r := range p.Stream(context.Background(), ins) {
		if r.Err != nil {
			fmt.Println(r.Index, "failed")
			continue
		}
		fmt.Println(r.Index, string(r.Out))
	}
	// Output:
	// 0 ONE
	// 1 failed
	// 2 THREE
}

func ExamplePool_Do() {
	p, err := pool.New(context.Background(), pool.Config{Workers: 1, Worker: worker.Config{Func: "upper"}})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	out, err := p.Do(context.Background(), []byte("hello"))
	fmt.Println(string(out), err)
	// Output: HELLO <nil>
}

func ExamplePool_SetFunc() {
	p, err := pool.New(context.Background(), pool.Config{Workers: 2, Worker: worker.Config{Func: "upper"}})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	if err := p.SetFunc(context.Background(), "prefix", []byte("> ")); err != nil {
		panic(err)
	}
	out, _ := p.Do(context.Background(), []byte("hello"))
	fmt.Println(string(out))
	fmt.Println(p.Status().Total.Func)
	// Output:
	// > hello
	// prefix
}

func ExamplePool_Submit() {
	p, err := pool.New(context.Background(), pool.Config{Workers: 2, Worker: worker.Config{Func: "upper"}})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	f := p.Submit(context.Background(), []byte("later"))
	<-f.Done()
	out, err := f.Wait(context.Background())
	fmt.Println(string(out), err)
	// Output: LATER <nil>
}

// Map fails with an *ItemError for the failing item with the lowest index;
// every item before it succeeded.
func ExampleItemError() {
	p, err := pool.New(context.Background(), pool.Config{Workers: 2, Worker: worker.Config{Func: "fail"}})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	_, err = p.Map(context.Background(), [][]byte{[]byte("ok"), []byte("fail me"), []byte("panic"), []byte("ok")})
	var item *pool.ItemError
	var remote *worker.RemoteError
	if errors.As(err, &item) && errors.As(err, &remote) {
		fmt.Println(item.Index, remote.Message)
	}
	// Output: 1 cannot handle "fail me"
}

// Unordered yields results as they finish; Result.Index says which item
// each one is.
func ExamplePool_Unordered() {
	p, err := pool.New(context.Background(), pool.Config{Workers: 2, Worker: worker.Config{Func: "fail"}})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	ins := [][]byte{[]byte("sleep 30ms"), []byte("b"), []byte("fail c"), []byte("d")}
	var lines []string
	for r := range p.Unordered(context.Background(), slices.Values(ins)) {
		if r.Err != nil {
			lines = append(lines, fmt.Sprintf("%d failed", r.Index))
			continue
		}
		lines = append(lines, fmt.Sprintf("%d %s", r.Index, r.Out))
	}
	slices.Sort(lines) // the order they finished in varies
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// 0 SLEEP 30MS
	// 1 B
	// 2 failed
	// 3 D
}

// A Future is safe for concurrent use: Done can be selected on, and Wait
// called any number of times.
func ExampleFuture_Wait() {
	p, err := pool.New(context.Background(), pool.Config{Workers: 2, Worker: worker.Config{Func: "upper"}})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	var fs []*pool.Future
	for _, s := range []string{"x", "y", "z"} {
		fs = append(fs, p.Submit(context.Background(), []byte(s)))
	}
	for _, f := range fs {
		out, err := f.Wait(context.Background())
		fmt.Println(string(out), err)
	}
	// Output:
	// X <nil>
	// Y <nil>
	// Z <nil>
}

// Status reads every worker's counters from shared memory, without sending
// a message.
func ExamplePool_Status() {
	p, err := pool.New(context.Background(), pool.Config{Workers: 2, Worker: worker.Config{Func: "fail"}})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	_, err = p.Map(context.Background(), [][]byte{[]byte("a"), []byte("b"), []byte("c")})
	if err != nil {
		panic(err)
	}
	p.Do(context.Background(), []byte("fail"))

	st := p.Status()
	fmt.Println(len(st.Workers), "workers running", st.Total.Func)
	fmt.Println("tasks", st.Total.Tasks, "errors", st.Total.Errors)
	fmt.Println("restarts", st.Restarts, "queued", st.Queued)
	// Output:
	// 2 workers running fail
	// tasks 4 errors 1
	// restarts 0 queued 0
}

// Close finishes the work already accepted, then stops the workers; work
// submitted after it fails with ErrClosed.
func ExamplePool_Close() {
	p, err := pool.New(context.Background(), pool.Config{Workers: 2, Worker: worker.Config{Func: "sleep"}})
	if err != nil {
		panic(err)
	}
	f := p.Submit(context.Background(), []byte("20ms"))
	fmt.Println(p.Close())
	out, err := f.Wait(context.Background())
	fmt.Println(string(out), err)
	_, err = p.Do(context.Background(), []byte("1ms"))
	fmt.Println(errors.Is(err, pool.ErrClosed))
	// Output:
	// <nil>
	// 20ms <nil>
	// true
}

// Terminate kills the workers now: the tasks in flight or queued fail with
// ErrClosed.
func ExamplePool_Terminate() {
	p, err := pool.New(context.Background(), pool.Config{Workers: 1, Worker: worker.Config{Func: "sleep"}})
	if err != nil {
		panic(err)
	}
	f := p.Submit(context.Background(), []byte("1h"))
	for p.Status().Total.TaskStarted.IsZero() { // until the task runs
		time.Sleep(time.Millisecond)
	}
	p.Terminate()
	_, err = f.Wait(context.Background())
	fmt.Println(errors.Is(err, pool.ErrClosed))
	// Output: true
}
