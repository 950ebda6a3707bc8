package wake_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/shmpool/shmpool/internal/atomicx"
	"github.com/shmpool/shmpool/internal/testutil"
	"github.com/shmpool/shmpool/internal/wake"
)

// The shared words of a ping-pong between a driver and an echo, one cache
// line each:
//
//	| ping | pong | echo waiting | driver waiting | stop | echo rings |
const (
	offPing          = iota * atomicx.CacheLine // uint64, driver writes: round trips started
	offPong                                     // uint64, echo writes: round trips answered
	offEchoWaiting                              // uint32, echo sets before it sleeps, driver's Wake clears
	offDriverWaiting                            // uint32, driver sets before it sleeps, echo's Wake clears
	offStop                                     // uint32, driver writes: the echo should return
	offEchoRings                                // uint64, echo writes: how often its Wake rang
	layoutSize
)

type words struct {
	ping, pong, echoRings      *atomic.Uint64
	echoWaiting, driverWaiting *atomic.Uint32
	stop                       *atomic.Uint32
}

// String describes the words, to diagnose a stall.
func (w words) String() string {
	return fmt.Sprintf("ping %d, pong %d, echo waiting %d, driver waiting %d, stop %d, echo rings %d",
		w.ping.Load(), w.pong.Load(), w.echoWaiting.Load(), w.driverWaiting.Load(), w.stop.Load(), w.echoRings.Load())
}

func view(b []byte) words {
	return words{
		ping:          atomicx.Uint64At(b, offPing),
		pong:          atomicx.Uint64At(b, offPong),
		echoRings:     atomicx.Uint64At(b, offEchoRings),
		echoWaiting:   atomicx.Uint32At(b, offEchoWaiting),
		driverWaiting: atomicx.Uint32At(b, offDriverWaiting),
		stop:          atomicx.Uint32At(b, offStop),
	}
}

// echo answers every ping with a pong until stop is set: the child's side.
func echo(ctx context.Context, w words, in, out *wake.Doorbell, spin time.Duration) error {
	for i := uint64(1); ; i++ {
		ready := func() bool { return w.ping.Load() >= i || w.stop.Load() != 0 }
		if err := wake.Sleep(ctx, in, w.echoWaiting, ready, spin); err != nil {
			return fmt.Errorf("echo: sleep for ping %d: %w", i, err)
		}
		if w.stop.Load() != 0 {
			return nil
		}
		w.pong.Store(i)
		rang, err := wake.Wake(out, w.driverWaiting)
		if err != nil {
			return fmt.Errorf("echo: wake for pong %d: %w", i, err)
		}
		if rang {
			w.echoRings.Add(1)
		}
	}
}

// roundTrip is one ping and its pong: the driver's side of cycle i.
func roundTrip(ctx context.Context, w words, out, in *wake.Doorbell, spin time.Duration, i uint64) (rang bool, err error) {
	w.ping.Store(i)
	if rang, err = wake.Wake(out, w.echoWaiting); err != nil {
		return rang, fmt.Errorf("wake for ping %d: %w", i, err)
	}
	ready := func() bool { return w.pong.Load() >= i }
	if err := wake.Sleep(ctx, in, w.driverWaiting, ready, spin); err != nil {
		return rang, fmt.Errorf("sleep for pong %d (%s): %w", i, w, err)
	}
	return rang, nil
}

// stopEcho makes echo return.
func stopEcho(w words, out *wake.Doorbell) error {
	w.stop.Store(1)
	_, err := wake.Wake(out, w.echoWaiting)
	return err
}

func newDoorbell(tb testing.TB, kind wake.Kind) *wake.Doorbell {
	tb.Helper()
	d, err := wake.New(kind)
	require.NoError(tb, err)
	tb.Cleanup(func() { d.Close() })
	return d
}

// stallLimit is how long a ping-pong may go without a round trip before the
// test calls it a lost wake-up. A lost wake-up stalls for ever; a slow
// machine only slows down, so progress is watched rather than total time.
const stallLimit = 30 * time.Second

// watchProgress returns a context that is cancelled, with a cause naming the
// stall, once counter has not moved for stallLimit. Stop it with the
// returned func.
func watchProgress(counter *atomic.Uint64) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(stallLimit / 10)
		defer tick.Stop()
		last, since := counter.Load(), time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				if v := counter.Load(); v != last {
					last, since = v, now
				} else if now.Sub(since) >= stallLimit {
					cancel(fmt.Errorf("no round trip for %v after %d: a lost wake-up", stallLimit, v))
					return
				}
			}
		}
	}()
	return ctx, func() {
		close(done)
		cancel(nil)
	}
}

// echoPeer is an echo running in a child process over a memfd.
type echoPeer struct {
	w       words
	toEcho  *wake.Doorbell
	toDrive *wake.Doorbell
	stop    func() error // stops the echo and reaps the child
}

// startEchoChild starts the "echo" helper with the memfd at descriptor 3 and
// the two doorbells' files after it.
func startEchoChild(tb testing.TB, kind wake.Kind, spin time.Duration) *echoPeer {
	tb.Helper()
	mfd, err := unix.MemfdCreate("wake-test", unix.MFD_CLOEXEC)
	require.NoError(tb, err)
	memfd := os.NewFile(uintptr(mfd), "wake-test-memfd")
	defer memfd.Close() // the mapping and the child's copy outlive it
	size := os.Getpagesize()
	require.NoError(tb, unix.Ftruncate(mfd, int64(size)))
	mem, err := unix.Mmap(mfd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	require.NoError(tb, err)
	tb.Cleanup(func() { unix.Munmap(mem) })

	p := &echoPeer{w: view(mem), toEcho: newDoorbell(tb, kind), toDrive: newDoorbell(tb, kind)}
	cmd := testutil.HelperCommand(tb, "echo", strconv.Itoa(int(kind)), spin.String())
	cmd.ExtraFiles = append([]*os.File{memfd}, p.toEcho.Files()...)
	cmd.ExtraFiles = append(cmd.ExtraFiles, p.toDrive.Files()...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(tb, cmd.Start())

	var stopped bool
	p.stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		serr := stopEcho(p.w, p.toEcho)
		if err := reap(cmd, time.Minute); err != nil {
			return err
		}
		return serr
	}
	tb.Cleanup(func() { p.stop() })
	return p
}

// reap waits for cmd, killing it if it has not exited within limit.
func reap(cmd *exec.Cmd, limit time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("echo child %d did not exit within %v", cmd.Process.Pid, limit)
	}
}

// echoChild is the "echo" helper: args are the doorbell kind and the spin.
func echoChild() {
	if err := runEchoChild(testutil.HelperArgs()); err != nil {
		fmt.Fprintf(os.Stderr, "echo helper: %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func runEchoChild(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("args %q, want kind and spin", args)
	}
	k, err := strconv.Atoi(args[0])
	if err != nil {
		return err
	}
	kind := wake.Kind(k)
	spin, err := time.ParseDuration(args[1])
	if err != nil {
		return err
	}
	mem, err := unix.Mmap(3, 0, os.Getpagesize(), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("mmap: %w", err)
	}
	unix.Close(3)
	n := 1
	if kind == wake.Pipe {
		n = 2
	}
	fds := func(first int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = first + i
		}
		return out
	}
	in, err := wake.FromFDs(kind, fds(4)...)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := wake.FromFDs(kind, fds(4+n)...)
	if err != nil {
		return err
	}
	defer out.Close()
	// A backstop: the parent's lifetime bounds ours through Pdeathsig.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	return echo(ctx, view(mem), in, out, spin)
}

func init() {
	helpers["echo"] = echoChild
	helpers["exit"] = func() {}
}
