package wake_test

import (
	"context"
	"fmt"

	"github.com/shmpool/shmpool/internal/atomicx"
	"github.com/shmpool/shmpool/internal/wake"
)

func ExampleDoorbell() {
	d, err := wake.New(wake.Eventfd) // pass d.Files() to a child in ExtraFiles
	if err != nil {
		panic(err)
	}
	defer d.Close()
	for range 3 {
		d.Ring() // rings coalesce until the next Wait
	}
	fmt.Println(d.Wait(context.Background()))
	// Output: <nil>
}

func ExampleSleep() {
	d, err := wake.New(wake.Eventfd)
	if err != nil {
		panic(err)
	}
	defer d.Close()
	// Shared words: the producer's index and the consumer's waiting flag,
	// on separate cache lines.
	mem := atomicx.AlignedBytes(2 * atomicx.CacheLine)
	index := atomicx.Uint64At(mem, 0)
	waiting := atomicx.Uint32At(mem, atomicx.CacheLine)

	go func() {
		index.Store(1)        // publish first,
		wake.Wake(d, waiting) // then ring, only if the consumer sleeps
	}()
	ready := func() bool { return index.Load() >= 1 }
	err = wake.Sleep(context.Background(), d, waiting, ready, 0)
	fmt.Println(err, index.Load())
	// Output: <nil> 1
}
