// Command gzipall gzip-compresses every regular file under a directory in
// worker processes: a CPU-bound batch on a pool. The parent walks the
// directory and reads the files; the workers compress them, each file's
// bytes crossing to a worker and back through shared memory; the parent
// writes NAME.gz files under -out, or only counts the bytes when -out is
// empty. Once a second it prints a status line on stderr, read from the
// workers' shared counters (pool.Status, no message sent): files per second,
// and each worker's efficiency (busy / (busy + waiting for input)) and
// starvation (waiting / uptime). At the end it prints a summary and the
// workers' status table.
//
// Usage:
//
//	gzipall [-dir d] [-out d] [-workers n] [-level n] [-interval d]
//
// See README.md.
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shmpool/shmpool/pool"
	"github.com/shmpool/shmpool/status"
	"github.com/shmpool/shmpool/worker"
)

// maxFile is the largest file compressed; larger ones are skipped. A result
// must fit in worker.Config.MaxPayload (64 MiB by default), and gzip can
// make incompressible data slightly larger.
const maxFile = 32 << 20

// init registers the compressor in the parent and in every worker (the same
// binary, re-executed). The factory runs once in each worker, with the
// compression level as its static data.
func init() {
	pool.RegisterFactory("gzip", func(static []byte) (worker.Func, error) {
		level, err := strconv.Atoi(string(static))
		if err != nil {
			return nil, err
		}
		if _, err := gzip.NewWriterLevel(io.Discard, level); err != nil {
			return nil, err
		}
		return func(_ context.Context, in []byte) ([]byte, error) {
			// in aliases shared memory: gzip reads it before we return.
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, level)
			if _, err := zw.Write(in); err != nil {
				return nil, err
			}
			if err := zw.Close(); err != nil {
				return nil, err
			}
			return buf.Bytes(), nil
		}, nil
	})
}

func main() {
	worker.Main() // in a worker process this serves gzip and never returns
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gzipall:", err)
		os.Exit(1)
	}
}

// run compresses the files, prints status lines on stderr and the summary on
// stdout.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("gzipall", flag.ContinueOnError)
	fl.SetOutput(stderr)
	dir := fl.String("dir", ".", "directory to compress, recursively")
	out := fl.String("out", "", "directory for the .gz files; empty: only count the bytes")
	workers := fl.Int("workers", runtime.NumCPU(), "worker processes")
	level := fl.Int("level", gzip.DefaultCompression, "gzip level, -2 (Huffman only) to 9 (best)")
	interval := fl.Duration("interval", time.Second, "time between status lines")
	if err := fl.Parse(args); err != nil {
		return err
	}
	paths, err := regularFiles(*dir, stderr)
	if err != nil {
		return err
	}

	start := time.Now()
	p, err := pool.New(ctx, pool.Config{
		Workers: *workers,
		Worker:  worker.Config{Func: "gzip", Static: []byte(strconv.Itoa(*level))},
	})
	if err != nil {
		return err
	}
	defer p.Close()
	stop := statusLines(p, *interval, stderr)

	// The pool reads the items lazily, on this goroutine, as the loop
	// below asks for results: names[i] and sizes[i] describe item i.
	var names []string
	var sizes []int
	items := func(yield func([]byte) bool) {
		for _, path := range paths {
			data, err := os.ReadFile(path)
			if err != nil {
				fmt.Fprintln(stderr, "gzipall:", err)
				continue
			}
			names, sizes = append(names, path), append(sizes, len(data))
			if !yield(data) {
				return
			}
		}
	}
	var files, failed, bytesIn, bytesOut int
	for r := range p.Unordered(ctx, items) {
		if r.Index < 0 { // ctx ended
			stop()
			return r.Err
		}
		if r.Err == nil && *out != "" {
			r.Err = write(*out, *dir, names[r.Index], r.Out)
		}
		if r.Err != nil {
			fmt.Fprintf(stderr, "gzipall: %s: %v\n", names[r.Index], r.Err)
			failed++
			continue
		}
		files, bytesIn, bytesOut = files+1, bytesIn+sizes[r.Index], bytesOut+len(r.Out)
	}
	st := p.Status()
	stop()

	elapsed := time.Since(start)
	fmt.Fprintf(stdout, "%d files, %s -> %s (%.1f%%) in %v (workers: %d)",
		files, size(bytesIn), size(bytesOut), 100*float64(bytesOut)/float64(max(bytesIn, 1)),
		elapsed.Round(time.Millisecond), *workers)
	if failed > 0 {
		fmt.Fprintf(stdout, "; %d failed", failed)
	}
	fmt.Fprintln(stdout)
	fmt.Fprintln(stdout)
	if err := status.WriteTable(stdout, st.Workers...); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d files failed", failed)
	}
	return nil
}

// regularFiles returns the regular files under dir, skipping (with a word
// on stderr) those larger than maxFile.
func regularFiles(dir string, stderr io.Writer) ([]string, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() > maxFile {
			fmt.Fprintf(stderr, "gzipall: %s: skipped, larger than %s\n", path, size(maxFile))
			return nil
		}
		paths = append(paths, path)
		return nil
	})
	return paths, err
}

// write writes data as out/REL.gz, where REL is path relative to dir.
func write(out, dir, path string, data []byte) error {
	rel, err := filepath.Rel(dir, path)
	if err != nil {
		return err
	}
	dst := filepath.Join(out, rel+".gz")
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}

// statusLines prints a status line on w every interval until the returned
// function is called; that call prints a last line and returns once the
// printing has stopped.
func statusLines(p *pool.Pool, interval time.Duration, w io.Writer) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		start, last := time.Now(), p.Status().Total
		lastAt := start
		line := func(now time.Time) {
			st := p.Status()
			rate := float64(st.Total.Tasks-last.Tasks) / now.Sub(lastAt).Seconds()
			var b strings.Builder
			fmt.Fprintf(&b, "%5.1fs %7d files %6.0f files/s  queued %4d  restarts %d",
				now.Sub(start).Seconds(), st.Total.Tasks, rate, st.Queued, st.Restarts)
			for i, s := range st.Workers {
				fmt.Fprintf(&b, " | w%d eff %3.0f%% starved %3.0f%%", i, 100*s.Efficiency(), 100*s.Starvation())
			}
			fmt.Fprintln(w, b.String())
			last, lastAt = st.Total, now
		}
		for {
			select {
			case now := <-ticker.C:
				line(now)
			case <-done:
				line(time.Now())
				return
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done); wg.Wait() })
	}
}

// size formats a byte count.
func size(n int) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
