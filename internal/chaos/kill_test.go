package chaos_test

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/internal/proto"
	"github.com/shmpool/shmpool/internal/testhook"
	"github.com/shmpool/shmpool/pool"
	"github.com/shmpool/shmpool/status"
	"github.com/shmpool/shmpool/worker"
)

// The functions of the kill and torn-write tests, and the hook that kills a
// worker with a response record half written.
const (
	// fnKillCount answers checked(in) and logs each run to completion as
	// "<id> <pid>" to the file its static data names (<id> is the input up
	// to its first '|'): the side channel that counts executions. An input
	// whose id is followed by "|!" is doomed: it kills the worker running
	// it, after appending "<pid> <unix ns>" to tokens/kills beside that
	// file (as the token hook does).
	fnKillCount = "chaos.kill.count"
	// envHook arms testhook.BeforeCommit in a worker (worker.Config.Env):
	//   token:<dir>  before committing a result record, take the file
	//                <dir>/<own pid>, or else <dir>/any, if there is one
	//                (os.Remove succeeds for one taker only), and if so
	//                append "<pid> <unix ns>" to <dir>/kills and die;
	//   after:<k>    die while writing the k-th result record.
	// Dying is: overwrite the part of the record not yet written with
	// 0xEE, then SIGKILL the own process, between Reserve and Commit.
	envHook = "SHMPOOL_CHAOS_HOOK"
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// checked is what the chaos functions answer for in: the CRC-32C of in,
// then in with every byte xored with 0x5a. A result that is cut short,
// shifted or holds foreign bytes never equals it.
func checked(in []byte) []byte {
	out := make([]byte, 4+len(in))
	binary.BigEndian.PutUint32(out, crc32.Checksum(in, crcTable))
	for i, b := range in {
		out[4+i] = b ^ 0x5a
	}
	return out
}

func init() {
	pool.RegisterFactory(fnKillCount, func(static []byte) (worker.Func, error) {
		f, err := os.OpenFile(string(static), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, err
		}
		pid := strconv.Itoa(os.Getpid())
		kills := filepath.Join(filepath.Dir(string(static)), "tokens", "kills")
		return func(_ context.Context, in []byte) ([]byte, error) {
			out := checked(in)
			id, rest, _ := bytes.Cut(in, []byte{'|'})
			if bytes.HasPrefix(rest, []byte("!")) {
				if f, err := os.OpenFile(kills, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err == nil {
					fmt.Fprintf(f, "%s %d\n", pid, time.Now().UnixNano())
					f.Close()
				}
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {}
			}
			line := make([]byte, 0, len(id)+len(pid)+2)
			line = append(append(append(append(line, id...), ' '), pid...), '\n')
			if _, err := f.Write(line); err != nil {
				return nil, err
			}
			return out, nil
		}, nil
	})
	if v, ok := os.LookupEnv(envHook); ok {
		armHook(v)
	}
}

// armHook arms testhook.BeforeCommit in a worker process, from init (see
// envHook).
func armHook(spec string) {
	mode, arg, _ := strings.Cut(spec, ":")
	die := func(rec []byte, written int) {
		for i := written; i < len(rec); i++ {
			rec[i] = 0xee
		}
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
	switch mode {
	case "token":
		own := filepath.Join(arg, strconv.Itoa(os.Getpid()))
		anyToken := filepath.Join(arg, "any")
		testhook.BeforeCommit = func(kind uint8, rec []byte, written int) {
			if proto.Kind(kind) != proto.KindResult {
				return
			}
			if os.Remove(own) != nil && os.Remove(anyToken) != nil {
				return
			}
			if f, err := os.OpenFile(filepath.Join(arg, "kills"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err == nil {
				fmt.Fprintf(f, "%d %d\n", os.Getpid(), time.Now().UnixNano())
				f.Close()
			}
			die(rec, written)
		}
	case "after":
		k, err := strconv.Atoi(arg)
		if err != nil || k < 1 {
			panic("chaos: bad " + envHook + " " + spec)
		}
		n := 0
		testhook.BeforeCommit = func(kind uint8, rec []byte, written int) {
			if proto.Kind(kind) != proto.KindResult {
				return
			}
			if n++; n == k {
				die(rec, written)
			}
		}
	default:
		panic("chaos: bad " + envHook + " " + spec)
	}
}

// kill is one worker's death: its pid and when it was killed (unix ns).
// Pids come back: they wrap at pid_max (32768 here) and the other
// processes on the machine use them up fast, so a kill applies to a worker
// only if it came after that worker started.
type kill struct {
	pid int
	at  int64
}

// readKills reads the "<pid> <unix ns>" lines the token hook and doomed
// items append to dir/kills. A line being written is skipped.
func readKills(dir string) []kill {
	var ks []kill
	b, _ := os.ReadFile(filepath.Join(dir, "kills"))
	for _, line := range strings.Split(string(b), "\n") {
		var k kill
		if _, err := fmt.Sscanf(line, "%d %d", &k.pid, &k.at); err == nil {
			ks = append(ks, k)
		}
	}
	return ks
}

// hookKills is readKills for a test that wants each line whole.
func hookKills(t testing.TB, dir string) []kill {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "kills"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	require.NoError(t, err)
	ks := readKills(dir)
	require.Len(t, ks, strings.Count(string(b), "\n"), "kills file %q", b)
	return ks
}

// killIndex holds kill times by pid.
type killIndex map[int][]int64

func indexKills(kss ...[]kill) killIndex {
	idx := killIndex{}
	for _, ks := range kss {
		for _, k := range ks {
			idx[k.pid] = append(idx[k.pid], k.at)
		}
	}
	return idx
}

// hit reports whether the worker pid that started at started had been
// killed by at.
func (idx killIndex) hit(pid int, started, at int64) bool {
	for _, ns := range idx[pid] {
		if ns >= started && ns <= at {
			return true
		}
	}
	return false
}

// live reports whether a worker snapshot shows a running worker process.
func live(w status.Snapshot) bool {
	return w.PID != 0 && (w.State == status.Starting || w.State == status.Idle || w.State == status.Busy)
}

// incarnation names one worker process: its pid and its start (unix ns,
// from its status block).
type incarnation struct {
	pid     int
	started int64
}

func incarnationOf(w status.Snapshot) incarnation {
	return incarnation{w.PID, w.Started.UnixNano()}
}

// poolView is what the recovery monitor saw at one moment: the workers in
// slot order and whether each was live.
type poolView struct {
	at      int64 // unix ns
	workers []incarnation
	ok      bool // as many live workers as slots
}

// monitor samples Pool.Status every millisecond and records each change of
// the workers or their liveness, to tell afterwards when the pool was back
// to full strength after each kill.
type monitor struct {
	mu        sync.Mutex
	views     []poolView
	samples   []int64 // unix ns of every sample, to tell a starved monitor
	stop      chan struct{}
	closeOnce sync.Once
	done      chan struct{}
}

func startMonitor(p *pool.Pool, workers int) *monitor {
	m := &monitor{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		var last poolView
		sample := func() {
			ws := p.Status().Workers
			v := poolView{at: time.Now().UnixNano(), ok: len(ws) == workers}
			for _, w := range ws {
				v.workers = append(v.workers, incarnationOf(w))
				v.ok = v.ok && live(w)
			}
			m.mu.Lock()
			m.samples = append(m.samples, v.at)
			if v.ok != last.ok || !slices.Equal(v.workers, last.workers) {
				m.views = append(m.views, v)
				last = v
			}
			m.mu.Unlock()
		}
		for {
			sample()
			select {
			case <-m.stop:
				// A last look: the test closes the monitor once it has
				// seen the pool whole again, which the previous sample,
				// up to a tick older, may have missed.
				sample()
				return
			case <-tick.C:
			}
		}
	}()
	return m
}

// close stops the monitor, once, and returns what it saw and when it
// sampled.
func (m *monitor) close() ([]poolView, []int64) {
	m.closeOnce.Do(func() { close(m.stop) })
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.views, m.samples
}

// maxGap returns the longest time between two samples of the monitor
// within [from, to]: how long this process went without running the
// monitor's goroutine (a 1 ms ticker) when the machine is overloaded.
func maxGap(samples []int64, from, to int64) time.Duration {
	var gap int64
	i, _ := slices.BinarySearch(samples, from)
	for i = max(i, 1); i < len(samples) && samples[i-1] <= to; i++ {
		gap = max(gap, samples[i]-samples[i-1])
	}
	return time.Duration(gap)
}

// recovery returns how long the pool took after kill k to be back to all
// its workers live with none of them killed: the first view at or after
// the kill that is ok and shows no worker killed by then; -1 if none.
func recovery(views []poolView, idx killIndex, k kill) time.Duration {
	i, _ := slices.BinarySearchFunc(views, k.at, func(v poolView, at int64) int { return cmp.Compare(v.at, at) })
	for ; i < len(views); i++ {
		v := views[i]
		if v.ok && !slices.ContainsFunc(v.workers, func(w incarnation) bool { return idx.hit(w.pid, w.started, v.at) }) {
			return time.Duration(v.at - k.at)
		}
	}
	return -1
}

// logLate logs what the monitor and the killer saw after each kill the pool
// took more than 1 s to recover from.
func logLate(t *testing.T, views []poolView, samples []int64, events []killEvent, all []kill, idx killIndex, external map[kill]bool) {
	for _, k := range all {
		r := recovery(views, idx, k)
		if r >= 0 && r <= time.Second {
			continue
		}
		end := k.at + int64(10*time.Second)
		off := func(at int64) string { return "+" + time.Duration(at-k.at).Round(time.Millisecond).String() }
		var seen []string
		for _, v := range views {
			if v.at >= k.at && v.at <= end {
				var killed []string
				for _, w := range v.workers {
					if idx.hit(w.pid, w.started, v.at) {
						killed = append(killed, strconv.Itoa(w.pid))
					}
				}
				pids := make([]int, len(v.workers))
				for i, w := range v.workers {
					pids[i] = w.pid
				}
				seen = append(seen, fmt.Sprintf("%s %v live=%v killed=%v", off(v.at), pids, v.ok, killed))
			}
		}
		for _, e := range events {
			if e.at >= k.at && e.at <= end {
				seen = append(seen, fmt.Sprintf("%s killer: %s", off(e.at), e.what))
			}
		}
		for _, d := range all {
			if !external[d] && d.at >= k.at && d.at <= end {
				seen = append(seen, fmt.Sprintf("%s %d died by its own hand", off(d.at), d.pid))
			}
		}
		slices.SortStableFunc(seen, func(a, b string) int { return cmpOffset(a) - cmpOffset(b) })
		t.Logf("kill of %d (from outside: %v) recovered in %v (the monitor, a 1 ms ticker in this process, went up to %v without running meanwhile); then: %s",
			k.pid, external[k], r, maxGap(samples, k.at, k.at+int64(max(r, time.Second))).Round(time.Millisecond), strings.Join(seen, " | "))
	}
}

// cmpOffset returns the milliseconds of a "+<duration> ..." line, for
// sorting them.
func cmpOffset(line string) int {
	d, err := time.ParseDuration(strings.TrimPrefix(strings.Fields(line)[0], "+"))
	if err != nil {
		return 0
	}
	return int(d.Milliseconds())
}

// killer SIGKILLs random workers of a pool at random moments, from outside
// (a signal at any point of the worker's work) or through the token hook (in
// the middle of writing a result record), one kill at a time, waiting for
// the pool to replace each victim before choosing the next; now and then it
// kills two at once.
//
// The pool backs off before replacing a worker whose predecessors keep dying
// within a second of starting (10 ms doubling to 1 s: crash-loop protection,
// see package pool). A storm that killed the same slot's fresh worker over
// and over would measure that policy, not the recovery, so a worker younger
// than a second is chosen only while its slot has lost fewer than three
// young workers in a row (a backoff of at most 40 ms).
type killer struct {
	p       *pool.Pool
	workers int
	tokens  string // the token hook's directory

	mu       sync.Mutex
	external []kill                    // killed by a signal from here
	taken    []kill                    // tokens seen taken (the hook's own line has the exact time)
	events   []killEvent               // what the killer did, for the log of late recoveries
	young    []int                     // per slot: young workers killed in a row
	first    map[incarnation]time.Time // when first seen in Status
	slow     error                     // a replacement that did not come in time
}

// killEvent is one action of the killer.
type killEvent struct {
	at   int64 // unix ns
	what string
}

func (k *killer) event(format string, args ...any) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.events = append(k.events, killEvent{time.Now().UnixNano(), fmt.Sprintf(format, args...)})
}

// dead indexes every kill known so far: from here, by the hook or by a
// doomed item (the kills file), and tokens seen taken whose hook line may
// not be written yet.
func (k *killer) dead() killIndex {
	k.mu.Lock()
	defer k.mu.Unlock()
	return indexKills(k.external, k.taken, readKills(k.tokens))
}

func (k *killer) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.external) + len(k.taken)
}

// run kills until n workers have died or stop is closed.
func (k *killer) run(n int, stop <-chan struct{}) {
	for k.count() < n {
		select {
		case <-stop:
			return
		case <-time.After(time.Duration(rand.IntN(60_000)) * time.Microsecond):
		}
		victims := k.choose(1 + min(rand.IntN(10)/9, n-k.count()-1))
		if len(victims) == 0 {
			continue
		}
		hook := len(victims) == 1 && rand.IntN(2) == 0
		var gone []int
		for _, v := range victims {
			if hook {
				if k.viaHook(v.pid) {
					gone = append(gone, v.slot)
				}
				continue
			}
			k.mu.Lock()
			k.external = append(k.external, kill{v.pid, time.Now().UnixNano()})
			k.mu.Unlock()
			syscall.Kill(v.pid, syscall.SIGKILL)
			k.event("SIGKILL %d (slot %d, young %v)", v.pid, v.slot, v.young)
			gone = append(gone, v.slot)
		}
		k.mu.Lock()
		for _, v := range victims {
			if slices.Contains(gone, v.slot) {
				if v.young {
					k.young[v.slot]++
				} else {
					k.young[v.slot] = 0
				}
			}
		}
		k.mu.Unlock()
		if err := k.waitFull(15 * time.Second); err != nil {
			k.mu.Lock()
			k.slow = err
			k.mu.Unlock()
			return
		}
		k.event("full")
	}
}

type victim struct {
	slot, pid int
	young     bool
}

// seen returns when the killer first saw worker w in Pool.Status. The
// pool makes a worker visible there as soon as it has started it, and the
// killer looks every few milliseconds while a replacement starts, so this
// is at most a few milliseconds after the time the pool counts the worker's
// age from (its own clock, not the worker's uptime, which includes the
// start). The caller holds mu.
func (k *killer) seen(w incarnation) time.Time {
	at, ok := k.first[w]
	if !ok {
		at = time.Now()
		k.first[w] = at
	}
	return at
}

// choose picks up to n distinct live workers that may be killed.
func (k *killer) choose(n int) []victim {
	dead := k.dead()
	ws := k.p.Status().Workers
	var cands []victim
	k.mu.Lock()
	for i, w := range ws {
		if !live(w) || dead.hit(w.PID, w.Started.UnixNano(), math.MaxInt64) {
			continue
		}
		young := time.Since(k.seen(incarnationOf(w))) < 1100*time.Millisecond
		if young && k.young[i] >= 3 {
			continue
		}
		cands = append(cands, victim{slot: i, pid: w.PID, young: young})
	}
	k.mu.Unlock()
	rand.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
	return cands[:min(n, len(cands))]
}

// viaHook leaves a token for the worker pid and reports whether the worker
// took it (and so died writing a result record) within 2 s.
func (k *killer) viaHook(pid int) bool {
	token := filepath.Join(k.tokens, strconv.Itoa(pid))
	if err := os.WriteFile(token, nil, 0o600); err != nil {
		return false
	}
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if _, err := os.Stat(token); errors.Is(err, os.ErrNotExist) {
			break
		}
	}
	if os.Remove(token) == nil {
		k.event("token for %d not taken", pid)
		return false // not taken: the worker wrote no result meanwhile
	}
	k.mu.Lock()
	k.taken = append(k.taken, kill{pid, time.Now().UnixNano()})
	k.mu.Unlock()
	k.event("token taken by %d", pid)
	return true
}

// waitFull waits until the pool runs as many live workers as it has slots,
// none of them one that was killed.
func (k *killer) waitFull(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		dead := k.dead()
		ws := k.p.Status().Workers
		full := len(ws) == k.workers
		k.mu.Lock()
		for _, w := range ws {
			k.seen(incarnationOf(w))
		}
		k.mu.Unlock()
		for _, w := range ws {
			full = full && live(w) && !dead.hit(w.PID, w.Started.UnixNano(), math.MaxInt64)
		}
		if full {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the pool had not replaced its killed workers after %v: %+v", limit, ws)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// stormTally sums up the outcomes of every task of a kill storm.
type stormTally struct {
	tasks, ok, failed, lost, duplicated, reran, doomed int
}

// TestKillStorm SIGKILLs random workers at random moments (from outside, and
// from inside between reserving and committing a result record) while Map
// and Stream run on a pool with Retries; a few Stream rounds also hold an
// item that kills every worker that runs it. Invariants:
//  1. every task ends exactly once: with the right result (checked byte for
//     byte), or failed with its worker's *worker.ExitError once its retries
//     are used up; no result is lost or delivered twice;
//  2. no task runs to completion twice unless on a worker that died: each
//     item has at most one completion (counted through a side channel, a
//     file the workers append to) on a worker that was not killed, and a
//     failed item has none;
//  3. after each kill the pool is back to its full number of live workers,
//     none of them dead, within 1 s (measured from Pool.Status sampled every
//     millisecond; max and p99 are logged);
//  4. the pool replaced exactly the workers that were killed: nothing else
//     died.
//
// 1,000 kills in the full variant, 50 in the short one.
func TestKillStorm(t *testing.T) {
	const workers = 4
	kills := scale(50, 1000)
	dir := t.TempDir()
	log := filepath.Join(dir, "completions")
	tokens := filepath.Join(dir, "tokens")
	require.NoError(t, os.Mkdir(tokens, 0o700))
	p, err := pool.New(context.Background(), pool.Config{
		Workers: workers,
		Retries: 1,
		Worker: worker.Config{
			Func:     fnKillCount,
			Static:   []byte(log),
			RingSize: 256 << 10, // records wrap often; 64 KiB items fit one record
			Env:      []string{envHook + "=token:" + tokens},
		},
	})
	require.NoError(t, err)
	t.Cleanup(func() { p.Terminate() })

	mon := startMonitor(p, workers)
	defer mon.close()
	k := &killer{p: p, workers: workers, tokens: tokens, young: make([]int, workers), first: map[incarnation]time.Time{}}
	stop := make(chan struct{})
	killerDone := make(chan struct{})
	go func() {
		defer close(killerDone)
		k.run(kills, stop)
	}()
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		<-killerDone
	}()

	var tally stormTally
	doomEvery := max(kills/(max(1, kills/50)), 1) // kills between doomed items
	nextDoom := 0
	start := time.Now()
	rounds := 0
	for busy := true; busy; rounds++ {
		select {
		case <-killerDone:
			busy = false // one more round with no kill
		default:
		}
		// Every doomEvery kills a Stream round has an item that kills
		// every worker that runs it: it must fail with *worker.ExitError
		// once its retries are used up. Its kills come in quick succession,
		// often of a fresh worker, so they are spread over the storm rather
		// than made a crash loop the pool backs off from.
		doomed := rounds%2 == 1 && busy && k.count() >= nextDoom
		if doomed {
			nextDoom = k.count() + doomEvery
		}
		stormRound(t, p, k, log, rounds, doomed, &tally)
		if t.Failed() {
			return
		}
	}
	k.mu.Lock()
	slow := k.slow
	k.mu.Unlock()
	require.NoError(t, slow)
	require.NoError(t, k.waitFull(15*time.Second))
	views, samples := mon.close()
	k.mu.Lock()
	external := slices.Clone(k.external)
	hooked := len(k.taken)
	events := k.events
	k.mu.Unlock()
	own := hookKills(t, tokens) // the hook's and the doomed items' own lines
	all := append(slices.Clone(external), own...)
	idx := indexKills(all)
	st := p.Status()
	require.NoError(t, p.Close())

	assert.Equal(t, 0, tally.lost, "tasks lost")
	assert.Equal(t, 0, tally.duplicated, "results delivered twice")
	assert.Equal(t, len(all), st.Restarts, "workers replaced (%d) and workers killed (%d) differ: something else died", st.Restarts, len(all))
	assert.GreaterOrEqual(t, len(all), kills)
	assert.Positive(t, hooked, "no worker died between Reserve and Commit")
	assert.Positive(t, len(external), "no worker was killed from outside")
	assert.Positive(t, tally.doomed, "no item used up its retries")

	var rec []time.Duration
	for _, k := range all {
		rec = append(rec, recovery(views, idx, k))
	}
	slices.Sort(rec)
	require.NotEmpty(t, rec)
	late := 0
	for _, r := range rec {
		assert.GreaterOrEqual(t, r, time.Duration(0), "a kill the monitor never saw the pool recover from")
		if r > time.Second {
			late++
		}
	}
	if !assert.Zero(t, late, "kills after which the pool took more than 1 s to be back to %d live workers", workers) {
		ext := map[kill]bool{}
		for _, k := range external {
			ext[k] = true
		}
		logLate(t, views, samples, events, all, idx, ext)
	}
	p99 := rec[min(len(rec)-1, len(rec)*99/100)]
	t.Logf("%d kills (%d from outside, %d between Reserve and Commit, %d by %d items that kill their worker) in %v, %d rounds; recovery to %d live workers: median %v, p99 %v, max %v",
		len(all), len(external), hooked, len(own)-hooked, tally.doomed, time.Since(start).Round(time.Millisecond), rounds, workers,
		rec[len(rec)/2].Round(time.Microsecond), p99.Round(time.Microsecond), rec[len(rec)-1].Round(time.Microsecond))
	t.Logf("%d tasks: %d completed, %d failed with *worker.ExitError, %d lost, %d duplicated; %d ran to completion more than once, each extra time on a killed worker",
		tally.tasks, tally.ok, tally.failed, tally.lost, tally.duplicated, tally.reran)
}

// stormRound runs one Map (even rounds) or Stream (odd rounds) of a kill
// storm, checks every outcome and the side channel, and empties the side
// channel for the next round.
func stormRound(t *testing.T, p *pool.Pool, k *killer, log string, round int, doomed bool, tally *stormTally) {
	t.Helper()
	n := 600 + rand.IntN(600)
	ins := make([][]byte, n)
	for i := range ins {
		size := 8 + rand.IntN(250)
		if rand.IntN(50) == 0 {
			size = 9<<10 + rand.IntN(56<<10) // unbatched, one record of its own
		}
		in := fmt.Appendf(nil, "%d.%d|", round, i)
		for len(in) < size {
			in = append(in, byte(rand.Uint32())|0x80) // never '!'
		}
		ins[i] = in
	}
	doom := -1
	if doomed {
		doom = rand.IntN(n)
		ins[doom] = fmt.Appendf(nil, "%d.%d|!", round, doom)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	failed := make([]bool, n)
	ended := make([]int, n)
	ok := true
	if round%2 == 0 {
		outs, err := p.Map(ctx, ins)
		if err != nil {
			var ie *pool.ItemError
			var ee *worker.ExitError
			ok = assert.ErrorAs(t, err, &ie, "round %d: Map", round) &&
				assert.ErrorAs(t, err, &ee, "round %d: Map failed for another reason than its worker's death", round) &&
				assert.ErrorIs(t, err, worker.ErrExited)
			// Map stops at the first failure and returns no result: it
			// counts as one failed task.
			tally.tasks++
			tally.failed++
			if ie != nil {
				failed[ie.Index] = true
			}
		} else {
			require.Len(t, outs, n)
			for i, out := range outs {
				ended[i]++
				ok = ok && assert.Equal(t, checked(ins[i]), out, "round %d: Map item %d", round, i)
			}
			tally.tasks += n
			tally.ok += n
		}
	} else {
		for r := range p.Stream(ctx, func(yield func([]byte) bool) {
			for _, in := range ins {
				if !yield(in) {
					return
				}
			}
		}) {
			if !assert.True(t, r.Index >= 0 && r.Index < n, "round %d: result index %d", round, r.Index) {
				return
			}
			ended[r.Index]++
			tally.tasks++
			if r.Index == doom {
				tally.doomed++
				ok = ok && assert.Error(t, r.Err, "round %d: item %d kills every worker that runs it, yet has a result", round, r.Index)
			}
			if r.Err != nil {
				var ee *worker.ExitError
				ok = ok && assert.ErrorAs(t, r.Err, &ee, "round %d: item %d failed for another reason than its worker's death", round, r.Index) &&
					assert.ErrorIs(t, r.Err, worker.ErrExited)
				failed[r.Index] = true
				tally.failed++
				continue
			}
			tally.ok++
			ok = ok && assert.Equal(t, checked(ins[r.Index]), r.Out, "round %d: Stream item %d", round, r.Index)
		}
		for i, e := range ended {
			switch {
			case e == 0:
				tally.lost++
				ok = assert.Fail(t, "lost", "round %d: item %d never ended", round, i) && ok
			case e > 1:
				tally.duplicated++
				ok = assert.Fail(t, "duplicated", "round %d: item %d ended %d times", round, i, e) && ok
			}
		}
	}

	// The side channel: every run to completion of this round's items.
	dead := k.dead() // by pid: a pid that came back counts as killed, which only makes the check laxer
	f, err := os.Open(log)
	require.NoError(t, err)
	defer f.Close()
	completions := make([]int, n)
	survivors := make([]int, n)
	sc := bufio.NewScanner(f)
	prefix := strconv.Itoa(round) + "."
	for sc.Scan() {
		id, pidText, found := strings.Cut(sc.Text(), " ")
		require.True(t, found && strings.HasPrefix(id, prefix), "round %d: side channel line %q", round, sc.Text())
		i, err := strconv.Atoi(strings.TrimPrefix(id, prefix))
		require.NoError(t, err)
		pid, err := strconv.Atoi(pidText)
		require.NoError(t, err)
		completions[i]++
		if _, killed := dead[pid]; !killed {
			survivors[i]++
		}
	}
	require.NoError(t, sc.Err())
	for i := range n {
		if completions[i] > 1 {
			tally.reran++
		}
		ok = ok && assert.LessOrEqual(t, survivors[i], 1, "round %d: item %d ran to completion %d times on workers that did not die", round, i, survivors[i])
		switch {
		case failed[i]:
			ok = ok && assert.Zero(t, survivors[i], "round %d: item %d failed, yet ran to completion on a worker that lives", round, i)
		case ended[i] == 1:
			ok = ok && assert.Positive(t, completions[i], "round %d: item %d has a result but never ran to completion", round, i)
		}
	}
	require.True(t, ok, "round %d failed", round)
	// Every task of the round has ended, so no worker writes to the log.
	require.NoError(t, os.Truncate(log, 0))
}
