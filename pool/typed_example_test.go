package pool_test

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/shmpool/shmpool/codec"
	"github.com/shmpool/shmpool/pool"
	"github.com/shmpool/shmpool/worker"
)

// Order is the input of the examples' typed function, a fixed-size
// record for the Binary codec.
type Order struct {
	Qty   int32
	Price float64
}

// total is registered in both processes by this package-level var (the
// worker is the test binary, re-executed); through pool.RegisterTyped,
// the pool batches its small items.
var total = pool.RegisterTyped("example-total", codec.MustBinary[Order](), codec.MustBinary[float64](),
	func(_ context.Context, o Order) (float64, error) {
		if o.Qty < 0 {
			return 0, fmt.Errorf("negative quantity %d", o.Qty)
		}
		return float64(o.Qty) * o.Price, nil
	})

func ExampleRegisterTyped() {
	ctx := context.Background()
	p, err := pool.New(ctx, pool.Config{Workers: 2, Worker: worker.Config{Func: total.Name()}})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	t, err := pool.DoOf(ctx, p, total, Order{Qty: 3, Price: 2.5})
	fmt.Println(t, err)
	// Output: 7.5 <nil>
}

func ExampleMapOf() {
	ctx := context.Background()
	p, err := pool.New(ctx, pool.Config{Workers: 2, Worker: worker.Config{Func: total.Name()}})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	totals, err := pool.MapOf(ctx, p, total, []Order{{1, 10}, {2, 0.5}, {4, 0.25}})
	fmt.Println(totals, err)

	_, err = pool.MapOf(ctx, p, total, []Order{{1, 10}, {-2, 1}, {-3, 1}})
	var ie *pool.ItemError
	fmt.Println(errors.As(err, &ie), ie.Index)
	fmt.Println(err)
	// Output:
	// [10 1 1] <nil>
	// true 1
	// pool: item 1: worker: example-total: negative quantity -2
}

func ExampleStreamOf() {
	ctx := context.Background()
	p, err := pool.New(ctx, pool.Config{Workers: 2, Worker: worker.Config{Func: total.Name()}})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	orders := slices.Values([]Order{{1, 1}, {-1, 1}, {2, 2}})
	for r := range pool.StreamOf(ctx, p, total, orders) {
		fmt.Println(r.Index, r.Out, r.Err)
	}
	// Output:
	// 0 1 <nil>
	// 1 0 worker: example-total: negative quantity -1
	// 2 4 <nil>
}
