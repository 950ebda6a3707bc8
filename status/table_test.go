package status_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/status"
)

var tableSnapshots = []status.Snapshot{
	{
		PID: 4242, State: status.Busy, Func: "resize",
		Uptime: time.Minute, Busy: 45 * time.Second, Waiting: 10 * time.Second,
		Tasks: 1200, Errors: 3, Panics: 1, BytesIn: 3 << 20, BytesOut: 1536,
	},
	{
		PID: 4243, State: status.Idle,
		Uptime: 30 * time.Second, Busy: 15 * time.Second, Waiting: 15 * time.Second,
		Tasks: 300, BytesIn: 512, BytesOut: 2 << 30,
	},
}

func TestWriteTable(t *testing.T) {
	t.Run("the header names every column", func(t *testing.T) {
		var sb strings.Builder
		require.NoError(t, status.WriteTable(&sb))
		lines := strings.Split(strings.TrimSuffix(sb.String(), "\n"), "\n")
		require.Len(t, lines, 1)
		assert.Equal(t, []string{
			"PID", "STATE", "FUNC", "UPTIME", "TASKS", "ERRORS", "PANICS", "BUSY", "WAITING",
			"EFFICIENCY", "UTILIZATION", "MEAN", "TASK", "BYTES", "IN", "BYTES", "OUT",
		}, strings.Fields(lines[0]))
	})
	t.Run("one snapshot gives one row and no total", func(t *testing.T) {
		var sb strings.Builder
		require.NoError(t, status.WriteTable(&sb, tableSnapshots[0]))
		lines := strings.Split(strings.TrimSuffix(sb.String(), "\n"), "\n")
		require.Len(t, lines, 2)
		assert.Equal(t, []string{
			"4242", "busy", "resize", "1m0s", "1200", "3", "1", "45s", "10s",
			"81.8%", "75.0%", "37.5ms", "3.0", "MiB", "1.5", "KiB",
		}, strings.Fields(lines[1]))
	})
	t.Run("several snapshots get a total row", func(t *testing.T) {
		var sb strings.Builder
		require.NoError(t, status.WriteTable(&sb, tableSnapshots...))
		lines := strings.Split(strings.TrimSuffix(sb.String(), "\n"), "\n")
		require.Len(t, lines, 4)
		assert.Equal(t, []string{
			"4243", "idle", "-", "30s", "300", "0", "0", "15s", "15s",
			"50.0%", "50.0%", "50ms", "512", "B", "2.0", "GiB",
		}, strings.Fields(lines[2]))
		assert.Equal(t, []string{
			"TOTAL", "busy", "-", "1m30s", "1500", "3", "1", "1m0s", "25s",
			"70.6%", "66.7%", "40ms", "3.0", "MiB", "2.0", "GiB",
		}, strings.Fields(lines[3]))
	})
	t.Run("columns are aligned", func(t *testing.T) {
		var sb strings.Builder
		require.NoError(t, status.WriteTable(&sb, tableSnapshots...))
		lines := strings.Split(strings.TrimSuffix(sb.String(), "\n"), "\n")
		col := strings.Index(lines[0], "TASKS")
		for _, l := range lines[1:] {
			assert.NotEqual(t, byte(' '), l[col], "a value starts under TASKS in %q", l)
			assert.Equal(t, byte(' '), l[col-1], "%q", l)
		}
	})
	t.Run("a function name cannot add columns or lines", func(t *testing.T) {
		var sb strings.Builder
		require.NoError(t, status.WriteTable(&sb, status.Snapshot{Func: "a\tb\nc"}))
		lines := strings.Split(strings.TrimSuffix(sb.String(), "\n"), "\n")
		require.Len(t, lines, 2)
		assert.Contains(t, lines[1], "a?b?c")
	})
	t.Run("a write error is returned", func(t *testing.T) {
		err := status.WriteTable(failingWriter{}, tableSnapshots...)
		assert.ErrorIs(t, err, errWrite)
	})
}

var errWrite = errors.New("disk full")

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errWrite }
