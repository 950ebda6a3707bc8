package status_test

import (
	"fmt"
	"os"
	"time"

	"github.com/shmpool/shmpool/internal/atomicx"
	"github.com/shmpool/shmpool/status"
)

// A worker publishes through a Writer and its parent reads the same bytes
// through a Reader. Here both sides share heap memory and pass explicit
// times; in shmpool the block is in the worker's shared-memory segment and
// the times come from time.Now.
func ExampleReader_Snapshot() {
	block := atomicx.AlignedBytes(status.Size) // production: a block of the segment's control page
	start := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

	// Worker side.
	w, err := status.NewWriter(block, 4242, start)
	if err != nil {
		panic(err)
	}
	w.SetFunc("resize")
	w.WaitStart(start.Add(1 * time.Second))
	w.TaskStart(start.Add(2 * time.Second)) // ends the wait
	w.TaskEnd(start.Add(5*time.Second), 1024, 256, false, false)
	w.TaskStart(start.Add(6 * time.Second)) // still running

	// Parent side.
	r, err := status.NewReader(block)
	if err != nil {
		panic(err)
	}
	s := r.Snapshot(start.Add(10 * time.Second))
	fmt.Println(s.PID, s.State, s.Func)
	fmt.Println("uptime", s.Uptime, "busy", s.Busy, "waiting", s.Waiting)
	fmt.Println("tasks", s.Tasks, "current task running for", s.TaskElapsed)
	// Output:
	// 4242 busy resize
	// uptime 10s busy 7s waiting 1s
	// tasks 1 current task running for 4s
}

func ExampleSnapshot_Efficiency() {
	s := status.Snapshot{Uptime: 10 * time.Second, Busy: 6 * time.Second, Waiting: 2 * time.Second, Tasks: 3}
	fmt.Printf("efficiency %.2f\n", s.Efficiency())   // busy / (busy + waiting)
	fmt.Printf("utilization %.2f\n", s.Utilization()) // busy / uptime
	fmt.Printf("starvation %.2f\n", s.Starvation())   // waiting / uptime
	fmt.Println("mean task", s.MeanTask())            // busy / tasks
	// Output:
	// efficiency 0.75
	// utilization 0.60
	// starvation 0.20
	// mean task 2s
}

func ExampleWriteTable() {
	workers := []status.Snapshot{
		{
			PID: 4242, State: status.Busy, Func: "resize",
			Uptime: time.Minute, Busy: 45 * time.Second, Waiting: 10 * time.Second,
			Tasks: 1200, Errors: 3, Panics: 1, BytesIn: 3 << 20, BytesOut: 1536,
		},
		{
			PID: 4243, State: status.Idle, Func: "resize",
			Uptime: 30 * time.Second, Busy: 15 * time.Second, Waiting: 15 * time.Second,
			Tasks: 300, BytesIn: 512, BytesOut: 2 << 30,
		},
	}
	if err := status.WriteTable(os.Stdout, workers...); err != nil {
		panic(err)
	}
	// Output:
	// PID    STATE  FUNC    UPTIME  TASKS  ERRORS  PANICS  BUSY  WAITING  EFFICIENCY  UTILIZATION  MEAN TASK  BYTES IN  BYTES OUT
	// 4242   busy   resize  1m0s    1200   3       1       45s   10s      81.8%       75.0%        37.5ms     3.0 MiB   1.5 KiB
	// 4243   idle   resize  30s     300    0       0       15s   15s      50.0%       50.0%        50ms       512 B     2.0 GiB
	// TOTAL  busy   resize  1m30s   1500   3       1       1m0s  25s      70.6%       66.7%        40ms       3.0 MiB   2.0 GiB
}

func ExampleSum() {
	a := status.Snapshot{State: status.Idle, Uptime: 60 * time.Second, Busy: 30 * time.Second, Tasks: 10}
	b := status.Snapshot{State: status.Busy, Uptime: 60 * time.Second, Busy: 60 * time.Second, Tasks: 20}
	total := status.Sum(a, b)
	fmt.Println(total.State, total.Tasks, total.Busy, total.Uptime)
	fmt.Printf("pool utilization %.0f%%\n", 100*total.Utilization())
	// Output:
	// busy 30 1m30s 2m0s
	// pool utilization 75%
}
