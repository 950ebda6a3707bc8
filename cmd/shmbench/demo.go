package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/shmpool/shmpool/pool"
	"github.com/shmpool/shmpool/worker"
)

// runDemo runs a small pool with a trickle of work for a while: something
// for `shmbench top` to look at (and for its test).
func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("shmbench demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	workers := fs.Int("workers", 2, "worker processes")
	hold := fs.Duration("hold", time.Minute, "how long to run")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: shmbench demo [-workers N] [-hold D]\n\nruns a pool of N workers doing a little work for D, and prints its pid and the workers' pids")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 || *workers < 1 || *hold <= 0 {
		fmt.Fprintln(stderr, "shmbench demo: bad arguments")
		fs.Usage()
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p, err := pool.New(ctx, pool.Config{Workers: *workers, Worker: worker.Config{Func: fnCRC}})
	if err != nil {
		fmt.Fprintln(stderr, "shmbench demo:", err)
		return exitFail
	}
	defer p.Close()
	var pids []string
	for _, s := range p.Status().Workers {
		pids = append(pids, fmt.Sprint(s.PID))
	}
	fmt.Fprintf(stdout, "demo: pid %d, %d workers: %s\n", os.Getpid(), *workers, strings.Join(pids, " "))
	items := make([][]byte, 256)
	for i := range items {
		items[i] = make([]byte, 1<<10)
	}
	ctx, cancel := context.WithTimeout(ctx, *hold)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return exitOK
		case <-tick.C:
		}
		if _, err := p.Map(ctx, items); err != nil && ctx.Err() == nil {
			fmt.Fprintln(stderr, "shmbench demo:", err)
			return exitFail
		}
	}
}
