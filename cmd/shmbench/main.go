package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/shmpool/shmpool/worker"
)

func main() {
	worker.Main() // in a worker process this never returns
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// allTransports is every transport, in table order.
var allTransports = []string{"shm", "ring", "pipe", "unix", "gob", "chan"}

// options are the benchmark's flags.
type options struct {
	sizes      []int
	transports []string
	duration   time.Duration
	workers    []int
	jsonPath   string
	plotPath   string
	cpuProfile string
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "top":
			return runTop(args[1:], stdout, stderr)
		case "demo":
			return runDemo(args[1:], stdout, stderr)
		}
	}
	opts, code := parseFlags(args, stderr)
	if code >= 0 {
		return code
	}
	if opts.cpuProfile != "" {
		f, err := os.Create(opts.cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "shmbench:", err)
			return exitFail
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "shmbench:", err)
			return exitFail
		}
		defer pprof.StopCPUProfile()
	}
	rep, err := benchmark(opts, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "shmbench:", err)
		return exitFail
	}
	if err := writeTable(stdout, rep); err != nil {
		fmt.Fprintln(stderr, "shmbench:", err)
		return exitFail
	}
	if opts.jsonPath != "" {
		if err := writeJSON(opts.jsonPath, rep); err != nil {
			fmt.Fprintln(stderr, "shmbench:", err)
			return exitFail
		}
	}
	if opts.plotPath != "" {
		if err := writePlot(opts.plotPath, rep); err != nil {
			fmt.Fprintln(stderr, "shmbench:", err)
			return exitFail
		}
	}
	return exitOK
}

// parseFlags returns the options, or an exit code >= 0 when the program
// must stop (usage printed).
func parseFlags(args []string, stderr io.Writer) (options, int) {
	fs := flag.NewFlagSet("shmbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sizes := fs.String("sizes", "64B,4KiB,64KiB,1MiB", "message `sizes`, comma-separated (B, KiB, MiB suffixes)")
	transports := fs.String("transports", strings.Join(allTransports, ","), "`transports` to measure, comma-separated: "+strings.Join(allTransports, ", "))
	workers := fs.String("workers", "1,2,4", "worker `counts` for the Pool.Map comparison, comma-separated; empty or 0 skips it")
	o := options{}
	fs.DurationVar(&o.duration, "duration", 500*time.Millisecond, "time per measurement")
	fs.StringVar(&o.jsonPath, "json", "", "write the results as JSON (schema shmbench/v1) to `file`")
	fs.StringVar(&o.plotPath, "plot", "", "write latency and throughput against size as SVG to `file`")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write this process's CPU profile to `file`")
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: shmbench [flags]          benchmark shmpool against pipes, sockets, gob, channels
       shmbench top [-once] PID  live per-worker status of a running shmpool program
       shmbench demo [-workers N] [-hold D]  run a small pool (a target for top)

flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, exitOK
		}
		return o, exitUsage
	}
	usage := func(format string, a ...any) (options, int) {
		fmt.Fprintf(stderr, "shmbench: "+format+"\n", a...)
		fs.Usage()
		return o, exitUsage
	}
	if fs.NArg() > 0 {
		return usage("unexpected argument %q", fs.Arg(0))
	}
	if o.duration <= 0 {
		return usage("-duration must be positive")
	}
	var err error
	if o.sizes, err = parseSizes(*sizes); err != nil {
		return usage("-sizes: %v", err)
	}
	for _, t := range splitList(*transports) {
		if !contains(allTransports, t) {
			return usage("-transports: unknown transport %q", t)
		}
		if !contains(o.transports, t) {
			o.transports = append(o.transports, t)
		}
	}
	if len(o.transports) == 0 {
		return usage("-transports: none given")
	}
	for _, w := range splitList(*workers) {
		n, err := strconv.Atoi(w)
		if err != nil || n < 0 || n > 256 {
			return usage("-workers: bad count %q", w)
		}
		if n > 0 {
			o.workers = append(o.workers, n)
		}
	}
	return o, -1
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// maxSize bounds -sizes: every transport keeps a few buffers of this size.
const maxSize = 64 << 20

// parseSizes parses "64B,4KiB,1MiB" (also plain numbers, K/KB/M/MB taken
// as binary units).
func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		n, err := parseSize(f)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("no size given")
	}
	return out, nil
}

func parseSize(f string) (int, error) {
	num := strings.TrimRightFunc(f, func(r rune) bool { return r < '0' || r > '9' })
	unit := strings.ToLower(f[len(num):])
	mult := 0
	switch unit {
	case "", "b":
		mult = 1
	case "k", "kb", "kib":
		mult = 1 << 10
	case "m", "mb", "mib":
		mult = 1 << 20
	}
	n, err := strconv.Atoi(num)
	if err != nil || mult == 0 || n <= 0 || n > maxSize/mult {
		return 0, fmt.Errorf("bad size %q (want 1B to 64MiB, e.g. 64B, 4KiB, 1MiB)", f)
	}
	return n * mult, nil
}

// sizeName formats a size the way -sizes takes it.
func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + "MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}
