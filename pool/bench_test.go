package pool_test

import (
	"bufio"
	"context"
	"encoding/gob"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"testing"

	"github.com/shmpool/shmpool/internal/testutil"
	"github.com/shmpool/shmpool/pool"
	"github.com/shmpool/shmpool/worker"
)

// The benchmarks map identity functions over items of 8 B, 64 B and
// 64 KiB with 1, 2, 4 and 8 workers. One op is one Map call over a chunk of
// items (16384 small or 256 large ones; fewer for the slow baselines);
// items/s and ns/item are reported, and MB/s counts the input. Baselines in
// the same file, with the same sizes and worker counts: pools of child
// processes exchanging gob-encoded []byte over pipes (what a Go programmer
// writes without shmpool), as most would write it (BenchmarkMapGobPipe: one
// write system call per message) and tuned (BenchmarkMapGobPipeBuffered),
// and a pool of goroutines fed by a channel (no process isolation at all).
//
//	go test -run='^$' -bench='^BenchmarkMap' -benchtime=30x -count=3 ./pool/
var (
	benchSizes   = []int{8, 64, 64 << 10}
	benchWorkers = []int{1, 2, 4, 8}
)

func sizeName(n int) string {
	if n >= 1<<10 {
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// benchChunk is how many items one Map call gets.
func benchChunk(size int) int {
	if size >= 16<<10 {
		return 256
	}
	return 16384
}

func benchItems(size int) [][]byte {
	ins := make([][]byte, benchChunk(size))
	for i := range ins {
		ins[i] = make([]byte, size)
		for j := range ins[i] {
			ins[i][j] = byte(i + j)
		}
	}
	return ins
}

// benchMap runs mapFn over chunks of items and reports throughput.
func benchMap(b *testing.B, size int, mapFn func([][]byte) ([][]byte, error)) {
	benchMapN(b, size, benchChunk(size), mapFn)
}

func benchMapN(b *testing.B, size, chunk int, mapFn func([][]byte) ([][]byte, error)) {
	ins := benchItems(size)[:chunk]
	b.SetBytes(int64(size * len(ins)))
	b.ReportAllocs()
	if _, err := mapFn(ins); err != nil { // warm up
		b.Fatal(err)
	}
	b.ResetTimer()
	n := 0
	for b.Loop() {
		outs, err := mapFn(ins)
		if err != nil {
			b.Fatal(err)
		}
		if len(outs) != len(ins) || len(outs[len(outs)-1]) != size {
			b.Fatalf("bad results")
		}
		n++
	}
	items := float64(n * len(ins))
	b.ReportMetric(items/b.Elapsed().Seconds(), "items/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/items, "ns/item")
}

func BenchmarkMap(b *testing.B) {
	for _, w := range benchWorkers {
		for _, size := range benchSizes {
			b.Run(fmt.Sprintf("workers=%d/size=%s", w, sizeName(size)), func(b *testing.B) {
				p, err := pool.New(context.Background(), pool.Config{Workers: w, Worker: worker.Config{Func: "echo"}})
				if err != nil {
					b.Fatal(err)
				}
				defer p.Close()
				benchMap(b, size, func(ins [][]byte) ([][]byte, error) { return p.Map(context.Background(), ins) })
			})
		}
	}
}

// BenchmarkMapUnbatched is BenchmarkMap with a function registered through
// worker.Register: one item per ring message.
func BenchmarkMapUnbatched(b *testing.B) {
	for _, w := range []int{1, 2, 8} {
		for _, size := range benchSizes {
			b.Run(fmt.Sprintf("workers=%d/size=%s", w, sizeName(size)), func(b *testing.B) {
				p, err := pool.New(context.Background(), pool.Config{Workers: w, Worker: worker.Config{Func: "echo-raw"}})
				if err != nil {
					b.Fatal(err)
				}
				defer p.Close()
				benchMapN(b, size, min(benchChunk(size), 2048), func(ins [][]byte) ([][]byte, error) {
					return p.Map(context.Background(), ins)
				})
			})
		}
	}
}

// BenchmarkMaxInFlight measures the pipeline depth, for the default.
func BenchmarkMaxInFlight(b *testing.B) {
	for _, fn := range []string{"echo", "echo-raw"} {
		for _, inflight := range []int{1, 2, 4, 8, 16, 32} {
			for _, size := range []int{64, 64 << 10} {
				b.Run(fmt.Sprintf("func=%s/inflight=%d/size=%s", fn, inflight, sizeName(size)), func(b *testing.B) {
					p, err := pool.New(context.Background(), pool.Config{Workers: 2, MaxInFlight: inflight, Worker: worker.Config{Func: fn}})
					if err != nil {
						b.Fatal(err)
					}
					defer p.Close()
					chunk := benchChunk(size)
					if fn == "echo-raw" {
						chunk = min(chunk, 2048)
					}
					benchMapN(b, size, chunk, func(ins [][]byte) ([][]byte, error) {
						return p.Map(context.Background(), ins)
					})
				})
			}
		}
	}
}

// BenchmarkDo is the latency of one item through an idle pool.
func BenchmarkDo(b *testing.B) {
	p, err := pool.New(context.Background(), pool.Config{Workers: 2, Worker: worker.Config{Func: "echo"}})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	in := make([]byte, 64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Do(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}

// --- baseline: gob over pipes ---

func init() {
	helpers["gobecho"] = gobEcho
	helpers["gobecho-plain"] = gobEchoPlain
}

// gobEchoPlain is the baseline child as most would write it: a gob decoder
// on stdin (gob buffers reads itself) and an encoder straight on stdout,
// one write per message.
func gobEchoPlain() {
	dec, enc := gob.NewDecoder(os.Stdin), gob.NewEncoder(os.Stdout)
	for {
		var b []byte
		if err := dec.Decode(&b); err != nil {
			os.Exit(0)
		}
		if err := enc.Encode(b); err != nil {
			os.Exit(1)
		}
	}
}

// gobEcho is the tuned baseline child: buffered both ways, flushing
// whenever its input runs dry, so messages share system calls.
func gobEcho() {
	r := bufio.NewReaderSize(os.Stdin, 1<<20)
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	dec, enc := gob.NewDecoder(r), gob.NewEncoder(w)
	for {
		var b []byte
		if err := dec.Decode(&b); err != nil {
			w.Flush()
			os.Exit(0)
		}
		if err := enc.Encode(b); err != nil {
			os.Exit(1)
		}
		if r.Buffered() == 0 {
			w.Flush()
		}
	}
}

type gobChild struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	buf *bufio.Writer // nil for the plain variant
	enc *gob.Encoder
	dec *gob.Decoder
}

// gobPool is the baseline pool: items go round-robin to the children, one
// goroutine writes and one reads per child.
type gobPool struct{ children []*gobChild }

func newGobPool(b *testing.B, n int, buffered bool) *gobPool {
	p := &gobPool{}
	helper := "gobecho-plain"
	if buffered {
		helper = "gobecho"
	}
	for range n {
		cmd := testutil.HelperCommand(b, helper)
		in, err := cmd.StdinPipe()
		if err != nil {
			b.Fatal(err)
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		c := &gobChild{cmd: cmd, in: in, enc: gob.NewEncoder(in), dec: gob.NewDecoder(out)}
		if buffered {
			c.buf = bufio.NewWriterSize(in, 1<<20)
			c.enc, c.dec = gob.NewEncoder(c.buf), gob.NewDecoder(bufio.NewReaderSize(out, 1<<20))
		}
		p.children = append(p.children, c)
	}
	b.Cleanup(func() {
		for _, c := range p.children {
			c.in.Close()
			c.cmd.Wait()
		}
	})
	return p
}

func (p *gobPool) Map(ins [][]byte) ([][]byte, error) {
	outs := make([][]byte, len(ins))
	errs := make([]error, 2*len(p.children))
	var wg sync.WaitGroup
	n := len(p.children)
	for k, c := range p.children {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := k; i < len(ins); i += n {
				if err := c.enc.Encode(ins[i]); err != nil {
					errs[2*k] = err
					return
				}
			}
			if c.buf != nil {
				errs[2*k] = c.buf.Flush()
			}
		}()
		go func() {
			defer wg.Done()
			for i := k; i < len(ins); i += n {
				if err := c.dec.Decode(&outs[i]); err != nil {
					errs[2*k+1] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return outs, nil
}

// BenchmarkMapGobPipe is the baseline as most would write it: one write
// system call per message each way.
func BenchmarkMapGobPipe(b *testing.B) {
	for _, w := range benchWorkers {
		for _, size := range benchSizes {
			b.Run(fmt.Sprintf("workers=%d/size=%s", w, sizeName(size)), func(b *testing.B) {
				p := newGobPool(b, w, false)
				benchMapN(b, size, min(benchChunk(size), 4096), p.Map)
			})
		}
	}
}

// BenchmarkMapGobPipeBuffered is the tuned baseline: buffered pipes, so
// messages share system calls.
func BenchmarkMapGobPipeBuffered(b *testing.B) {
	for _, w := range benchWorkers {
		for _, size := range benchSizes {
			b.Run(fmt.Sprintf("workers=%d/size=%s", w, sizeName(size)), func(b *testing.B) {
				p := newGobPool(b, w, true)
				benchMap(b, size, p.Map)
			})
		}
	}
}

// --- baseline: goroutines ---

type goroutinePool struct {
	jobs chan goroutineJob
	wg   sync.WaitGroup
}

type goroutineJob struct {
	in   []byte
	out  *[]byte
	done *sync.WaitGroup
}

func newGoroutinePool(b *testing.B, n int) *goroutinePool {
	p := &goroutinePool{jobs: make(chan goroutineJob, 1024)}
	fn := func(_ context.Context, in []byte) ([]byte, error) { return in, nil }
	for range n {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for j := range p.jobs {
				*j.out, _ = fn(context.Background(), j.in)
				j.done.Done()
			}
		}()
	}
	b.Cleanup(func() {
		close(p.jobs)
		p.wg.Wait()
	})
	return p
}

func (p *goroutinePool) Map(ins [][]byte) ([][]byte, error) {
	outs := make([][]byte, len(ins))
	var done sync.WaitGroup
	done.Add(len(ins))
	for i, in := range ins {
		p.jobs <- goroutineJob{in: in, out: &outs[i], done: &done}
	}
	done.Wait()
	return outs, nil
}

func BenchmarkMapGoroutines(b *testing.B) {
	for _, w := range benchWorkers {
		for _, size := range benchSizes {
			b.Run(fmt.Sprintf("workers=%d/size=%s", w, sizeName(size)), func(b *testing.B) {
				p := newGoroutinePool(b, w)
				benchMap(b, size, p.Map)
			})
		}
	}
}
