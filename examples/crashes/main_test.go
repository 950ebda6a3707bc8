package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/internal/testutil"
	"github.com/shmpool/shmpool/worker"
)

// The workers are this test binary, re-executed: TestMain calls worker.Main
// as main does, and init registers parse in both processes.
func TestMain(m *testing.M) {
	worker.Main()
	testutil.Main(m, nil)
}

// TestRun checks the report on the built-in records: each failing record
// fails with the kind of error its bug causes, every other record is
// parsed, and the run succeeds.
func TestRun(t *testing.T) {
	var stdout bytes.Buffer
	var stderr testutil.LockedBuffer
	err := run(context.Background(), []string{"-timeout", "500ms"}, &stdout, &stderr)
	require.NoError(t, err, "stderr:\n%s", stderr.String())
	report := stdout.String()

	summary, rest, _ := strings.Cut(report, "\n")
	assert.Equal(t, "14 records: 9 parsed, 5 failed", summary, "summary line")

	failed, parsed, ok := strings.Cut(strings.TrimPrefix(rest, "\n"), "\n\n")
	require.True(t, ok, "no blank line between the failed and the parsed tables:\n%s", report)
	assert.Equal(t, []string{
		"FAILED  RECORD      CAUSE",
		"2       depth=3mi   panic, worker lived on: runtime error: invalid memory address or nil pointer dereference",
		`4       mass        error: no '=' in "mass"`,
		"6       speed=segv  worker process died: exit status 2, signal SIGSEGV: segmentation violation",
		"9       wait=hang   timeout: worker killed and replaced",
		`11      width=abc   error: "abc" does not start with a number`,
	}, lines(failed), "failed records")
	assert.Equal(t, []string{
		"PARSED  RECORD        RESULT",
		"0       height=180cm  height: 1.8 m",
		"1       width=2m      width: 2 m",
		"3       length=12km   length: 12000 m",
		"5       depth=40cm    depth: 0.4 m",
		"7       width=7m      width: 7 m",
		"8       height=1km    height: 1000 m",
		"10      length=5cm    length: 0.05 m",
		"12      depth=9m      depth: 9 m",
		"13      height=2km    height: 2000 m",
	}, lines(parsed), "parsed records")

	// The worker that faulted wrote Go's crash report to stderr.
	assert.Contains(t, stderr.String(), "[signal SIGSEGV: segmentation violation",
		"the crashed worker's report should name the signal")
}

// TestRunArgs checks that records given as arguments replace the built-in
// ones.
func TestRunArgs(t *testing.T) {
	var stdout bytes.Buffer
	var stderr testutil.LockedBuffer
	err := run(context.Background(), []string{"-workers", "1", "-retries", "0", "a=1m", "b=segv", "c=2cm"}, &stdout, &stderr)
	require.NoError(t, err, "stderr:\n%s", stderr.String())
	assert.Equal(t, []string{
		"3 records: 2 parsed, 1 failed",
		"",
		"FAILED  RECORD  CAUSE",
		"1       b=segv  worker process died: exit status 2, signal SIGSEGV: segmentation violation",
		"",
		"PARSED  RECORD  RESULT",
		"0       a=1m    a: 1 m",
		"2       c=2cm   c: 0.02 m",
	}, lines(stdout.String()))
}

func TestRunBadFlag(t *testing.T) {
	var stdout bytes.Buffer
	var stderr testutil.LockedBuffer
	err := run(context.Background(), []string{"-workers=many"}, &stdout, &stderr)
	require.Error(t, err)
	assert.Contains(t, stderr.String(), "invalid value", "the flag error goes to stderr")
	assert.Empty(t, stdout.String(), "no report without a run")
}

func lines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }
