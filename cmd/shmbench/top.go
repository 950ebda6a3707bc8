package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shmpool/shmpool/status"
	"github.com/shmpool/shmpool/worker"
)

// segmentPrefix starts the /proc/PID/fd link of a shmpool segment: a memfd
// named with shm.NamePrefix ("shmpool:").
const segmentPrefix = "/memfd:shmpool:"

func runTop(args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("shmbench top", flag.ContinueOnError)
	fset.SetOutput(stderr)
	once := fset.Bool("once", false, "print one table and exit")
	interval := fset.Duration("interval", time.Second, "time between refreshes")
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: shmbench top [-once] [-interval D] PID\n\nper-worker status of the shmpool program PID, read from its shared memory")
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fset.NArg() != 1 || *interval <= 0 {
		fset.Usage()
		return exitUsage
	}
	pid, err := strconv.Atoi(fset.Arg(0))
	if err != nil || pid <= 0 {
		fmt.Fprintf(stderr, "shmbench top: bad pid %q\n", fset.Arg(0))
		fset.Usage()
		return exitUsage
	}
	var prev map[string]status.Snapshot
	var prevAt time.Time
	for {
		snaps, err := inspectProcess(pid)
		if err != nil {
			fmt.Fprintln(stderr, "shmbench top:", err)
			return exitFail
		}
		now := time.Now()
		if !*once {
			fmt.Fprint(stdout, "\x1b[H\x1b[2J") // home, clear screen
		}
		fmt.Fprintf(stdout, "shmbench top: pid %d, %d workers, %s\n\n", pid, len(snaps), now.Format(time.TimeOnly))
		writeTop(stdout, snaps, prev, now.Sub(prevAt))
		if *once {
			return exitOK
		}
		prev, prevAt = map[string]status.Snapshot{}, now
		for _, s := range snaps {
			prev[snapKey(s)] = s
		}
		time.Sleep(*interval)
	}
}

// snapKey tells a worker process apart from a later one with the same pid.
func snapKey(s status.Snapshot) string {
	return fmt.Sprintf("%d@%d", s.PID, s.Started.UnixNano())
}

// inspectProcess reads the status of every worker segment process pid
// holds. A process with no segment, or that cannot be looked at, is an
// error with a one-line message.
func inspectProcess(pid int) ([]status.Snapshot, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("no process with pid %d", pid)
	case errors.Is(err, fs.ErrPermission):
		return nil, fmt.Errorf("no permission to read the descriptors of process %d (run as its user or as root)", pid)
	case err != nil:
		return nil, fmt.Errorf("process %d: %v", pid, err)
	}
	var snaps []status.Snapshot
	var lastErr error
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		link, err := os.Readlink(p)
		if err != nil || !strings.HasPrefix(link, segmentPrefix) {
			continue
		}
		s, err := worker.Inspect(p)
		if err != nil {
			// The descriptor may have been closed since ReadDir (a worker
			// exiting), or belong to another build: skip it.
			lastErr = err
			continue
		}
		snaps = append(snaps, s)
	}
	if len(snaps) == 0 {
		if errors.Is(lastErr, fs.ErrPermission) {
			return nil, fmt.Errorf("no permission to map the shared memory of process %d (run as its user or as root)", pid)
		}
		if lastErr != nil {
			return nil, fmt.Errorf("process %d has no readable shmpool segments: %v", pid, lastErr)
		}
		return nil, fmt.Errorf("process %d has no shmpool segments (is it a shmpool program with workers running?)", pid)
	}
	sort.SliceStable(snaps, func(i, j int) bool { return snaps[i].Started.Before(snaps[j].Started) })
	return snaps, nil
}

// writeTop prints one row per worker; rates are since prev, taken dt ago
// (or over the worker's uptime on the first table).
func writeTop(w io.Writer, snaps []status.Snapshot, prev map[string]status.Snapshot, dt time.Duration) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "pid\tstate\tfunc\ttasks\ttasks/s\tbytes/s\tefficiency\tstarvation\tuptime\t")
	rate := func(now, before uint64, s status.Snapshot, p status.Snapshot, ok bool) float64 {
		if ok && dt > 0 && now >= before {
			return float64(now-before) / dt.Seconds()
		}
		if s.Uptime > 0 {
			return float64(now) / s.Uptime.Seconds()
		}
		return 0
	}
	rows := snaps
	if len(snaps) > 1 {
		rows = append(slices.Clone(snaps), status.Sum(snaps...))
	}
	for _, s := range rows {
		p, ok := prev[snapKey(s)]
		pid := strconv.Itoa(s.PID)
		if s.PID == 0 {
			pid = "TOTAL"
			var tp []status.Snapshot
			for _, x := range snaps {
				if q, found := prev[snapKey(x)]; found {
					tp = append(tp, q)
				}
			}
			p, ok = status.Sum(tp...), len(tp) == len(snaps) && len(tp) > 0
		}
		fn := s.Func
		if fn == "" {
			fn = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%.1f%%\t%.1f%%\t%s\t\n", pid, s.State, fn, s.Tasks,
			fmtSI(rate(s.Tasks, p.Tasks, s, p, ok), ""),
			fmtSI(rate(s.BytesIn+s.BytesOut, p.BytesIn+p.BytesOut, s, p, ok), "B"),
			100*s.Efficiency(), 100*s.Starvation(), s.Uptime.Round(time.Second))
	}
	tw.Flush()
}
