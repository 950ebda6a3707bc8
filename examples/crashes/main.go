// Command crashes shows crash isolation: a pool of worker processes runs a
// parser with the bugs parsers of untrusted input have, and the program
// survives every one of them. An ordinary error and a panic come back as a
// *worker.RemoteError (the worker lives on); a memory fault Go cannot
// recover kills the worker process, which the pool replaces, retries the
// item once, and then fails it with a *worker.ExitError; a record that makes
// the parser hang is cut short by the pool's TaskTimeout. The other records
// are parsed, and the program prints a report and exits 0.
//
// Usage:
//
//	crashes [-workers n] [-retries n] [-timeout d] [record ...]
//
// A record is "key=<number><unit>", as in "width=2m"; without arguments a
// built-in list is parsed. See README.md.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/shmpool/shmpool/pool"
	"github.com/shmpool/shmpool/worker"
)

// records is the built-in input: mostly good records, and one of each bug.
var records = []string{
	"height=180cm", "width=2m", "depth=3mi", "length=12km", "mass", "depth=40cm",
	"speed=segv", "width=7m", "height=1km", "wait=hang", "length=5cm", "width=abc",
	"depth=9m", "height=2km",
}

// init registers the parser in the parent and in every worker (the same
// binary, re-executed).
func init() { pool.Register("parse", parse) }

func main() {
	worker.Main() // in a worker process this serves parse and never returns
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "crashes:", err)
		os.Exit(1)
	}
}

// run parses the records and writes the report to stdout. The workers'
// standard error, where a Go process that crashes writes its crash report,
// goes to stderr, which must be safe for concurrent writes: each worker
// writes to it from a goroutine of its own.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("crashes", flag.ContinueOnError)
	fs.SetOutput(stderr)
	workers := fs.Int("workers", 2, "worker processes")
	retries := fs.Int("retries", 1, "runs of a record again after its worker died")
	timeout := fs.Duration("timeout", time.Second, "time limit of one record")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ins := records
	if fs.NArg() > 0 {
		ins = fs.Args()
	}

	p, err := pool.New(ctx, pool.Config{
		Workers:     *workers,
		Retries:     *retries,
		TaskTimeout: *timeout,
		Worker:      worker.Config{Func: "parse", Stderr: stderr},
	})
	if err != nil {
		return err
	}
	defer p.Close()

	var parsed, failed []string
	items := func(yield func([]byte) bool) {
		for _, r := range ins {
			if !yield([]byte(r)) {
				return
			}
		}
	}
	for r := range p.Stream(ctx, items) {
		if r.Err != nil {
			failed = append(failed, fmt.Sprintf("%d\t%s\t%s", r.Index, ins[r.Index], cause(r.Err)))
			continue
		}
		parsed = append(parsed, fmt.Sprintf("%d\t%s\t%s", r.Index, ins[r.Index], r.Out))
	}
	fmt.Fprintf(stdout, "%d records: %d parsed, %d failed\n\n", len(ins), len(parsed), len(failed))
	if err := table(stdout, "FAILED\tRECORD\tCAUSE", failed); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	return table(stdout, "PARSED\tRECORD\tRESULT", parsed)
}

// table writes a header and tab-separated rows, aligned.
func table(w io.Writer, header string, rows []string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, r)
	}
	return tw.Flush()
}

// cause says in a few words why an item failed, by the kind of its error.
func cause(err error) string {
	var remote *worker.RemoteError
	var exit *worker.ExitError
	switch {
	case errors.As(err, &remote) && remote.Panic:
		return "panic, worker lived on: " + remote.Message
	case errors.As(err, &remote):
		return "error: " + remote.Message
	case errors.Is(err, worker.ErrTimeout):
		return "timeout: worker killed and replaced"
	case errors.As(err, &exit) && exit.Signal != 0:
		return fmt.Sprintf("worker process died: killed by %v", exit.Signal)
	case errors.As(err, &exit):
		// A Go program that crashes exits with status 2, after a crash
		// report on its standard error that names the signal; the
		// ExitError keeps the start of that report.
		msg := fmt.Sprintf("worker process died: exit status %d", exit.Code)
		if sig := crashSignal(exit.Stderr); sig != "" {
			msg += ", " + sig
		}
		return msg
	}
	return err.Error()
}

// crashSignal returns "signal SIGSEGV: segmentation violation" from the
// "[signal SIGSEGV: segmentation violation code=... addr=... pc=...]" line
// of a Go crash report, or "".
func crashSignal(stderr string) string {
	_, after, ok := strings.Cut(stderr, "[signal ")
	if !ok {
		return ""
	}
	sig, _, _ := strings.Cut(after, "\n")
	sig, _, _ = strings.Cut(sig, " code=")
	return "signal " + strings.TrimSuffix(sig, "]")
}

// units maps a unit to its size in centimetres. The parser's first bug is
// to trust that every unit is in it.
var units = map[string]*struct{ cm int }{"cm": {1}, "m": {100}, "km": {100_000}}

// parse parses a record "key=<number><unit>" and returns it in metres. It has
// four kinds of failure, as a parser of untrusted input may:
//   - bad input: an ordinary error;
//   - an unknown unit: a nil-pointer dereference, which Go turns into a
//     panic that the worker recovers (it lives on);
//   - the value "segv": a read of memory the process may not touch, as a
//     wild pointer in C code would do. Go cannot turn that into a panic
//     (runtime/debug.SetPanicOnFault is off, as it should be): the process
//     dies;
//   - the value "hang": it never returns.
func parse(_ context.Context, in []byte) ([]byte, error) {
	key, value, ok := bytes.Cut(in, []byte("="))
	if !ok {
		return nil, fmt.Errorf("no '=' in %q", in)
	}
	switch string(value) {
	case "segv":
		forbidden, err := syscall.Mmap(-1, 0, os.Getpagesize(), syscall.PROT_NONE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
		if err != nil {
			return nil, err
		}
		return []byte{forbidden[0]}, nil // SIGSEGV
	case "hang":
		time.Sleep(24 * time.Hour)
	}
	digits := bytes.IndexFunc(value, func(r rune) bool { return r < '0' || r > '9' })
	if digits <= 0 {
		return nil, fmt.Errorf("%q does not start with a number", value)
	}
	n, err := strconv.Atoi(string(value[:digits]))
	if err != nil {
		return nil, err
	}
	u := units[string(value[digits:])] // nil for an unknown unit
	return fmt.Appendf(nil, "%s: %s m", key, strconv.FormatFloat(float64(n*u.cm)/100, 'f', -1, 64)), nil
}
