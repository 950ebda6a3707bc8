package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/internal/testutil"
)

// The tests build shmbench with `go build` and run the binary, as a user
// would: the benchmark's children and workers are that binary re-executed.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// shmbench returns the path of the binary, built once per test run.
func shmbench(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "shmbench-test-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "shmbench")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New("go build: " + err.Error() + "\n" + string(out))
		}
	})
	require.NoError(t, buildErr)
	return binPath
}

// result is one run of the binary.
type result struct {
	code           int
	stdout, stderr string
}

func runBin(t *testing.T, timeout time.Duration, args ...string) result {
	t.Helper()
	cmd := exec.Command(shmbench(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-done
		t.Fatalf("shmbench %v did not finish within %v; stderr:\n%s", args, timeout, stderr.String())
	}
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func TestBenchmarkWritesJSONAndPlot(t *testing.T) {
	dir := t.TempDir()
	jsonPath, svgPath := filepath.Join(dir, "bench.json"), filepath.Join(dir, "bench.svg")
	profPath := filepath.Join(dir, "cpu.prof")
	transports := []string{"shm", "ring", "pipe", "chan"}
	r := runBin(t, 2*time.Minute, "-duration=20ms", "-sizes=64B,4KiB", "-transports="+strings.Join(transports, ","),
		"-workers=1", "-json", jsonPath, "-plot", svgPath, "-cpuprofile", profPath)
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	assert.Empty(t, r.stderr, "nothing on stderr when it is not a terminal")

	t.Run("a CPU profile is written", func(t *testing.T) {
		fi, err := os.Stat(profPath)
		require.NoError(t, err)
		assert.Positive(t, fi.Size())
	})

	t.Run("the table names the machine and every transport", func(t *testing.T) {
		assert.Contains(t, r.stdout, "cores")
		assert.Contains(t, r.stdout, runtime.Version())
		assert.Contains(t, r.stdout, "Pool.Map")
		for _, tr := range transports {
			assert.Regexp(t, regexp.MustCompile(`(?m)^\s*64B\s+`+tr+`\s`), r.stdout)
			assert.Regexp(t, regexp.MustCompile(`(?m)^\s*4KiB\s+`+tr+`\s`), r.stdout)
		}
	})

	t.Run("the JSON matches the schema and holds every transport and size", func(t *testing.T) {
		b, err := os.ReadFile(jsonPath)
		require.NoError(t, err)
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		var rep Report
		require.NoError(t, dec.Decode(&rep))
		assert.Equal(t, Schema, rep.Schema)
		assert.Equal(t, []int{64, 4096}, rep.Config.Sizes)
		assert.Equal(t, transports, rep.Config.Transports)
		assert.EqualValues(t, 20*time.Millisecond, rep.Config.DurationNS)
		assert.NotEmpty(t, rep.Machine.CPU)
		assert.Positive(t, rep.Machine.Cores)
		assert.Equal(t, runtime.Version(), rep.Machine.Go)
		assert.False(t, rep.Started.IsZero())

		seen := map[string]bool{}
		for _, res := range rep.Results {
			seen[res.Transport+"/"+sizeName(res.Size)] = true
			assert.Positive(t, res.RTCount, "%s %d", res.Transport, res.Size)
			assert.Positive(t, res.RTP50NS)
			assert.LessOrEqual(t, res.RTP50NS, res.RTP99NS)
			assert.LessOrEqual(t, res.RTP99NS, res.RTP999NS)
			assert.Positive(t, res.StreamMsgs)
			assert.Positive(t, res.StreamMsgsPerS)
			assert.InDelta(t, res.StreamMsgsPerS*float64(res.Size), res.StreamBytesPerS, res.StreamBytesPerS*1e-9)
			assert.Positive(t, res.RTVsPipe, "pipe was measured: every ratio is there")
			assert.Positive(t, res.StreamVsPipe)
			if res.Transport == "pipe" {
				assert.InDelta(t, 1, res.RTVsPipe, 1e-9)
			}
		}
		for _, tr := range transports {
			for _, s := range []string{"64B", "4KiB"} {
				assert.True(t, seen[tr+"/"+s], "no result for %s at %s", tr, s)
			}
		}
		assert.Len(t, rep.Results, len(transports)*2)

		require.Len(t, rep.Pool, 2)
		kinds := map[string]bool{}
		for _, p := range rep.Pool {
			kinds[p.Kind] = true
			assert.Equal(t, 1, p.Workers)
			assert.Positive(t, p.Items)
			assert.Positive(t, p.ItemsPerS)
			assert.Positive(t, p.VsGob)
		}
		assert.Equal(t, map[string]bool{"shm": true, "gob": true}, kinds)
	})

	t.Run("the plot is a well-formed SVG", func(t *testing.T) {
		b, err := os.ReadFile(svgPath)
		require.NoError(t, err)
		require.NotEmpty(t, b)
		dec := xml.NewDecoder(bytes.NewReader(b))
		var root string
		elems := 0
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
			if se, ok := tok.(xml.StartElement); ok {
				if root == "" {
					root = se.Name.Local
				}
				elems++
			}
		}
		assert.Equal(t, "svg", root)
		assert.Greater(t, elems, 20, "axes, lines and labels")
		for _, tr := range transports {
			assert.Contains(t, string(b), ">"+tr+"<", "legend entry for %s", tr)
		}
	})
}

func TestTopListsTheWorkersOfAPool(t *testing.T) {
	bin := shmbench(t)
	demo := exec.Command(bin, "demo", "-workers=2", "-hold=30s")
	stdout, err := demo.StdoutPipe()
	require.NoError(t, err)
	stderr := &testutil.LockedBuffer{}
	demo.Stderr = stderr
	require.NoError(t, demo.Start())
	t.Cleanup(func() {
		demo.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { demo.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			demo.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err, "demo's stderr: %s", stderr.String())
	m := regexp.MustCompile(`^demo: pid (\d+), 2 workers: (\d+) (\d+)\n$`).FindStringSubmatch(line)
	require.NotNil(t, m, "demo said %q", line)
	require.Equal(t, strconv.Itoa(demo.Process.Pid), m[1])

	r := runBin(t, 30*time.Second, "top", "-once", m[1])
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	assert.Empty(t, r.stderr)
	assert.Contains(t, r.stdout, "workers: 2")
	for _, pid := range m[2:] {
		assert.Regexp(t, regexp.MustCompile(`(?m)^\s*`+pid+`\s+(idle|busy|starting)\s+\S+\s`), r.stdout)
	}
	assert.Regexp(t, regexp.MustCompile(`(?m)^\s*TOTAL\s`), r.stdout)
	for _, col := range []string{"state", "tasks/s", "bytes/s", "efficiency", "starvation"} {
		assert.Contains(t, r.stdout, col)
	}
}

func TestTopFailsClearlyWithoutSegments(t *testing.T) {
	sleep := exec.Command("sleep", "30")
	require.NoError(t, sleep.Start())
	t.Cleanup(func() {
		sleep.Process.Kill()
		sleep.Wait()
	})
	r := runBin(t, 30*time.Second, "top", "-once", strconv.Itoa(sleep.Process.Pid))
	assert.Equal(t, 1, r.code)
	assert.Equal(t, "shmbench top: process "+strconv.Itoa(sleep.Process.Pid)+" has no shmpool segments (is it a shmpool program with workers running?)\n", r.stderr)
	assert.Empty(t, r.stdout)

	gone := exec.Command("true")
	require.NoError(t, gone.Run())
	r = runBin(t, 30*time.Second, "top", "-once", strconv.Itoa(gone.Process.Pid))
	assert.Equal(t, 1, r.code)
	assert.Equal(t, "shmbench top: no process with pid "+strconv.Itoa(gone.Process.Pid)+"\n", r.stderr)
}

func TestBadFlagsExit2(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"an unknown flag", []string{"-nosuch"}},
		{"a duration that does not parse", []string{"-duration=fast"}},
		{"a zero duration", []string{"-duration=0s"}},
		{"a size with an unknown unit", []string{"-sizes=64Q"}},
		{"an unknown transport", []string{"-transports=pipe,pigeon"}},
		{"a bad worker count", []string{"-workers=two"}},
		{"a stray argument", []string{"now"}},
		{"top without a pid", []string{"top"}},
		{"top with a pid that is not a number", []string{"top", "-once", "self"}},
		{"top with an unknown flag", []string{"top", "-twice", "1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runBin(t, 30*time.Second, tc.args...)
			assert.Equal(t, 2, r.code)
			assert.Contains(t, r.stderr, "usage: shmbench")
			assert.Empty(t, r.stdout)
		})
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int{"64B": 64, "64": 64, "4KiB": 4096, "4k": 4096, "1MiB": 1 << 20, "2MB": 2 << 20} {
		got, err := parseSize(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, n := range []int{64, 4096, 65536, 1 << 20, 100} {
		got, err := parseSize(sizeName(n))
		require.NoError(t, err)
		assert.Equal(t, n, got)
	}
	for _, bad := range []string{"", "0B", "-1", "1GiB", "65MiB", "KiB", "12Q", "9223372036854775807MiB"} {
		_, err := parseSize(bad)
		assert.Error(t, err, bad)
	}
}

func TestRatiosAndTable(t *testing.T) {
	rep := &Report{
		Config: RunConfig{DurationNS: int64(time.Second), PoolItemSize: 1024},
		Results: []Result{
			{Transport: "shm", Size: 64, RTP50NS: 500, StreamMsgsPerS: 4e6, StreamBytesPerS: 256e6},
			{Transport: "pipe", Size: 64, RTP50NS: 10000, StreamMsgsPerS: 1e6, StreamBytesPerS: 64e6},
			{Transport: "shm", Size: 4096, RTP50NS: 2000, StreamMsgsPerS: 1e6, StreamBytesPerS: 4096e6},
		},
		Pool: []PoolResult{{Kind: "shm", Workers: 2, ItemsPerS: 1e6}, {Kind: "gob", Workers: 2, ItemsPerS: 1e5}},
	}
	rep.ratios()
	assert.InDelta(t, 20, rep.Results[0].RTVsPipe, 1e-9)
	assert.InDelta(t, 4, rep.Results[0].StreamVsPipe, 1e-9)
	assert.InDelta(t, 1, rep.Results[1].RTVsPipe, 1e-9)
	assert.Zero(t, rep.Results[2].RTVsPipe, "no pipe at 4KiB: no ratio")
	assert.InDelta(t, 10, rep.Pool[0].VsGob, 1e-9)
	assert.Zero(t, rep.Pool[1].VsGob-1, "gob against itself")

	var b bytes.Buffer
	require.NoError(t, writeTable(&b, rep))
	out := b.String()
	assert.Regexp(t, `(?m)^\s*64B\s+shm\s+500ns\s+-\s+-\s+20\.0x\s+4\.00M\s+256MB\s+4\.00x\s*$`, out)
	assert.Regexp(t, `(?m)^\s*4KiB\s+shm\s+2\.00µs\s.*\s-\s*$`, out)
	assert.Regexp(t, `(?m)^\s*2\s+1\.00M\s+100k\s+10\.0x\s*$`, out)
}
