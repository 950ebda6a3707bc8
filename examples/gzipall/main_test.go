package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/internal/testutil"
	"github.com/shmpool/shmpool/worker"
)

// The workers are this test binary, re-executed: TestMain calls worker.Main
// as main does, and init registers gzip in both processes.
func TestMain(m *testing.M) {
	worker.Main()
	testutil.Main(m, nil)
}

// tree writes a small directory tree of files of several kinds and sizes
// and returns its path and the files' contents by relative path.
func tree(t *testing.T) (string, map[string][]byte) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 300<<10)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	files := map[string][]byte{
		"text.txt":            bytes.Repeat([]byte("all work and no play makes jack a dull boy\n"), 5000),
		"sub/random.bin":      random, // incompressible, and larger than a batched item
		"sub/deeper/empty":    nil,
		"sub/deeper/small.go": []byte("package main\n\nfunc main() {}\n"),
	}
	for i := range 40 { // many small items, so the pool batches some
		files[filepath.Join("many", strings.Repeat("x", i+1))] = bytes.Repeat([]byte{byte('a' + i%26)}, 100*i)
	}
	dir := t.TempDir()
	for name, data := range files {
		path := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, data, 0o644))
	}
	return dir, files
}

// TestRun compresses a tree into -out and checks that every file, and only
// those, has a .gz that decompresses to it, and that the summary, the
// status table and the status lines are printed.
func TestRun(t *testing.T) {
	dir, files := tree(t)
	out := t.TempDir()
	var stdout bytes.Buffer
	var stderr testutil.LockedBuffer
	err := run(context.Background(), []string{"-dir", dir, "-out", out, "-workers", "2", "-interval", "10ms"}, &stdout, &stderr)
	require.NoError(t, err, "stderr:\n%s", stderr.String())

	got := map[string][]byte{}
	require.NoError(t, filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(out, path)
		require.NoError(t, err)
		name, ok := strings.CutSuffix(rel, ".gz")
		require.True(t, ok, "%s in -out does not end in .gz", rel)
		got[name] = gunzip(t, path)
		return nil
	}))
	require.Len(t, got, len(files), "one .gz per input file")
	for name, want := range files {
		assert.Equal(t, len(want), len(got[name]), "%s: decompressed size", name)
		assert.True(t, bytes.Equal(want, got[name]), "%s: decompressed content differs from the input", name)
	}

	report := stdout.String()
	summary := `^44 files, ` + regexp.QuoteMeta(size(total(files))) + ` -> [\d.]+ KiB \([\d.]+%\) in \S+ \(workers: 2\)\n\n`
	assert.Regexp(t, summary, report, "summary")
	table := strings.Split(strings.TrimSpace(report), "\n")[2:]
	require.Len(t, table, 4, "status table: header, two workers, total:\n%s", report)
	assert.Regexp(t, `^PID +STATE +FUNC +UPTIME +TASKS`, table[0])
	assert.Regexp(t, `^TOTAL +\S+ +gzip +\S+ +44 +0 +0 `, table[3], "the total row counts every file, no error")
	// At least the last status line, printed when the work is done.
	assert.Regexp(t, regexp.MustCompile(`(?m)^ +[\d.]+s +44 files +\d+ files/s +queued +0 +restarts 0 \| w0 eff +\d+% starved +\d+% \| w1 eff`), stderr.String(), "status lines")
}

// TestRunCountOnly checks that without -out nothing is written and the
// bytes are counted.
func TestRunCountOnly(t *testing.T) {
	dir, files := tree(t)
	before := countFiles(t, dir)
	var stdout bytes.Buffer
	var stderr testutil.LockedBuffer
	err := run(context.Background(), []string{"-dir", dir, "-workers", "1", "-level", "1"}, &stdout, &stderr)
	require.NoError(t, err, "stderr:\n%s", stderr.String())
	assert.Regexp(t, `^44 files, `+regexp.QuoteMeta(size(total(files)))+` -> `, stdout.String())
	assert.Equal(t, before, countFiles(t, dir), "files were written into -dir without -out")
}

func TestRunBadLevel(t *testing.T) {
	dir, _ := tree(t)
	var stdout bytes.Buffer
	var stderr testutil.LockedBuffer
	err := run(context.Background(), []string{"-dir", dir, "-workers", "1", "-level", "42"}, &stdout, &stderr)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "invalid compression level", "the factory's error")
	assert.Empty(t, stdout.String())
}

func total(files map[string][]byte) int {
	n := 0
	for _, data := range files {
		n += len(data)
	}
	return n
}

func gunzip(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err, "%s is not gzip", path)
	data, err := io.ReadAll(zr)
	require.NoError(t, err, "%s does not decompress", path)
	return data
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	require.NoError(t, filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	}))
	return n
}
