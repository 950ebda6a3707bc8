package status

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// tableHeader names WriteTable's columns.
var tableHeader = []string{
	"PID", "STATE", "FUNC", "UPTIME", "TASKS", "ERRORS", "PANICS",
	"BUSY", "WAITING", "EFFICIENCY", "UTILIZATION", "MEAN TASK", "BYTES IN", "BYTES OUT",
}

// WriteTable writes snapshots to w as an aligned text table, one row per
// snapshot in the order given and, when there is more than one, a TOTAL row
// with their Sum. Durations are rounded to four significant digits, ratios
// shown as percentages and byte counts in IEC units (KiB, MiB, ...). A Func
// that is empty prints as "-", and characters that are not printable in it
// print as '?', so a worker cannot garble the table. It returns the first
// error writing to w.
func WriteTable(w io.Writer, ss ...Snapshot) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	rows := [][]string{tableHeader}
	for _, s := range ss {
		rows = append(rows, tableRow(strconv.Itoa(s.PID), s))
	}
	if len(ss) > 1 {
		rows = append(rows, tableRow("TOTAL", Sum(ss...)))
	}
	for _, row := range rows {
		if _, err := io.WriteString(tw, strings.Join(row, "\t")+"\n"); err != nil {
			return fmt.Errorf("status: write table: %w", err)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("status: write table: %w", err)
	}
	return nil
}

func tableRow(pid string, s Snapshot) []string {
	fn := sanitize([]byte(s.Func))
	if fn == "" {
		fn = "-"
	}
	return []string{
		pid,
		s.State.String(),
		fn,
		formatDuration(s.Uptime),
		strconv.FormatUint(s.Tasks, 10),
		strconv.FormatUint(s.Errors, 10),
		strconv.FormatUint(s.Panics, 10),
		formatDuration(s.Busy),
		formatDuration(s.Waiting),
		formatPercent(s.Efficiency()),
		formatPercent(s.Utilization()),
		formatDuration(s.MeanTask()),
		formatBytes(s.BytesIn),
		formatBytes(s.BytesOut),
	}
}

// formatDuration rounds d to four significant digits ("37.51ms",
// "1m2.35s") before formatting it.
func formatDuration(d time.Duration) string {
	unit := time.Duration(1)
	for limit := time.Duration(10000); d >= limit && unit < time.Second; limit *= 10 {
		unit *= 10
	}
	return d.Round(unit).String()
}

func formatPercent(r float64) string {
	return strconv.FormatFloat(100*r, 'f', 1, 64) + "%"
}

// formatBytes formats n in IEC units with one decimal ("1.5 MiB").
func formatBytes(n uint64) string {
	const units = "KMGTPE"
	if n < 1024 {
		return strconv.FormatUint(n, 10) + " B"
	}
	v, i := float64(n)/1024, 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[i:i+1] + "iB"
}
