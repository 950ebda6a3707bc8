package chaos_test

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/worker"
)

// soak is the number of messages of TestSoak; make soak sets it
// (SOAK=1e8). It accepts floating-point notation.
var soak = flag.String("chaos.soak", "", "messages TestSoak sends, e.g. 1e8 (default 20000, or 2e6 with -chaos.full)")

func soakMessages(t *testing.T) int {
	if *soak == "" {
		return scale(20000, 2_000_000)
	}
	f, err := strconv.ParseFloat(*soak, 64)
	require.NoError(t, err, "-chaos.soak")
	require.True(t, f >= 1 && f <= math.MaxInt64/2, "-chaos.soak %v out of range", f)
	return int(f)
}

// A soak message is empty, or at least soakHeader bytes: sequence number
// (per worker, from 1), CRC-32C of the payload, total length, then the
// payload. The worker checks all three and that the sequence numbers
// arrive without gap, duplicate or reorder, and echoes the message.
const (
	fnSoak     = "chaos.soak"
	soakHeader = 24
	soakMax    = 4 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func init() {
	worker.RegisterFactory(fnSoak, func([]byte) (worker.Func, error) {
		next := uint64(1)
		return func(_ context.Context, in []byte) ([]byte, error) {
			if len(in) == 0 {
				return in, nil
			}
			if len(in) < soakHeader {
				return nil, fmt.Errorf("message of %d bytes, below the %d-byte header", len(in), soakHeader)
			}
			seq, sum, total := binary.LittleEndian.Uint64(in), binary.LittleEndian.Uint64(in[8:]), binary.LittleEndian.Uint64(in[16:])
			if total != uint64(len(in)) {
				return nil, fmt.Errorf("seq %d: %d bytes arrived, the header says %d", seq, len(in), total)
			}
			if got := uint64(crc32.Checksum(in[soakHeader:], castagnoli)); got != sum {
				return nil, fmt.Errorf("seq %d: payload CRC %#x, the header says %#x", seq, got, sum)
			}
			if seq != next {
				return nil, fmt.Errorf("seq %d arrived, expected %d", seq, next)
			}
			next++
			return in, nil
		}, nil
	})
}

// soakSize draws a message size: 1 % empty, 89 % 24-256 B, 9 % 256 B-64 KiB
// and 0.9 % 64 KiB-1 MiB (both log-uniform), 0.1 % 1-4 MiB (uniform; one in
// ten of those exactly 4 MiB). Mean about 7 KiB.
func soakSize(rng *rand.Rand) int {
	logUniform := func(lo, hi float64) int { return int(lo * math.Pow(hi/lo, rng.Float64())) }
	switch r := rng.IntN(10000); {
	case r < 100:
		return 0
	case r < 9000:
		return soakHeader + rng.IntN(256-soakHeader+1)
	case r < 9900:
		return logUniform(256, 64<<10)
	case r < 9990:
		return logUniform(64<<10, 1<<20)
	case r < 9999:
		return 1<<20 + rng.IntN(3<<20)
	}
	return soakMax
}

// expect is what the receiver checks a result against.
type expect struct {
	seq  uint64 // 0 for an empty message
	size int
	sum  uint64
}

// budget bounds the bytes in flight per worker, so that results waiting
// for Recv stay a bounded amount of memory.
type budget struct {
	mu   sync.Mutex
	cond *sync.Cond
	left int
}

func newBudget(n int) *budget {
	b := &budget{left: n}
	b.cond = sync.NewCond(&b.mu)
	return b
}

func (b *budget) take(n int) {
	b.mu.Lock()
	for b.left < n && b.left < soakBudget { // a message larger than the budget waits for an empty pipe
		b.cond.Wait()
	}
	b.left -= n
	b.mu.Unlock()
}

func (b *budget) give(n int) {
	b.mu.Lock()
	b.left += n
	b.mu.Unlock()
	b.cond.Broadcast()
}

const (
	soakWorkers = 2
	soakBudget  = 16 << 20 // bytes in flight per worker
	soakWindow  = 256      // messages in flight per worker
)

// soakStats are the receivers' counts.
type soakStats struct {
	msgs, bytes    atomic.Int64
	dups, reorders atomic.Int64
	corrupt, errs  atomic.Int64
	firstProblem   sync.Once
	problem        atomic.Value // string
	skippedMu      sync.Mutex
	skipped        map[uint64]bool // seqs jumped over and not seen since: the gaps
}

func (s *soakStats) report(format string, args ...any) {
	s.firstProblem.Do(func() { s.problem.Store(fmt.Sprintf(format, args...)) })
}

// TestSoak sends messages of mixed sizes (see soakSize) with sequence
// numbers and checksums through Send/Recv on two workers, which check them
// and echo them; the parent checks that every result comes back in order
// (0 gaps, 0 duplicates, 0 reorders) with its content intact. RSS of the
// parent and the workers, sampled over time, must stay flat. It prints
// throughput and RSS every few seconds. make soak runs it alone with
// SOAK messages; make test runs 20,000.
func TestSoak(t *testing.T) {
	n := soakMessages(t)
	src := make([]byte, soakMax+64<<10)
	seedRng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for i := range src {
		src[i] = byte(seedRng.Uint32())
	}

	ctx := context.Background()
	hs := make([]*worker.Handle, soakWorkers)
	for i := range hs {
		h, err := worker.Start(ctx, worker.Config{Func: fnSoak})
		require.NoError(t, err)
		defer h.Terminate()
		hs[i] = h
	}

	var st soakStats
	st.skipped = map[uint64]bool{}
	start := time.Now()
	var wg sync.WaitGroup
	for w, h := range hs {
		share := n / soakWorkers
		if w < n%soakWorkers {
			share++
		}
		exp := make(chan expect, soakWindow)
		b := newBudget(soakBudget)
		rng := rand.New(rand.NewPCG(seedRng.Uint64(), uint64(w)))
		wg.Add(2)
		go func() { // sender
			defer wg.Done()
			defer close(exp)
			buf := make([]byte, soakMax)
			var seq uint64
			for range share {
				size := soakSize(rng)
				e := expect{size: size}
				msg := buf[:size]
				if size > 0 {
					seq++
					off := int(seq*4099) % (64 << 10)
					copy(msg[soakHeader:], src[off:off+size-soakHeader])
					e.seq, e.sum = seq, uint64(crc32.Checksum(msg[soakHeader:], castagnoli))
					binary.LittleEndian.PutUint64(msg, e.seq)
					binary.LittleEndian.PutUint64(msg[8:], e.sum)
					binary.LittleEndian.PutUint64(msg[16:], uint64(size))
				}
				b.take(size)
				if err := h.Send(ctx, msg); err != nil {
					st.errs.Add(1)
					st.report("worker %d: send seq %d: %v", w, seq, err)
					return
				}
				exp <- e
			}
		}()
		go func() { // receiver
			defer wg.Done()
			for e := range exp {
				out, err := h.Recv(ctx)
				b.give(e.size)
				st.msgs.Add(1)
				st.bytes.Add(int64(e.size))
				if err != nil {
					st.errs.Add(1)
					st.report("worker %d: recv (expecting seq %d): %v", w, e.seq, err)
					if errors.Is(err, worker.ErrExited) || errors.Is(err, worker.ErrCorrupt) {
						return
					}
					continue
				}
				st.check(w, e, out)
			}
		}()
	}

	// Progress, RSS samples, and a stall watchdog.
	every := 5 * time.Second
	sampleEvery := every
	if !*full {
		sampleEvery = 100 * time.Millisecond
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var parentRSS, workerRSS []int
	sample := func() {
		parentRSS = append(parentRSS, rssOf("self"))
		sum := 0
		for _, h := range hs {
			sum += rssOf(strconv.Itoa(h.PID()))
		}
		workerRSS = append(workerRSS, sum)
	}
	tick := time.NewTicker(sampleEvery)
	defer tick.Stop()
	lastPrint, lastMsgs, lastBytes, lastProgress := start, int64(0), int64(0), time.Now()
loop:
	for {
		select {
		case <-done:
			break loop
		case now := <-tick.C:
			sample()
			msgs, byts := st.msgs.Load(), st.bytes.Load()
			if msgs != lastMsgs {
				lastProgress = now
			} else if now.Sub(lastProgress) > time.Minute {
				t.Errorf("no message came back for a minute (%d of %d done): terminating the workers", msgs, n)
				for _, h := range hs {
					h.Terminate()
				}
			}
			if now.Sub(lastPrint) >= every {
				dt := now.Sub(lastPrint).Seconds()
				t.Logf("%6.0fs  %d/%d msgs  %.0f msgs/s  %.0f MB/s each way  RSS parent %.1f MiB, workers %.1f MiB",
					now.Sub(start).Seconds(), msgs, n, float64(msgs-lastMsgs)/dt, float64(byts-lastBytes)/dt/1e6,
					mib(parentRSS[len(parentRSS)-1]), mib(workerRSS[len(workerRSS)-1]))
				lastPrint, lastMsgs, lastBytes = now, msgs, byts
			}
		}
	}
	took := time.Since(start)
	sample()
	for _, h := range hs {
		assert.NoError(t, h.Close())
	}

	msgs, byts := st.msgs.Load(), st.bytes.Load()
	st.skippedMu.Lock()
	gaps := len(st.skipped)
	st.skippedMu.Unlock()
	t.Logf("%d messages (%.2f GB each way) in %v: %.0f msgs/s, %.0f MB/s each way; mean %.0f B",
		msgs, float64(byts)/1e9, took.Round(time.Millisecond), float64(msgs)/took.Seconds(), float64(byts)/took.Seconds()/1e6, float64(byts)/float64(max(msgs, 1)))
	t.Logf("gaps %d, duplicates %d, reorders %d, corrupt %d, errors %d", gaps, st.dups.Load(), st.reorders.Load(), st.corrupt.Load(), st.errs.Load())
	t.Logf("RSS parent (MiB): %s", rssSeries(parentRSS))
	t.Logf("RSS workers (MiB, sum of %d): %s", soakWorkers, rssSeries(workerRSS))
	if p, ok := st.problem.Load().(string); ok {
		t.Errorf("first problem: %s", p)
	}
	assert.EqualValues(t, n, msgs, "messages that came back")
	assert.Zero(t, gaps, "gaps")
	assert.Zero(t, st.dups.Load(), "duplicates")
	assert.Zero(t, st.reorders.Load(), "reorders")
	assert.Zero(t, st.corrupt.Load(), "corrupt results")
	assert.Zero(t, st.errs.Load(), "errors")
	checkFlat(t, "parent", parentRSS)
	checkFlat(t, "workers", workerRSS)
}

// check compares one result with what was sent.
func (s *soakStats) check(w int, e expect, out []byte) {
	if e.size == 0 {
		if len(out) != 0 {
			s.corrupt.Add(1)
			s.report("worker %d: %d bytes back for an empty message", w, len(out))
		}
		return
	}
	if len(out) < soakHeader {
		s.corrupt.Add(1)
		s.report("worker %d: %d bytes back for seq %d of %d bytes", w, len(out), e.seq, e.size)
		return
	}
	seq := binary.LittleEndian.Uint64(out)
	switch {
	case seq > e.seq:
		s.skippedMu.Lock()
		for q := e.seq; q < seq && q < e.seq+1<<20; q++ {
			s.skipped[q] = true
		}
		s.skippedMu.Unlock()
		s.report("worker %d: seq %d back where %d was expected", w, seq, e.seq)
	case seq < e.seq:
		s.skippedMu.Lock()
		late := s.skipped[seq]
		delete(s.skipped, seq)
		s.skippedMu.Unlock()
		if late {
			s.reorders.Add(1)
		} else {
			s.dups.Add(1)
		}
		s.report("worker %d: seq %d back where %d was expected", w, seq, e.seq)
	}
	sum := uint64(crc32.Checksum(out[soakHeader:], castagnoli))
	if len(out) != e.size || sum != e.sum || binary.LittleEndian.Uint64(out[8:]) != e.sum {
		s.corrupt.Add(1)
		s.report("worker %d: seq %d: %d bytes with CRC %#x back, sent %d bytes with CRC %#x", w, seq, len(out), sum, e.size, e.sum)
	}
}

func mib(b int) float64 { return float64(b) / (1 << 20) }

func rssSeries(s []int) string {
	step := max(len(s)/12, 1)
	out := ""
	for i := 0; i < len(s); i += step {
		out += fmt.Sprintf(" %.0f", mib(s[i]))
	}
	return out + fmt.Sprintf(" (last %.0f; %d samples)", mib(s[len(s)-1]), len(s))
}

// checkFlat asserts that RSS samples show no growth trend: after a warm-up
// of the first fifth, the largest sample of the second half exceeds the
// largest of the first half by at most 32 MiB. The short variant lasts
// seconds, all of them warm-up (more so under -race, whose shadow memory
// grows with the heap): it only reports its samples. So does a full run of
// fewer than 10 samples (under 50 s).
func checkFlat(t *testing.T, who string, s []int) {
	if !*full || len(s) < 10 {
		return
	}
	s = s[len(s)/5:]
	half := len(s) / 2
	first, second := 0, 0
	for _, v := range s[:half] {
		first = max(first, v)
	}
	for _, v := range s[half:] {
		second = max(second, v)
	}
	assert.LessOrEqual(t, second, first+32<<20, "%s RSS grew: %.1f MiB at most in the first half after warm-up, %.1f MiB in the second", who, mib(first), mib(second))
}
