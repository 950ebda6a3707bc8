package ring_test

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/ring"
)

// The benchmarks stream messages one way, as fast as the consumer takes
// them, and count delivered messages: a cross-process benchmark ends with a
// marker the child acknowledges, and the time to that acknowledgement is
// measured too. Each reports msgs/s next to MB/s. The pipe and SOCK_SEQPACKET
// benchmarks are the kernel baselines, run the same way (../shared/FIGURES.md).
//
//	go test -run='^$' -bench='Ring|Pipe|Seqpacket' -benchtime=2s -count=3 ./ring/

var benchSizes = []struct {
	name string
	n    int
}{
	{"size=8B", 8},
	{"size=64B", 64},
	{"size=1KiB", 1 << 10},
	{"size=64KiB", 64 << 10},
	{"size=1MiB", 1 << 20},
}

// benchRingCap is the ring capacity of the ring benchmarks: the default
// per-direction size (DESIGN.md, "Copies").
const benchRingCap = 4 << 20

// Record kinds of the cross-process ring benchmark.
const (
	benchData = ring.Kind(1) // a message to count
	benchMark = ring.Kind(2) // end of a run: the child answers with its count
	benchStop = ring.Kind(3) // the child exits
	benchAck  = ring.Kind(4) // the child's count, in the id
)

// Before the timed loop each cross-process benchmark waits until its child
// is up (it sends a count of readyCount), so that process start-up is not
// measured.
const readyCount = ^uint64(0)

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkRingInProcess streams messages from a producer goroutine to the
// benchmark goroutine over a heap ring; one op is one message popped (and
// copied out).
func BenchmarkRingInProcess(b *testing.B) {
	for _, bs := range benchSizes {
		b.Run(bs.name, func(b *testing.B) {
			_, p, c := newRing(b, benchRingCap)
			msg := payload(0, bs.n)
			var stop atomic.Bool
			done := make(chan error, 1)
			go func() {
				for !stop.Load() {
					ok, _, err := p.TryPush(benchData, 0, msg)
					if err != nil {
						done <- err
						return
					}
					if !ok {
						runtime.Gosched()
					}
				}
				done <- nil
			}()
			b.Cleanup(func() {
				stop.Store(true)
				require.NoError(b, <-done)
			})
			buf := make([]byte, bs.n)
			b.SetBytes(int64(bs.n))
			b.ReportAllocs()
			for b.Loop() {
				for {
					_, ok, err := c.TryPop(buf)
					if err != nil {
						b.Fatal(err)
					}
					if ok {
						break
					}
					runtime.Gosched()
				}
			}
			reportRate(b)
		})
	}
}

// BenchmarkRingCrossProcess streams messages to a child over a memfd ring;
// the child copies each out (TryPop) and counts it. One op is one message
// delivered: the time includes the child draining the ring at the end.
func BenchmarkRingCrossProcess(b *testing.B) {
	for _, bs := range benchSizes {
		b.Run(bs.name, func(b *testing.B) {
			d := newDuplex(b, benchRingCap, ring.MinCapacity)
			ch := startChild(b, "bench-ring", []*os.File{d.seg.File()},
				strconv.Itoa(benchRingCap), strconv.Itoa(ring.MinCapacity), strconv.Itoa(bs.n))
			p, c := d.down.Producer(), d.up.Consumer(0)
			w := newPoller(ch, stallTimeout)
			push := func(kind ring.Kind, id uint64, msg []byte) { pushPolling(b, p, w, kind, id, msg) }
			ack := func() uint64 {
				for {
					m, ok, err := c.TryPop(nil)
					require.NoError(b, err)
					if ok {
						require.Equal(b, benchAck, m.Kind)
						return m.ID
					}
					if err := w.wait(); err != nil {
						b.Fatal(err)
					}
				}
			}
			require.Equal(b, readyCount, ack(), "the child is ready")
			msg := payload(0, bs.n)
			b.SetBytes(int64(bs.n))
			b.ReportAllocs()
			for b.Loop() {
				push(benchData, 0, msg)
			}
			b.StartTimer() // until the child has all of them
			push(benchMark, 0, nil)
			got := ack()
			b.StopTimer()
			require.Equal(b, uint64(b.N), got, "messages the child counted")
			reportRate(b)
			push(benchStop, 0, nil)
			ch.wait(b, stallTimeout)
		})
	}
}

// pushPolling pushes one message, polling with w while the ring is full.
func pushPolling(b *testing.B, p *ring.Producer, w *poller, kind ring.Kind, id uint64, msg []byte) {
	for {
		ok, _, err := p.TryPush(kind, id, msg)
		if err != nil {
			b.Fatal(err)
		}
		if ok {
			w.progress()
			return
		}
		if err := w.wait(); err != nil {
			b.Fatal(err)
		}
	}
}

// benchEnds attaches a benchmark child to its duplex from its arguments
// (down capacity, up capacity, largest message) and returns its two ends.
func benchEnds(args []uint64) (*duplex, *ring.Consumer, *ring.Producer, error) {
	d, err := attachDuplex(int(args[0]), int(args[1]))
	if err != nil {
		return nil, nil, nil, err
	}
	return d, d.down.Consumer(int(args[2])), d.up.Producer(), nil
}

// benchRing is the child of BenchmarkRingCrossProcess.
func benchRing() error {
	args, err := intArgs(3)
	if err != nil {
		return err
	}
	if path := os.Getenv(childProfileEnv); path != "" {
		stop, err := startCPUProfile(path)
		if err != nil {
			return err
		}
		defer stop()
	}
	d, c, p, err := benchEnds(args)
	if err != nil {
		return err
	}
	defer d.seg.Close()
	w := newPoller(nil, stallTimeout)
	buf := make([]byte, args[2])
	ack := func(count uint64) error {
		for {
			ok, _, err := p.TryPush(benchAck, count, nil)
			if err != nil || ok {
				return err
			}
			if err := w.wait(); err != nil {
				return err
			}
		}
	}
	if err := ack(readyCount); err != nil {
		return err
	}
	var count uint64
	for {
		m, ok, err := c.TryPop(buf)
		if err != nil {
			return err
		}
		if !ok {
			if err := w.wait(); err != nil {
				return fmt.Errorf("after %d messages: %w", count, err)
			}
			continue
		}
		w.progress()
		switch m.Kind {
		case benchData:
			count++
		case benchMark:
			if err := ack(count); err != nil {
				return err
			}
			count = 0
		case benchStop:
			return nil
		default:
			return fmt.Errorf("unexpected kind %d", m.Kind)
		}
	}
}

// echoWindow is how many messages BenchmarkRingEchoCrossProcess keeps in
// flight, as worker's BenchmarkSendRecv does Sends ahead of Recv.
const echoWindow = 1024

// BenchmarkRingEchoCrossProcess is the floor under pipelined request and
// response (worker's BenchmarkSendRecv): up to echoWindow messages in flight
// to a child that echoes each one back on a second ring, both sides
// busy-polling, with no doorbell, no ordering bookkeeping and no allocation
// (the parent copies each echo into one buffer). One op is one message sent
// and its echo received.
//
//	go test -run='^$' -bench=RingEcho -count=3 ./ring/
func BenchmarkRingEchoCrossProcess(b *testing.B) {
	for _, bs := range benchSizes[1:3] { // 64 B and 1 KiB: a window of either fits a ring
		b.Run(bs.name, func(b *testing.B) {
			d := newDuplex(b, benchRingCap, benchRingCap)
			ch := startChild(b, "bench-ring-echo", []*os.File{d.seg.File()},
				strconv.Itoa(benchRingCap), strconv.Itoa(benchRingCap), strconv.Itoa(bs.n))
			p, c := d.down.Producer(), d.up.Consumer(0)
			w := newPoller(ch, stallTimeout)
			buf := make([]byte, bs.n)
			outstanding := 0
			// pop waits for an echo and takes it.
			pop := func() {
				for {
					m, ok, err := c.TryPop(buf)
					if err != nil {
						b.Fatal(err)
					}
					if ok {
						if m.Kind != benchData || len(m.Data) != bs.n {
							b.Fatalf("echo of kind %d, %d bytes; want kind %d, %d bytes", m.Kind, len(m.Data), benchData, bs.n)
						}
						w.progress()
						outstanding--
						return
					}
					if err := w.wait(); err != nil {
						b.Fatal(err)
					}
				}
			}
			// The window fits the ring: a push never waits for pops.
			push := func(kind ring.Kind, msg []byte) { pushPolling(b, p, w, kind, 0, msg) }
			msg := payload(0, bs.n)
			push(benchData, msg) // the child is up once it echoes
			outstanding++
			pop()
			b.SetBytes(int64(bs.n))
			b.ReportAllocs()
			for b.Loop() {
				push(benchData, msg)
				if outstanding++; outstanding == echoWindow {
					pop()
				}
			}
			for outstanding > 0 {
				pop()
			}
			reportRate(b)
			push(benchStop, nil)
			ch.wait(b, stallTimeout)
		})
	}
}

// benchRingEcho is the child of BenchmarkRingEchoCrossProcess: it pushes
// every message back as it is, until benchStop.
func benchRingEcho() error {
	args, err := intArgs(3)
	if err != nil {
		return err
	}
	d, c, p, err := benchEnds(args)
	if err != nil {
		return err
	}
	defer d.seg.Close()
	w := newPoller(nil, stallTimeout)
	for {
		m, ok, err := c.Peek()
		if err != nil {
			return err
		}
		if !ok {
			if err := w.wait(); err != nil {
				return err
			}
			continue
		}
		w.progress()
		if m.Kind == benchStop {
			return nil
		}
		for {
			ok, _, err := p.TryPush(m.Kind, m.ID, m.Data)
			if err != nil {
				return err
			}
			if ok {
				break
			}
			if err := w.wait(); err != nil {
				return err
			}
		}
		if _, err := c.Release(); err != nil {
			return err
		}
	}
}

// childProfileEnv names a file the child of BenchmarkRingCrossProcess
// writes a CPU profile to (the parent's is -cpuprofile); with several
// sub-benchmarks the last child's profile is what remains:
//
//	SHMPOOL_BENCH_CHILD_CPUPROFILE=/tmp/child.prof go test -run='^$' -bench='RingCross.*1MiB' ./ring/
const childProfileEnv = "SHMPOOL_BENCH_CHILD_CPUPROFILE"

func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// BenchmarkPipeCrossProcess is the pipe baseline: the same stream through
// an os.Pipe pair, each message one write of a 4-byte length prefix and the
// payload; the child reads through a 64 KiB bufio.Reader and discards. A
// zero length is the marker, answered with the count on a second pipe.
func BenchmarkPipeCrossProcess(b *testing.B) {
	for _, bs := range benchSizes {
		b.Run(bs.name, func(b *testing.B) {
			dataR, dataW, err := os.Pipe()
			require.NoError(b, err)
			ackR, ackW, err := os.Pipe()
			require.NoError(b, err)
			ch := startChild(b, "bench-pipe", []*os.File{dataR, ackW}, strconv.Itoa(bs.n))
			require.NoError(b, dataR.Close())
			require.NoError(b, ackW.Close())
			b.Cleanup(func() {
				dataW.Close()
				ackR.Close()
			})
			require.Equal(b, readyCount, readAck(b, ackR), "the child is ready")
			frame := make([]byte, 4+bs.n)
			binary.LittleEndian.PutUint32(frame, uint32(bs.n))
			copy(frame[4:], payload(0, bs.n))
			b.SetBytes(int64(bs.n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := dataW.Write(frame); err != nil {
					b.Fatal(err)
				}
			}
			b.StartTimer()
			_, err = dataW.Write(make([]byte, 4))
			require.NoError(b, err)
			got := readAck(b, ackR)
			b.StopTimer()
			require.Equal(b, uint64(b.N), got, "messages the child counted")
			reportRate(b)
			require.NoError(b, dataW.Close()) // the child exits at EOF
			ch.wait(b, stallTimeout)
		})
	}
}

// readAck reads the child's 8-byte count.
func readAck(b *testing.B, f *os.File) uint64 {
	b.Helper()
	require.NoError(b, f.SetReadDeadline(time.Now().Add(stallTimeout)))
	var ack [8]byte
	_, err := io.ReadFull(f, ack[:])
	require.NoError(b, err)
	return binary.LittleEndian.Uint64(ack[:])
}

func benchPipe() error {
	args, err := intArgs(1)
	if err != nil {
		return err
	}
	data, ack := os.NewFile(3, "data"), os.NewFile(4, "ack")
	if err := writeAck(ack, readyCount); err != nil {
		return err
	}
	r := bufio.NewReaderSize(data, 64<<10)
	buf := make([]byte, args[0])
	var hdr [4]byte
	var count uint64
	for {
		if _, err := io.ReadFull(r, hdr[:]); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		n := binary.LittleEndian.Uint32(hdr[:])
		if n == 0 {
			if err := writeAck(ack, count); err != nil {
				return err
			}
			count = 0
			continue
		}
		if int(n) > len(buf) {
			return fmt.Errorf("message of %d bytes, more than %d", n, len(buf))
		}
		if _, err := io.ReadFull(r, buf[:n]); err != nil {
			return err
		}
		count++
	}
}

func writeAck(f *os.File, count uint64) error {
	var ack [8]byte
	binary.LittleEndian.PutUint64(ack[:], count)
	_, err := f.Write(ack[:])
	return err
}

// BenchmarkSeqpacketCrossProcess is the SOCK_SEQPACKET baseline: the same
// stream through a unix socketpair, one packet per message; the child reads
// each packet into a buffer and discards it. A 1-byte packet is the marker.
// From 64 KiB up the socket buffers are set to 2*size+64 KiB, without which
// 1 MiB packets do not fit (FIGURES.md, note 2).
func BenchmarkSeqpacketCrossProcess(b *testing.B) {
	for _, bs := range benchSizes {
		b.Run(bs.name, func(b *testing.B) {
			fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
			require.NoError(b, err)
			if bs.n >= 64<<10 {
				for _, fd := range fds {
					for _, opt := range []int{syscall.SO_SNDBUF, syscall.SO_RCVBUF} {
						require.NoError(b, syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, opt, 2*bs.n+64<<10))
					}
				}
			}
			// The parent's end goes through the netpoller, as a net.UnixConn would.
			require.NoError(b, syscall.SetNonblock(fds[0], true))
			conn := os.NewFile(uintptr(fds[0]), "seqpacket")
			childEnd := os.NewFile(uintptr(fds[1]), "seqpacket child")
			ch := startChild(b, "bench-seqpacket", []*os.File{childEnd}, strconv.Itoa(bs.n))
			require.NoError(b, childEnd.Close())
			b.Cleanup(func() { conn.Close() })
			require.Equal(b, readyCount, readAck(b, conn), "the child is ready")
			msg := payload(0, bs.n)
			b.SetBytes(int64(bs.n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := conn.Write(msg); err != nil {
					b.Fatal(err)
				}
			}
			b.StartTimer()
			_, err = conn.Write([]byte{0})
			require.NoError(b, err)
			got := readAck(b, conn)
			b.StopTimer()
			require.Equal(b, uint64(b.N), got, "messages the child counted")
			reportRate(b)
			require.NoError(b, conn.Close()) // the child exits at EOF
			ch.wait(b, stallTimeout)
		})
	}
}

func benchSeqpacket() error {
	args, err := intArgs(1)
	if err != nil {
		return err
	}
	conn := os.NewFile(3, "seqpacket")
	if err := writeAck(conn, readyCount); err != nil {
		return err
	}
	buf := make([]byte, args[0]+1)
	var count uint64
	for {
		n, err := conn.Read(buf)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if n == 1 {
			if err := writeAck(conn, count); err != nil {
				return err
			}
			count = 0
			continue
		}
		count++
	}
}
