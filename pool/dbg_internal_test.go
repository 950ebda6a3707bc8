package pool

import (
	"fmt"
	"os"
	"time"
)

func init() {
	if os.Getenv("POOL_DEBUG") != "" {
		t0 := time.Now()
		dbg = func(f string, a ...any) {
			fmt.Fprintf(os.Stderr, "%8d "+f+"\n", append([]any{time.Since(t0).Microseconds()}, a...)...)
		}
	}
}
