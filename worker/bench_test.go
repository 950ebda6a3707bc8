package worker_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/internal/testutil"
	"github.com/shmpool/shmpool/worker"
)

// Baseline children for the benchmarks: the test binary re-executed with
// benchChildEnv set echoes messages over a pipe pair or a SOCK_SEQPACKET
// socket on descriptor 3 (stdin/stdout for the pipe).
const benchChildEnv = "SHMPOOL_BENCH_CHILD"

func init() {
	switch os.Getenv(benchChildEnv) {
	case "pipe":
		pipeEcho()
	case "seqpacket":
		seqpacketEcho()
	case "exit": // BenchmarkStart's baseline: start and exit
	default:
		return
	}
	os.Exit(0)
}

func pipeEcho() {
	var hdr [4]byte
	var buf []byte
	for {
		if _, err := io.ReadFull(os.Stdin, hdr[:]); err != nil {
			return
		}
		n := binary.LittleEndian.Uint32(hdr[:])
		buf = slices.Grow(buf[:0], int(n))[:n]
		if _, err := io.ReadFull(os.Stdin, buf); err != nil {
			return
		}
		os.Stdout.Write(hdr[:])
		os.Stdout.Write(buf)
	}
}

func seqpacketEcho() {
	buf := make([]byte, 2<<20)
	for {
		n, _, err := syscall.Recvfrom(3, buf, 0)
		if err != nil || n == 0 {
			return
		}
		if err := syscall.Sendto(3, buf[:n], 0, nil); err != nil {
			return
		}
	}
}

var benchSizes = []struct {
	name string
	size int
}{{"64B", 64}, {"4KiB", 4 << 10}, {"64KiB", 64 << 10}, {"1MiB", 1 << 20}}

// latencies records per-call round-trip times and reports percentiles.
type latencies []time.Duration

func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	at := func(q float64) float64 { return float64(l[min(len(l)-1, int(q*float64(len(l))))].Nanoseconds()) }
	b.ReportMetric(at(0.50), "p50-ns")
	b.ReportMetric(at(0.99), "p99-ns")
	b.ReportMetric(at(0.999), "p99.9-ns")
}

// roundTrips runs rt b.N times, timing each call.
func roundTrips(b *testing.B, size int, gap time.Duration, rt func(in []byte) []byte) {
	in := bytes.Repeat([]byte{'x'}, size)
	lat := make(latencies, 0, 1<<16)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		if gap > 0 {
			time.Sleep(gap)
		}
		t0 := time.Now()
		out := rt(in)
		if len(lat) < cap(lat) {
			lat = append(lat, time.Since(t0))
		}
		if len(out) != size {
			b.Fatalf("echo returned %d bytes, want %d", len(out), size)
		}
	}
	lat.report(b)
}

// cpuMeter measures the CPU time (user and system) this process and a
// worker spend during a benchmark. Per operation it is a steadier figure
// than the throughput on a machine whose vCPUs the host moves around, and it
// says which side costs what. Its resolution is 10 ms (USER_HZ): report it
// from runs of a second or more.
type cpuMeter struct {
	pid          int
	self, worker time.Duration
}

func startCPU(b *testing.B, pid int) cpuMeter {
	m := cpuMeter{pid: pid}
	m.self, m.worker = m.read(b)
	return m
}

// read returns the CPU time this process and the worker have used so far.
func (m cpuMeter) read(b *testing.B) (self, worker time.Duration) {
	b.Helper()
	self, err := testutil.CPUTime(os.Getpid())
	require.NoError(b, err)
	worker, err = testutil.CPUTime(m.pid)
	require.NoError(b, err)
	return self, worker
}

// report adds parent-cpu-ns/op and worker-cpu-ns/op for n operations.
func (m cpuMeter) report(b *testing.B, n int) {
	self, worker := m.read(b)
	b.ReportMetric(float64(self-m.self)/float64(n), "parent-cpu-ns/op")
	b.ReportMetric(float64(worker-m.worker)/float64(n), "worker-cpu-ns/op")
}

func benchShm(b *testing.B, size int, gap time.Duration) { shmEchoes(b, size, gap, false) }

func benchShmAppend(b *testing.B, size int, gap time.Duration) { shmEchoes(b, size, gap, true) }

// shmEchoes times round trips through a worker's echo: Execute, whose
// result is fresh memory, or with reuse ExecuteAppend into one buffer.
func shmEchoes(b *testing.B, size int, gap time.Duration, reuse bool) {
	h, err := worker.Start(context.Background(), worker.Config{Func: "echo"})
	require.NoError(b, err)
	defer h.Close()
	ctx := context.Background()
	call := func(in []byte) ([]byte, error) { return h.Execute(ctx, in) }
	if reuse {
		buf := make([]byte, 0, size)
		call = func(in []byte) ([]byte, error) { return h.ExecuteAppend(ctx, buf[:0], in) }
	}
	cpu := startCPU(b, h.PID())
	roundTrips(b, size, gap, func(in []byte) []byte {
		out, err := call(in)
		if err != nil {
			b.Fatal(err)
		}
		return out
	})
	cpu.report(b, b.N)
}

func benchPipe(b *testing.B, size int, gap time.Duration) {
	exe, err := os.Executable()
	require.NoError(b, err)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), benchChildEnv+"=pipe")
	w, err := cmd.StdinPipe()
	require.NoError(b, err)
	r, err := cmd.StdoutPipe()
	require.NoError(b, err)
	require.NoError(b, cmd.Start())
	defer func() { w.Close(); cmd.Wait() }()
	var hdr [4]byte
	roundTrips(b, size, gap, func(in []byte) []byte {
		binary.LittleEndian.PutUint32(hdr[:], uint32(len(in)))
		if _, err := w.Write(hdr[:]); err != nil {
			b.Fatal(err)
		}
		if _, err := w.Write(in); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			b.Fatal(err)
		}
		n := int(binary.LittleEndian.Uint32(hdr[:]))
		res := make([]byte, n) // the caller owns the result, as with Execute
		if _, err := io.ReadFull(r, res); err != nil {
			b.Fatal(err)
		}
		return res
	})
}

func benchSeqpacket(b *testing.B, size int, gap time.Duration) {
	seqpacketEchoes(b, size, gap, false)
}

func benchSeqpacketReuse(b *testing.B, size int, gap time.Duration) {
	seqpacketEchoes(b, size, gap, true)
}

// seqpacketEchoes times round trips through a SOCK_SEQPACKET echo child,
// each result read into a fresh buffer or, with reuse, into the same one.
func seqpacketEchoes(b *testing.B, size int, gap time.Duration, reuse bool) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
	require.NoError(b, err)
	buf := 2*size + 64<<10
	for _, fd := range fds {
		syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUF, buf)
		syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, buf)
	}
	child := os.NewFile(uintptr(fds[1]), "seqpacket-child")
	exe, err := os.Executable()
	require.NoError(b, err)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), benchChildEnv+"=seqpacket")
	cmd.ExtraFiles = []*os.File{child}
	require.NoError(b, cmd.Start())
	child.Close()
	defer func() { syscall.Close(fds[0]); cmd.Wait() }()
	res := make([]byte, size)
	roundTrips(b, size, gap, func(in []byte) []byte {
		if err := syscall.Sendto(fds[0], in, 0, nil); err != nil {
			b.Fatal(err)
		}
		if !reuse {
			res = make([]byte, len(in))
		}
		n, _, err := syscall.Recvfrom(fds[0], res, 0)
		if err != nil {
			b.Fatal(err)
		}
		return res[:n]
	})
}

func benchChannel(b *testing.B, size int, gap time.Duration) {
	req, resp := make(chan []byte), make(chan []byte)
	go func() {
		for in := range req {
			out := make([]byte, len(in))
			copy(out, in)
			resp <- out
		}
	}()
	defer close(req)
	roundTrips(b, size, gap, func(in []byte) []byte { req <- in; return <-resp })
}

// BenchmarkExecute measures round trips through a worker against, in the
// same run, a pipe echo child, a SOCK_SEQPACKET echo child and an
// in-process goroutine behind an unbuffered channel.
func BenchmarkExecute(b *testing.B) {
	transports := []struct {
		name string
		fn   func(*testing.B, int, time.Duration)
	}{
		{"shm", benchShm}, {"pipe", benchPipe}, {"seqpacket", benchSeqpacket}, {"chan", benchChannel},
		// The caller reuses one buffer for every result.
		{"shm-append", benchShmAppend}, {"seqpacket-reuse", benchSeqpacketReuse},
	}
	for _, s := range benchSizes {
		for _, tr := range transports {
			b.Run(fmt.Sprintf("%s/size=%s", tr.name, s.name), func(b *testing.B) { tr.fn(b, s.size, 0) })
		}
	}
}

// BenchmarkExecuteIdle is BenchmarkExecute with the worker idle for 1 ms
// before each request: every call pays for waking a sleeping worker, which
// decides the tail latency.
func BenchmarkExecuteIdle(b *testing.B) {
	for _, tr := range []struct {
		name string
		fn   func(*testing.B, int, time.Duration)
	}{{"shm", benchShm}, {"pipe", benchPipe}} {
		b.Run(tr.name+"/size=64B", func(b *testing.B) { tr.fn(b, 64, time.Millisecond) })
	}
}

// BenchmarkSendRecv measures pipelined throughput: up to 1024 Sends ahead
// of Recv.
func BenchmarkSendRecv(b *testing.B) {
	for _, s := range benchSizes[:3] {
		b.Run("size="+s.name, func(b *testing.B) {
			h, err := worker.Start(context.Background(), worker.Config{Func: "echo"})
			require.NoError(b, err)
			defer h.Close()
			ctx := context.Background()
			in := bytes.Repeat([]byte{'x'}, s.size)
			b.SetBytes(int64(s.size))
			b.ReportAllocs()
			outstanding := 0
			cpu := startCPU(b, h.PID())
			start := time.Now()
			n := 0
			for b.Loop() {
				if err := h.Send(ctx, in); err != nil {
					b.Fatal(err)
				}
				n++
				if outstanding++; outstanding == 1024 {
					if _, err := h.Recv(ctx); err != nil {
						b.Fatal(err)
					}
					outstanding--
				}
			}
			for ; outstanding > 0; outstanding-- {
				if _, err := h.Recv(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "msgs/s")
			cpu.report(b, n)
		})
	}
}

// BenchmarkStart measures Start to the first result of a worker with small
// rings, then Close; its baseline, in the same run, is the same binary
// started and waited for as it exits at once, after package initialisation
// (what any process of this binary costs before it can do anything).
//
//	go test -run='^$' -bench='^BenchmarkStart$' -count=3 ./worker/
func BenchmarkStart(b *testing.B) {
	ctx := context.Background()
	b.Run("worker", func(b *testing.B) {
		for b.Loop() {
			h, err := worker.Start(ctx, worker.Config{Func: "echo", RingSize: 64 << 10})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := h.Execute(ctx, []byte("x")); err != nil {
				b.Fatal(err)
			}
			if err := h.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("exec-and-exit", func(b *testing.B) {
		exe, err := os.Executable()
		require.NoError(b, err)
		for b.Loop() {
			cmd := exec.Command(exe, "-test.run=^$")
			cmd.Env = append(os.Environ(), benchChildEnv+"=exit")
			if err := cmd.Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
