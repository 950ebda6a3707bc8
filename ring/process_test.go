package ring_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/internal/testutil"
	"github.com/shmpool/shmpool/ring"
	"github.com/shmpool/shmpool/shm"
)

// helpers are the child processes of this package's tests and benchmarks:
// the test binary re-executed by testutil.HelperCommand and dispatched by
// testutil.Main in TestMain. Each reads its arguments with
// testutil.HelperArgs and exits non-zero with a message on stderr when
// something is wrong.
var helpers = map[string]func(){
	"ring-echo":       helper("ring-echo", ringEcho),
	"bench-ring":      helper("bench-ring", benchRing),
	"bench-ring-echo": helper("bench-ring-echo", benchRingEcho),
	"bench-pipe":      helper("bench-pipe", benchPipe),
	"bench-seqpacket": helper("bench-seqpacket", benchSeqpacket),
}

// helper makes run the body of a helper process: its error goes to stderr,
// with the helper's name, and the process exits 1.
func helper(name string, run func() error) func() {
	return func() {
		if err := run(); err != nil {
			fmt.Fprintf(os.Stderr, "%s child: %v\n", name, err)
			os.Exit(1)
		}
	}
}

// stallTimeout is how long a side may find nothing to do before it gives
// up: generous, because this machine is shared and noisy.
const stallTimeout = time.Minute

// duplex is a memfd segment holding two rings: down (parent to child) at
// offset 0 and up (child to parent) right after it. It is what a worker's
// segment looks like without the control page.
type duplex struct {
	seg      *shm.Segment
	down, up *ring.Ring
}

func duplexSize(downCap, upCap int) int { return ring.RegionSize(downCap) + ring.RegionSize(upCap) }

// newDuplex creates and formats a segment; it is closed when the test ends,
// after the children started later are reaped (cleanups run last first).
func newDuplex(tb testing.TB, downCap, upCap int) *duplex {
	tb.Helper()
	seg, err := shm.Create("ring-test", duplexSize(downCap, upCap))
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, seg.Close()) })
	b := seg.Bytes()
	down, err := ring.Init(b[:ring.RegionSize(downCap)])
	require.NoError(tb, err)
	up, err := ring.Init(b[ring.RegionSize(downCap):])
	require.NoError(tb, err)
	return &duplex{seg: seg, down: down, up: up}
}

// attachDuplex is the child's side of newDuplex: the segment arrives as
// descriptor 3 (the first of ExtraFiles).
func attachDuplex(downCap, upCap int) (*duplex, error) {
	seg, err := shm.FromFD(3, duplexSize(downCap, upCap))
	if err != nil {
		return nil, err
	}
	b := seg.Bytes()
	down, err := ring.Attach(b[:ring.RegionSize(downCap)])
	if err != nil {
		seg.Close()
		return nil, err
	}
	up, err := ring.Attach(b[ring.RegionSize(downCap):])
	if err != nil {
		seg.Close()
		return nil, err
	}
	return &duplex{seg: seg, down: down, up: up}, nil
}

// child is a helper process started by startChild, reaped by one goroutine.
type child struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once Wait returned
	err  error         // Wait's result, set before done is closed
}

// startChild starts the named helper with files as descriptors 3, 4, ...
// It is killed (if still running) and reaped when the test ends.
func startChild(tb testing.TB, name string, files []*os.File, args ...string) *child {
	tb.Helper()
	cmd := testutil.HelperCommand(tb, name, args...)
	cmd.ExtraFiles = files
	require.NoError(tb, cmd.Start())
	ch := &child{cmd: cmd, done: make(chan struct{})}
	go func() {
		ch.err = cmd.Wait()
		close(ch.done)
	}()
	tb.Cleanup(ch.kill)
	return ch
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// kill stops the child if it still runs, and reaps it.
func (c *child) kill() {
	if !c.exited() {
		_ = c.cmd.Process.Kill()
	}
	<-c.done
}

// wait waits for the child to exit by itself, and fails the test if it
// does not within timeout (then it is killed) or exits non-zero.
func (c *child) wait(tb testing.TB, timeout time.Duration) {
	tb.Helper()
	select {
	case <-c.done:
	case <-time.After(timeout):
		c.kill()
		tb.Fatalf("child %d did not exit within %v", c.cmd.Process.Pid, timeout)
	}
	require.NoError(tb, c.err, "child %d", c.cmd.Process.Pid)
}

// poller paces a side that polls a ring and found nothing to do: it yields
// the processor, and every so often checks whether the wait has lasted
// longer than its timeout and whether the peer is still there (the child,
// in the parent; the parent, in a child). Both sides spin: the ring makes
// no system call, and this test does not depend on internal/wake.
type poller struct {
	timeout  time.Duration
	peer     *child // in the parent
	ppid     int    // in a child
	idle     int    // waits since the last progress
	deadline time.Time
	gone     bool // the peer was seen gone at the last check
}

func newPoller(peer *child, timeout time.Duration) *poller {
	return &poller{timeout: timeout, peer: peer, ppid: os.Getppid()}
}

// progress records that the side did something: the stall clock restarts.
func (w *poller) progress() { w.idle = 0 }

// errStall is returned by poller.wait when nothing happened for too long.
var errStall = errors.New("stalled: no progress")

// wait yields once. It fails when no progress happened within the timeout,
// or when the peer is gone and a poll after seeing it gone found nothing
// either (everything it wrote before exiting is visible by then).
func (w *poller) wait() error {
	w.idle++
	switch {
	case w.idle == 1:
		w.deadline = time.Now().Add(w.timeout)
		w.gone = false
	case w.idle%1024 == 0:
		if time.Now().After(w.deadline) {
			return fmt.Errorf("%w for %v", errStall, w.timeout)
		}
		gone := w.peer != nil && w.peer.exited() || w.peer == nil && os.Getppid() != w.ppid
		if gone && w.gone {
			if w.peer != nil {
				return fmt.Errorf("the child exited (%v) with nothing left to read", w.peer.err)
			}
			return errors.New("the parent exited")
		}
		w.gone = gone
	}
	if w.idle > spinPolls {
		// The peer has not moved for a while: it may be waiting for this
		// CPU. Give the CPU up (other processes share this machine).
		syscall.Syscall(syscall.SYS_SCHED_YIELD, 0, 0, 0)
		return nil
	}
	runtime.Gosched()
	return nil
}

// spinPolls is how many times in a row a poller yields only to the Go
// scheduler (a few microseconds) before it yields the CPU to the kernel.
const spinPolls = 64

// echoStream is the sequence of messages TestCrossProcess sends, the same
// in parent and child for the same seed: kind, size and content of message
// i, drawn in order.
type echoStream struct {
	rng     *rand.Rand
	seed    uint64
	maxSize int
}

func newEchoStream(seed uint64, maxSize int) *echoStream {
	return &echoStream{rng: rand.New(rand.NewPCG(seed, 0xec40)), seed: seed, maxSize: maxSize}
}

// next returns message i: mostly small, one in eight of any size up to
// maxSize (larger than a record: fragmented), one in sixteen exactly at the
// record limit.
func (s *echoStream) next(i uint64, maxRecord int) (ring.Kind, []byte) {
	var n int
	switch r := s.rng.IntN(16); {
	case r < 2:
		n = s.rng.IntN(s.maxSize + 1)
	case r == 2:
		n = maxRecord + s.rng.IntN(3) - 1
	default:
		n = s.rng.IntN(257)
	}
	off := (s.seed + 8*i) % 4096
	return ring.Kind(1 + (s.seed+i)%255), pattern[off:][:n]
}

// Reply of the echo child: kind, then the length and CRC-32C of what it
// received.
const (
	echoReplyKind = ring.Kind(7)
	echoReplySize = 12
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// TestCrossProcess runs the ring over a real memfd between this process and
// a child: the parent produces n messages of random sizes into the down
// ring, the child checks each and answers through the up ring of the same
// segment. Invariants:
//  1. The child receives every message exactly once, in order, with its
//     kind, id and content (it derives the expected ones from the seed).
//  2. The parent receives one reply per message, in order, with the length
//     and CRC-32C of what it sent.
//  3. Messages larger than a record and than the ring pass (fragmentation),
//     while the other direction runs at the same time.
//  4. The child exits 0 and is reaped; no descriptor, mapping or process
//     outlives the test (TestMain checks).
func TestCrossProcess(t *testing.T) {
	n := 50_000
	if testing.Short() {
		n = 2_000
	}
	const downCap, upCap = 64 << 10, ring.MinCapacity
	seed := rand.Uint64() >> 1
	t.Logf("seed %d, %d messages", seed, n)
	d := newDuplex(t, downCap, upCap)
	maxRecord := d.down.MaxRecord()
	maxSize := 3*maxRecord + 100 // larger than the ring
	ch := startChild(t, "ring-echo", []*os.File{d.seg.File()},
		strconv.Itoa(downCap), strconv.Itoa(upCap), strconv.FormatUint(seed, 10), strconv.Itoa(n), strconv.Itoa(maxSize))

	p, c := d.down.Producer(), d.up.Consumer(echoReplySize)
	w := newPoller(ch, stallTimeout)
	stream := newEchoStream(seed, maxSize)
	type reply struct {
		length uint64
		crc    uint32
	}
	want := make([]reply, 0, n)
	var (
		o          ring.Outgoing
		sent, recv uint64
		pending    bool
		buf        []byte
	)
	for recv < uint64(n) {
		progress := false
		if sent < uint64(n) {
			if !pending {
				kind, data := stream.next(sent, maxRecord)
				o.Reset(kind, sent, data)
				want = append(want, reply{uint64(len(data)), crc32.Checksum(data, castagnoli)})
				pending = true
			}
			done, _, err := p.PushMessage(&o)
			require.NoError(t, err)
			if done {
				sent++
				pending, progress = false, true
			}
		}
		m, ok, err := c.TryPop(buf)
		require.NoError(t, err)
		if ok {
			buf = m.Data
			require.Equal(t, echoReplyKind, m.Kind)
			require.Equal(t, recv, m.ID, "replies in order")
			require.Len(t, m.Data, echoReplySize)
			got := reply{binary.LittleEndian.Uint64(m.Data), binary.LittleEndian.Uint32(m.Data[8:])}
			require.Equal(t, want[recv], got, "reply to message %d", recv)
			recv++
			progress = true
		}
		if progress {
			w.progress()
		} else if err := w.wait(); err != nil {
			t.Fatalf("parent: %d sent, %d replies: %v", sent, recv, err)
		}
	}
	ch.wait(t, stallTimeout)
	_, ok, err := c.Peek()
	require.NoError(t, err)
	require.False(t, ok, "no reply beyond the last")
}

// ringEcho is the child of TestCrossProcess.
func ringEcho() error {
	args, err := intArgs(5)
	if err != nil {
		return err
	}
	downCap, upCap, seed, n, maxSize := int(args[0]), int(args[1]), uint64(args[2]), uint64(args[3]), int(args[4])
	d, err := attachDuplex(downCap, upCap)
	if err != nil {
		return err
	}
	defer d.seg.Close()
	c, p := d.down.Consumer(maxSize), d.up.Producer()
	w := newPoller(nil, stallTimeout)
	stream := newEchoStream(seed, maxSize)
	var out [echoReplySize]byte
	for i := uint64(0); i < n; {
		m, ok, err := c.Peek()
		if err != nil {
			return fmt.Errorf("message %d: %w", i, err)
		}
		if !ok {
			if err := w.wait(); err != nil {
				return fmt.Errorf("waiting for message %d: %w", i, err)
			}
			continue
		}
		w.progress()
		kind, want := stream.next(i, d.down.MaxRecord())
		if m.ID != i || m.Kind != kind || !bytes.Equal(m.Data, want) {
			return fmt.Errorf("message %d: got id %d, kind %d, %d bytes (equal: %v); want kind %d, %d bytes",
				i, m.ID, m.Kind, len(m.Data), bytes.Equal(m.Data, want), kind, len(want))
		}
		binary.LittleEndian.PutUint64(out[:], uint64(len(m.Data)))
		binary.LittleEndian.PutUint32(out[8:], crc32.Checksum(m.Data, castagnoli))
		if _, err := c.Release(); err != nil {
			return err
		}
		for {
			ok, _, err := p.TryPush(echoReplyKind, i, out[:])
			if err != nil {
				return fmt.Errorf("reply %d: %w", i, err)
			}
			if ok {
				break
			}
			if err := w.wait(); err != nil {
				return fmt.Errorf("waiting for room for reply %d: %w", i, err)
			}
		}
		i++
	}
	return nil
}

// intArgs parses the helper's arguments as n non-negative integers.
func intArgs(n int) ([]uint64, error) {
	args := testutil.HelperArgs()
	if len(args) != n {
		return nil, fmt.Errorf("want %d arguments, got %q", n, args)
	}
	out := make([]uint64, n)
	for i, a := range args {
		v, err := strconv.ParseUint(a, 10, 63)
		if err != nil {
			return nil, fmt.Errorf("argument %d: %w", i, err)
		}
		out[i] = v
	}
	return out, nil
}
