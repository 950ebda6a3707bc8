package chaos_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/internal/testutil"
	"github.com/shmpool/shmpool/pool"
	"github.com/shmpool/shmpool/worker"
)

const fnLeakEcho = "chaos.leak.echo"

func init() {
	pool.Register(fnLeakEcho, func(_ context.Context, in []byte) ([]byte, error) { return in, nil })
}

// usage is what a Start/Close cycle could leak, sampled between cycles.
type usage struct {
	cycle      int
	fds        int
	goroutines int
	children   int
	maps       int // lines of /proc/self/maps
	memfds     int // memfd mappings
	rss        int // VmRSS, bytes
}

func (u usage) String() string {
	return fmt.Sprintf("cycle %d: %d fds, %d goroutines, %d children, %d mappings (%d memfd), RSS %.1f MiB",
		u.cycle, u.fds, u.goroutines, u.children, u.maps, u.memfds, float64(u.rss)/(1<<20))
}

func sampleUsage(cycle int) usage {
	maps, _ := os.ReadFile("/proc/self/maps")
	return usage{
		cycle:      cycle,
		fds:        len(testutil.OpenFDs()),
		goroutines: runtime.NumGoroutine(),
		children:   len(testutil.Children()),
		maps:       bytes.Count(maps, []byte("\n")),
		memfds:     testutil.MemfdMappings(),
		rss:        rssOf("self"),
	}
}

// rssOf returns VmRSS of /proc/PID/status in bytes, 0 if unreadable.
func rssOf(pid string) int {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return kb << 10
		}
	}
	return 0
}

// Slack of the leak checks: the last sample may exceed the one taken after
// warm-up by at most this much. Descriptors, children and memfd mappings
// must come back exactly; goroutines and mappings may move by a few (the
// runtime's own: timers, GC workers, heap arenas); RSS by what a heap that
// grew to its steady size may add.
const (
	slackGoroutines = 3
	slackMaps       = 16
	slackRSS        = 16 << 20
)

// settled samples usage once the children of the last cycle are reaped and
// its goroutines gone, or after 2 s; resources still held then count.
func settled(base usage, cycle int) usage {
	var u usage
	for deadline := time.Now().Add(2 * time.Second); ; {
		runtime.GC()
		debug.FreeOSMemory()
		u = sampleUsage(cycle)
		if (u.fds <= base.fds && u.children <= base.children && u.memfds <= base.memfds &&
			u.goroutines <= base.goroutines+slackGoroutines) || time.Now().After(deadline) {
			return u
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// leakCycles runs cycle n times, sampling usage 20 times, and asserts that
// the last sample is within the slack of the one taken after a 10 %
// warm-up.
func leakCycles(t *testing.T, what string, n int, cycle func(i int) error) {
	every := max(n/20, 1)
	warm := max(n/10, 1)
	var took time.Duration // in cycles, not sampling
	var base usage
	var samples []usage
	for i := 1; i <= n; i++ {
		start := time.Now()
		err := cycle(i)
		took += time.Since(start)
		if !assert.NoError(t, err, "%s cycle %d", what, i) {
			return
		}
		switch {
		case i == warm:
			base = settled(sampleUsage(0), i)
			samples = append(samples, base)
		case i > warm && (i%every == 0 || i == n):
			samples = append(samples, settled(base, i))
		}
	}
	t.Logf("%s: %d cycles in %v, %v per cycle", what, n, took.Round(time.Millisecond), (took / time.Duration(n)).Round(time.Microsecond))
	for _, u := range samples {
		t.Logf("  %v", u)
	}
	last := samples[len(samples)-1]
	assert.LessOrEqual(t, last.fds, base.fds, "%s: descriptors grew", what)
	assert.LessOrEqual(t, last.children, base.children, "%s: child processes grew", what)
	assert.LessOrEqual(t, last.memfds, base.memfds, "%s: memfd mappings grew", what)
	assert.LessOrEqual(t, last.goroutines, base.goroutines+slackGoroutines, "%s: goroutines grew", what)
	assert.LessOrEqual(t, last.maps, base.maps+slackMaps, "%s: mappings grew", what)
	assert.LessOrEqual(t, last.rss, base.rss+slackRSS, "%s: RSS grew", what)
}

// TestLeakWorkerCycles starts and closes a worker 10,000 times (60 in the
// short variant), with one call each, and checks that descriptors,
// goroutines, child processes, mappings and RSS stay flat.
func TestLeakWorkerCycles(t *testing.T) {
	ctx := context.Background()
	leakCycles(t, "worker Start/Execute/Close", scale(60, 10000), func(i int) error {
		h, err := worker.Start(ctx, worker.Config{Func: fnLeakEcho, RingSize: 64 << 10})
		if err != nil {
			return err
		}
		in := strconv.AppendInt(nil, int64(i), 10)
		out, err := h.Execute(ctx, in)
		if err == nil && !bytes.Equal(out, in) {
			err = fmt.Errorf("echo %q, want %q", out, in)
		}
		if cerr := h.Close(); err == nil {
			err = cerr
		}
		return err
	})
}

// TestLeakPoolCycles creates and closes a pool of two workers 1,000 times
// (15 in the short variant), with a small Map each, and checks the same.
func TestLeakPoolCycles(t *testing.T) {
	ctx := context.Background()
	ins := [][]byte{[]byte("a"), []byte("b"), []byte("c"), bytes.Repeat([]byte("d"), 100<<10)}
	leakCycles(t, "pool New/Map/Close", scale(15, 1000), func(int) error {
		p, err := pool.New(ctx, pool.Config{Workers: 2, Worker: worker.Config{Func: fnLeakEcho, RingSize: 64 << 10}})
		if err != nil {
			return err
		}
		outs, err := p.Map(ctx, ins)
		if err == nil && !assert.ObjectsAreEqual(ins, outs) {
			err = fmt.Errorf("Map returned %d results not equal to the inputs", len(outs))
		}
		if cerr := p.Close(); err == nil {
			err = cerr
		}
		return err
	})
	require.Empty(t, testutil.Children(), "children left after the last Close")
}
