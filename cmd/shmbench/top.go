package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
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
		fmt.Fprintf(stdout, "shmbench top: pid %d, workers: %d, %s\n\n", pid, len(snaps), now.Format(time.TimeOnly))
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
	// A segment is found through a descriptor (/proc/PID/fd/N) or, for one
	// the process has mapped but no longer holds open, through its mapping
	// (/proc/PID/map_files/START-END, listed in /proc/PID/maps); each is
	// read once (same inode).
	paths := []string{}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if link, err := os.Readlink(p); err == nil && strings.HasPrefix(link, segmentPrefix) {
			paths = append(paths, p)
		}
	}
	if maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid)); err == nil {
		for _, line := range strings.Split(string(maps), "\n") {
			if f := strings.Fields(line); len(f) >= 6 && strings.HasPrefix(f[5], segmentPrefix) {
				paths = append(paths, fmt.Sprintf("/proc/%d/map_files/%s", pid, f[0]))
			}
		}
	}
	var snaps []status.Snapshot
	var lastErr error
	seen := map[uint64]bool{}
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				if seen[st.Ino] {
					continue
				}
				seen[st.Ino] = true
			}
		}
		s, err := worker.Inspect(p)
		if err != nil {
			// The descriptor may have been closed since it was listed (a
			// worker exiting), or belong to another build: skip it.
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

// writeTop prints one row per worker, and their total; rates are since
// prev, taken dt ago (over the worker's uptime for a worker not in prev).
func writeTop(w io.Writer, snaps []status.Snapshot, prev map[string]status.Snapshot, dt time.Duration) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "pid\tstate\tfunc\ttasks\ttasks/s\tbytes/s\tefficiency\tstarvation\tuptime\t")
	rate := func(now, before uint64, s status.Snapshot, seen bool) float64 {
		if seen && dt > 0 && now >= before {
			return float64(now-before) / dt.Seconds()
		}
		if s.Uptime > 0 {
			return float64(now) / s.Uptime.Seconds()
		}
		return 0
	}
	row := func(pid string, s status.Snapshot, tasksPerS, bytesPerS float64) {
		fn := s.Func
		if fn == "" {
			fn = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%.1f%%\t%.1f%%\t%s\t\n", pid, s.State, fn, s.Tasks,
			fmtSI(tasksPerS, ""), fmtSI(bytesPerS, "B"), 100*s.Efficiency(), 100*s.Starvation(), s.Uptime.Round(time.Second))
	}
	var sumTasks, sumBytes float64
	for _, s := range snaps {
		p, seen := prev[snapKey(s)]
		tps := rate(s.Tasks, p.Tasks, s, seen)
		bps := rate(s.BytesIn+s.BytesOut, p.BytesIn+p.BytesOut, s, seen)
		sumTasks += tps
		sumBytes += bps
		row(strconv.Itoa(s.PID), s, tps, bps)
	}
	if len(snaps) > 1 {
		// Uptime of the total is the workers' time added up.
		row("TOTAL", status.Sum(snaps...), sumTasks, sumBytes)
	}
	tw.Flush()
}
