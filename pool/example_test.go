package pool_test

import (
	"context"
	"fmt"
	"slices"

	"github.com/shmpool/shmpool/pool"
	"github.com/shmpool/shmpool/worker"
)

// The workers run the test binary itself: TestMain calls worker.Main, and
// "upper" is registered with pool.Register in an init function (see
// main_test.go), so the pool may batch its small items.

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
