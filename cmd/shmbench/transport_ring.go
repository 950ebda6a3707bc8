package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shmpool/shmpool/ring"
)

// The raw ring transport: two rings (package ring) in a memfd shared with a
// child, both sides polling, no doorbell: the floor under shmpool's figures.
// The memfd is not named "shmpool:..." (it is not a worker segment).

// ringCap is the capacity of each direction, the worker's default.
const ringCap = 4 << 20

// Record kinds of the ring transport.
const (
	ringEcho   ring.Kind = iota + 1 // echoed back as ringReply
	ringOneWay                      // counted
	ringSync                        // answered with ringReply carrying the count in its id
	ringReply
	ringStop // the child exits
)

type ringTransport struct {
	f    *os.File
	mem  []byte
	peer *child
	p    *ring.Producer
	c    *ring.Consumer
	out  ring.Outgoing
	poll poller
	rbuf []byte
}

func ringRegions(mem []byte) (down, up []byte) {
	n := ring.RegionSize(ringCap)
	return mem[:n], mem[n : 2*n]
}

func newRingTransport(maxMsg int) (_ *ringTransport, err error) {
	fd, err := unix.MemfdCreate("shmbench-ring", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "shmbench-ring")
	size := 2 * ring.RegionSize(ringCap)
	if err := f.Truncate(int64(size)); err != nil {
		f.Close()
		return nil, err
	}
	mem, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("mmap: %w", err)
	}
	t := &ringTransport{f: f, mem: mem, rbuf: make([]byte, maxMsg)}
	defer func() {
		if err != nil {
			unix.Munmap(mem)
			f.Close()
		}
	}()
	downMem, upMem := ringRegions(mem)
	down, err := ring.Init(downMem)
	if err != nil {
		return nil, err
	}
	up, err := ring.Init(upMem)
	if err != nil {
		return nil, err
	}
	t.p, t.c = down.Producer(), up.Consumer(maxMsg)
	if t.peer, err = startChild("ring", strconv.Itoa(maxMsg), f); err != nil {
		return nil, err
	}
	t.poll = poller{peerGone: t.peer.exited}
	return t, nil
}

func (t *ringTransport) push(kind ring.Kind, id uint64, msg []byte) error {
	t.out.Reset(kind, id, msg)
	t.poll.progress()
	for {
		done, _, err := t.p.PushMessage(&t.out)
		if err != nil || done {
			return err
		}
		if err := t.poll.wait(); err != nil {
			return err
		}
	}
}

func (t *ringTransport) pop() (ring.Msg, error) {
	t.poll.progress()
	for {
		m, ok, err := t.c.TryPop(t.rbuf)
		if err != nil || ok {
			return m, err
		}
		if err := t.poll.wait(); err != nil {
			return m, err
		}
	}
}

func (t *ringTransport) roundTrip(msg []byte) error {
	if err := t.push(ringEcho, 0, msg); err != nil {
		return err
	}
	m, err := t.pop()
	if err == nil && (m.Kind != ringReply || len(m.Data) != len(msg)) {
		err = fmt.Errorf("echo of kind %d, %d bytes for %d", m.Kind, len(m.Data), len(msg))
	}
	return err
}

func (t *ringTransport) send(msg []byte) error { return t.push(ringOneWay, 0, msg) }

func (t *ringTransport) sync() (uint64, error) {
	if err := t.push(ringSync, 0, nil); err != nil {
		return 0, err
	}
	m, err := t.pop()
	if err == nil && m.Kind != ringReply {
		err = fmt.Errorf("sync answered with kind %d", m.Kind)
	}
	return m.ID, err
}

func (t *ringTransport) close() error {
	err := t.push(ringStop, 0, nil)
	if err == nil {
		err = t.peer.wait()
	} else {
		t.peer.cmd.Process.Kill()
		<-t.peer.done
	}
	return errors.Join(err, unix.Munmap(t.mem), t.f.Close())
}

// ringChild is the peer of the ring transport: the memfd is descriptor 3.
func ringChild(args string) error {
	maxMsg, err := strconv.Atoi(args)
	if err != nil {
		return err
	}
	size := 2 * ring.RegionSize(ringCap)
	mem, err := unix.Mmap(3, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("mmap: %w", err)
	}
	downMem, upMem := ringRegions(mem)
	down, err := ring.Attach(downMem)
	if err != nil {
		return err
	}
	up, err := ring.Attach(upMem)
	if err != nil {
		return err
	}
	c, p := down.Consumer(maxMsg), up.Producer()
	ppid := os.Getppid()
	w := poller{peerGone: func() bool { return os.Getppid() != ppid }}
	var out ring.Outgoing
	push := func(kind ring.Kind, id uint64, msg []byte) error {
		out.Reset(kind, id, msg)
		w.progress()
		for {
			done, _, err := p.PushMessage(&out)
			if err != nil || done {
				return err
			}
			if err := w.wait(); err != nil {
				return err
			}
		}
	}
	buf := make([]byte, maxMsg)
	var count uint64
	for {
		m, ok, err := c.Peek()
		if err != nil {
			return err
		}
		if !ok {
			if err := w.wait(); err != nil {
				if errors.Is(err, errStall) {
					continue // the parent is alive, maybe between measurements
				}
				return err
			}
			continue
		}
		w.progress()
		switch m.Kind {
		case ringEcho:
			err = push(ringReply, 0, m.Data)
		case ringOneWay:
			copy(buf, m.Data)
			count++
		case ringSync:
			err = push(ringReply, count, nil)
			count = 0
		case ringStop:
			return nil
		default:
			err = fmt.Errorf("unexpected kind %d", m.Kind)
		}
		if err != nil {
			return err
		}
		if _, err := c.Release(); err != nil {
			return err
		}
	}
}

// poller paces a side that polls a ring and found nothing to do: it yields
// to the Go scheduler for a few polls, then gives the CPU up to the kernel
// (the peer may be waiting for it: this machine has few CPUs); every so
// often it checks the stall timeout and whether the peer is gone.
type poller struct {
	peerGone func() bool
	idle     int
	deadline time.Time
}

var errStall = errors.New("stalled: no progress")

func (w *poller) progress() { w.idle = 0 }

func (w *poller) wait() error {
	w.idle++
	switch {
	case w.idle == 1:
		w.deadline = time.Now().Add(stallTimeout)
	case w.idle%1024 == 0:
		if w.peerGone() {
			return errors.New("the peer is gone")
		}
		if time.Now().After(w.deadline) {
			w.idle = 0
			return fmt.Errorf("%w for %v", errStall, stallTimeout)
		}
	}
	if w.idle > 64 {
		syscall.Syscall(syscall.SYS_SCHED_YIELD, 0, 0, 0)
		return nil
	}
	runtime.Gosched()
	return nil
}
