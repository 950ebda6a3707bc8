package pool_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shmpool/shmpool/pool"
	"github.com/shmpool/shmpool/worker"
)

func TestScratchPerf(t *testing.T) {
	for _, fn := range []string{"echo"} {
		for _, mif := range []int{2, 4, 8, 16} {
			spin := time.Duration(0)
			for _, w := range []int{2, 8} {
				p, err := pool.New(context.Background(), pool.Config{Workers: w, Worker: worker.Config{Func: fn, Spin: spin}, MaxInFlight: mif})
				if err != nil {
					t.Fatal(err)
				}
				n := 20000
				if fn == "echo" {
					n = 2000000
				}
				ins := make([][]byte, n)
				for i := range ins {
					ins[i] = make([]byte, 64)
				}
				start := time.Now()
				if _, err := p.Map(context.Background(), ins); err != nil {
					t.Fatal(err)
				}
				el := time.Since(start)
				st := p.Status()
				fmt.Printf("mif=%d %s spin=%v workers=%d: %.0f items/s tasks=%d %s\n", mif, fn, spin, w, float64(n)/el.Seconds(), st.Total.Tasks, pool.Debug(p))
				p.Close()
			}
		}
	}
}
