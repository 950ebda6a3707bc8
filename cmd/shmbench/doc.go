// Command shmbench measures shmpool against the usual ways of moving bytes
// between processes, on the machine it runs on, and shows the live status of
// a running shmpool program.
//
// Usage:
//
//	shmbench [flags]            run the benchmark (about 30 s with the defaults)
//	shmbench top [-once] PID    per-worker status of a running shmpool program
//	shmbench demo [-workers N] [-hold D]
//	                            run a small pool for D (a target for top)
//
// # Benchmark
//
// For each message size and transport it measures the round-trip latency of
// an echo (p50, p99, p99.9 from an HDR histogram) and the one-way streaming
// throughput (messages sent back to back, until the receiver has counted them
// all), each for -duration. The transports:
//
//	shm   a worker.Handle: ExecuteAppend into one reused buffer for the
//	      round trip (every transport's receiver reuses its buffer),
//	      Send/Recv pipelining (a function that returns nothing) for the
//	      stream
//	ring  the raw ring (package ring) over a memfd shared with a child,
//	      both sides polling: what the hardware allows
//	pipe  two os.Pipe, each message a 4-byte length prefix and the payload
//	unix  a unix SOCK_STREAM socketpair, same framing
//	gob   encoding/gob over two pipes: the naive way
//	chan  a goroutine in this process behind Go channels
//
// Then Pool.Map throughput in items/s with -workers workers against a pool
// of the same size made of gob-over-pipe children. Every figure is shown with
// its ratio to the pipe (for latency, pipe p50 / p50: higher is better).
// The child processes are this binary, re-executed.
//
// # JSON schema
//
// -json FILE writes a Report (schema "shmbench/v1"). The schema is stable:
// fields may be added, none renamed or removed without a new schema name.
// Times are in nanoseconds, rates per second, sizes in bytes:
//
//	{
//	  "schema": "shmbench/v1",
//	  "machine": {"cpu": "...", "cores": 2, "kernel": "Linux 6.1.0", "go": "go1.26.8",
//	              "goos": "linux", "goarch": "amd64", "gomaxprocs": 2},
//	  "config": {"sizes": [64, 4096], "transports": ["shm", "pipe"],
//	             "duration_ns": 500000000, "workers": [1, 2, 4], "pool_item_size": 1024},
//	  "started": "2026-11-30T05:00:00Z",
//	  "results": [{"transport": "shm", "size": 64,
//	               "rt_count": 1000, "rt_p50_ns": 310, "rt_p99_ns": 900, "rt_p999_ns": 20000, "rt_mean_ns": 400,
//	               "rt_vs_pipe": 30.5,
//	               "stream_msgs": 1000000, "stream_ns": 500000000,
//	               "stream_msgs_per_s": 2000000, "stream_bytes_per_s": 128000000,
//	               "stream_vs_pipe": 1.3}],
//	  "pool": [{"kind": "shm", "workers": 1, "items": 100000, "elapsed_ns": 500000000,
//	            "items_per_s": 200000, "vs_gob": 3.1}]
//	}
//
// The Go types Report, Machine, RunConfig, Result and PoolResult in report.go
// are the definition; rt_vs_pipe, stream_vs_pipe and vs_gob are omitted when
// the baseline was not measured.
//
// # top
//
// top finds the shmpool segments of process PID through /proc/PID/fd (memfds
// named "shmpool:..."), maps each read-only (worker.Inspect validates the
// header) and prints one row per worker: state, tasks/s and bytes/s since the
// previous refresh, efficiency, starvation and pid, every second. It never
// writes to the segments or signals the process. Restarts are not shown:
// a pool keeps that count in its own memory, not in the segments. Reading
// another process's descriptors needs the permission to ptrace it (same user,
// or root).
//
// # Caveats
//
// The figures are from one run on a possibly shared machine: run it twice
// before believing a difference of less than 20%. Latency of the kernel
// transports is bimodal on VMs (the wake-up of the peer costs 5 µs on the same
// CPU, 40 µs on another). Linux only.
package main
