package main

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/unix"
)

// Schema names the JSON format below; a change that is not an addition
// gets a new name.
const Schema = "shmbench/v1"

// Report is what -json writes (see the package documentation).
type Report struct {
	Schema  string       `json:"schema"` // always Schema
	Machine Machine      `json:"machine"`
	Config  RunConfig    `json:"config"`
	Started time.Time    `json:"started"` // UTC, RFC 3339
	Results []Result     `json:"results"` // one per transport and size, in the order measured
	Pool    []PoolResult `json:"pool"`    // one per pool kind and worker count
}

// Machine names the machine the figures were taken on.
type Machine struct {
	CPU        string `json:"cpu"`    // model name from /proc/cpuinfo
	Cores      int    `json:"cores"`  // runtime.NumCPU
	Kernel     string `json:"kernel"` // uname: system and release
	Go         string `json:"go"`     // runtime.Version
	GOOS       string `json:"goos"`
	GOARCH     string `json:"goarch"`
	GOMAXPROCS int    `json:"gomaxprocs"`
}

// RunConfig is what was asked for.
type RunConfig struct {
	Sizes        []int    `json:"sizes"`          // message sizes, bytes
	Transports   []string `json:"transports"`     // shm, ring, pipe, unix, gob, chan
	DurationNS   int64    `json:"duration_ns"`    // per measurement
	Workers      []int    `json:"workers"`        // worker counts of the pool comparison
	PoolItemSize int      `json:"pool_item_size"` // bytes per Pool.Map item
}

// Result is one transport at one message size.
type Result struct {
	Transport string `json:"transport"`
	Size      int    `json:"size"` // bytes per message

	// Round trip of an echo, nanoseconds, from an HDR histogram (3
	// significant digits).
	RTCount  int64   `json:"rt_count"`
	RTP50NS  float64 `json:"rt_p50_ns"`
	RTP99NS  float64 `json:"rt_p99_ns"`
	RTP999NS float64 `json:"rt_p999_ns"`
	RTMeanNS float64 `json:"rt_mean_ns"`
	// RTVsPipe is the pipe's p50 divided by this p50 at the same size:
	// how many times faster (> 1) or slower (< 1) than the pipe.
	RTVsPipe float64 `json:"rt_vs_pipe,omitempty"`

	// One-way streaming: StreamMsgs messages in StreamNS nanoseconds,
	// until the receiver had counted them all.
	StreamMsgs      uint64  `json:"stream_msgs"`
	StreamNS        int64   `json:"stream_ns"`
	StreamMsgsPerS  float64 `json:"stream_msgs_per_s"`
	StreamBytesPerS float64 `json:"stream_bytes_per_s"`
	// StreamVsPipe is this throughput divided by the pipe's at the same size.
	StreamVsPipe float64 `json:"stream_vs_pipe,omitempty"`
}

// PoolResult is Pool.Map (kind "shm") or the gob-over-pipe pool (kind
// "gob") with some number of workers.
type PoolResult struct {
	Kind      string  `json:"kind"`
	Workers   int     `json:"workers"`
	Items     uint64  `json:"items"`
	ElapsedNS int64   `json:"elapsed_ns"`
	ItemsPerS float64 `json:"items_per_s"`
	// VsGob is ItemsPerS divided by the gob pool's with as many workers.
	VsGob float64 `json:"vs_gob,omitempty"`
}

// ratios fills in the comparisons with the baselines.
func (r *Report) ratios() {
	pipe := map[int]Result{}
	for _, res := range r.Results {
		if res.Transport == "pipe" {
			pipe[res.Size] = res
		}
	}
	for i := range r.Results {
		res := &r.Results[i]
		if p, ok := pipe[res.Size]; ok {
			if res.RTP50NS > 0 {
				res.RTVsPipe = p.RTP50NS / res.RTP50NS
			}
			if p.StreamMsgsPerS > 0 {
				res.StreamVsPipe = res.StreamMsgsPerS / p.StreamMsgsPerS
			}
		}
	}
	gobs := map[int]float64{}
	for _, p := range r.Pool {
		if p.Kind == "gob" {
			gobs[p.Workers] = p.ItemsPerS
		}
	}
	for i := range r.Pool {
		if g := gobs[r.Pool[i].Workers]; g > 0 {
			r.Pool[i].VsGob = r.Pool[i].ItemsPerS / g
		}
	}
}

func machineInfo() Machine {
	m := Machine{
		CPU: "unknown CPU", Cores: runtime.NumCPU(), Kernel: runtime.GOOS, Go: runtime.Version(),
		GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, GOMAXPROCS: runtime.GOMAXPROCS(0),
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		s := bufio.NewScanner(f)
		for s.Scan() {
			if k, v, ok := strings.Cut(s.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:])
	}
	return m
}

func writeJSON(path string, r *Report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// writeTable prints the report as aligned text tables.
func writeTable(out io.Writer, r *Report) error {
	var buf bytes.Buffer
	if err := writeTables(&buf, r); err != nil {
		return err
	}
	// The right-aligned columns leave trailing blanks: cut them.
	lines := strings.Split(buf.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	_, err := io.WriteString(out, strings.Join(lines, "\n"))
	return err
}

func writeTables(w io.Writer, r *Report) error {
	m := r.Machine
	fmt.Fprintf(w, "shmbench: %s, %d cores, %s, %s %s/%s (GOMAXPROCS %d)\n", m.CPU, m.Cores, m.Kernel, m.Go, m.GOOS, m.GOARCH, m.GOMAXPROCS)
	fmt.Fprintf(w, "%v per measurement; ratios are to the pipe at the same size (higher is better)\n\n", time.Duration(r.Config.DurationNS))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "size\ttransport\tRT p50\tp99\tp99.9\tvs pipe\t\tstream msgs/s\tbytes/s\tvs pipe\t")
	// Measured transport by transport; shown size by size, so that each
	// transport sits next to the pipe it is compared with.
	rows := slices.Clone(r.Results)
	slices.SortStableFunc(rows, func(a, b Result) int { return cmp.Compare(a.Size, b.Size) })
	for i, res := range rows {
		if i > 0 && res.Size != rows[i-1].Size {
			fmt.Fprintln(tw, "\t\t\t\t\t\t\t\t\t\t")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\t%s\t%s\t%s\t\n", sizeName(res.Size), res.Transport,
			fmtNS(res.RTP50NS), fmtNS(res.RTP99NS), fmtNS(res.RTP999NS), fmtRatio(res.RTVsPipe),
			fmtSI(res.StreamMsgsPerS, ""), fmtSI(res.StreamBytesPerS, "B"), fmtRatio(res.StreamVsPipe))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Pool) > 0 {
		fmt.Fprintf(w, "\nPool.Map, %s items (CRC-32C each), against a pool of gob-over-pipe children\n\n", sizeName(r.Config.PoolItemSize))
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "workers\tshm items/s\tgob items/s\tshm vs gob\t")
		byN := map[int][2]float64{}
		var order []int
		for _, p := range r.Pool {
			v, seen := byN[p.Workers]
			if !seen {
				order = append(order, p.Workers)
			}
			if p.Kind == "shm" {
				v[0] = p.ItemsPerS
			} else {
				v[1] = p.ItemsPerS
			}
			byN[p.Workers] = v
		}
		for _, n := range order {
			v := byN[n]
			ratio := 0.0
			if v[1] > 0 {
				ratio = v[0] / v[1]
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t\n", n, fmtSI(v[0], ""), fmtSI(v[1], ""), fmtRatio(ratio))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// fmtNS formats nanoseconds with three significant digits.
func fmtNS(ns float64) string {
	switch {
	case ns <= 0:
		return "-"
	case ns < 1e3:
		return fmt.Sprintf("%.0fns", ns)
	case ns < 1e6:
		return sig3(ns/1e3) + "µs"
	case ns < 1e9:
		return sig3(ns/1e6) + "ms"
	}
	return sig3(ns/1e9) + "s"
}

func sig3(v float64) string {
	switch {
	case v < 10:
		return fmt.Sprintf("%.2f", v)
	case v < 100:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// fmtSI formats a rate with k, M, G prefixes (decimal).
func fmtSI(v float64, unit string) string {
	switch {
	case v <= 0:
		return "-"
	case v < 1e3:
		return sig3(v) + unit
	case v < 1e6:
		return sig3(v/1e3) + "k" + unit
	case v < 1e9:
		return sig3(v/1e6) + "M" + unit
	}
	return sig3(v/1e9) + "G" + unit
}

func fmtRatio(r float64) string {
	if r <= 0 {
		return "-"
	}
	return sig3(r) + "x"
}
