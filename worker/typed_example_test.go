package worker_test

import (
	"context"
	"fmt"

	"github.com/shmpool/shmpool/codec"
	"github.com/shmpool/shmpool/worker"
)

// Rect is the input of the example's typed function.
type Rect struct{ W, H float64 }

// area is registered in both processes by this package-level var (the
// worker is this test binary, re-executed).
var area = worker.RegisterTyped("example-area", codec.MustBinary[Rect](), codec.MustBinary[float64](),
	func(_ context.Context, r Rect) (float64, error) { return r.W * r.H, nil })

func ExampleRegisterTyped() {
	ctx := context.Background()
	h, err := worker.Start(ctx, worker.Config{Func: area.Name()})
	if err != nil {
		panic(err)
	}
	defer h.Close()
	a, err := area.Execute(ctx, h, Rect{W: 3, H: 4})
	fmt.Println(a, err)

	// Bytes that are not a Rect: the worker's error names the type.
	_, err = h.Execute(ctx, []byte("not a rect"))
	fmt.Println(err)
	// Output:
	// 12 <nil>
	// worker: example-area: input: codec binary: cannot decode worker_test.Rect: 10 bytes, want 16
}

func ExampleTypedFunc_Send() {
	ctx := context.Background()
	h, err := worker.Start(ctx, worker.Config{Func: area.Name()})
	if err != nil {
		panic(err)
	}
	defer h.Close()
	for _, r := range []Rect{{1, 2}, {3, 4}, {5, 6}} {
		if err := area.Send(ctx, h, r); err != nil {
			panic(err)
		}
	}
	for range 3 {
		a, err := area.Recv(ctx, h)
		fmt.Println(a, err)
	}
	// Output:
	// 2 <nil>
	// 12 <nil>
	// 30 <nil>
}
