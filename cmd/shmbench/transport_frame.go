package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"
	"time"
)

// Framing of the pipe and unix transports: each message is a 4-byte
// little-endian header and the payload. The header's top bit marks a
// one-way message (counted, not echoed); a one-way message of length 0 is a
// sync, answered with a frame carrying the 8-byte count.
const (
	frameOneWay  = 1 << 31
	frameLenMask = frameOneWay - 1
)

// frameTransport is the parent's side of the pipe and unix transports.
type frameTransport struct {
	w    *os.File
	r    *bufio.Reader
	rf   *os.File // closed with w (may be w itself)
	peer *child
	wbuf []byte // header + payload, one write per message
	rbuf []byte
}

func newPipeTransport(maxMsg int) (transport, error) {
	reqW, respR, peer, err := startPipeChild("frame", strconv.Itoa(maxMsg))
	if err != nil {
		return nil, err
	}
	return newFrameTransport(reqW, respR, peer, maxMsg), nil
}

func newUnixTransport(maxMsg int) (transport, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	// The parent's end goes through the netpoller, as a net.UnixConn would.
	if err := syscall.SetNonblock(fds[0], true); err != nil {
		syscall.Close(fds[0])
		syscall.Close(fds[1])
		return nil, err
	}
	conn := os.NewFile(uintptr(fds[0]), "unix")
	childEnd := os.NewFile(uintptr(fds[1]), "unix child")
	peer, err := startChild("frame", strconv.Itoa(maxMsg), childEnd, childEnd)
	childEnd.Close()
	if err != nil {
		conn.Close()
		return nil, err
	}
	return newFrameTransport(conn, conn, peer, maxMsg), nil
}

func newFrameTransport(w, r *os.File, peer *child, maxMsg int) *frameTransport {
	return &frameTransport{
		w: w, rf: r, r: bufio.NewReaderSize(r, 64<<10), peer: peer,
		wbuf: make([]byte, 4+maxMsg), rbuf: make([]byte, max(maxMsg, 8)),
	}
}

func (t *frameTransport) write(hdr uint32, msg []byte) error {
	binary.LittleEndian.PutUint32(t.wbuf, hdr)
	n := copy(t.wbuf[4:], msg)
	_, err := t.w.Write(t.wbuf[:4+n])
	return err
}

// read reads one reply frame into rbuf.
func (t *frameTransport) read() ([]byte, error) {
	if err := t.rf.SetReadDeadline(time.Now().Add(stallTimeout)); err != nil && !errors.Is(err, os.ErrNoDeadline) {
		return nil, err
	}
	var hdr [4]byte
	if _, err := io.ReadFull(t.r, hdr[:]); err != nil {
		return nil, err
	}
	n := int(binary.LittleEndian.Uint32(hdr[:]) & frameLenMask)
	if n > len(t.rbuf) {
		return nil, fmt.Errorf("reply of %d bytes, more than %d", n, len(t.rbuf))
	}
	_, err := io.ReadFull(t.r, t.rbuf[:n])
	return t.rbuf[:n], err
}

func (t *frameTransport) roundTrip(msg []byte) error {
	if err := t.write(uint32(len(msg)), msg); err != nil {
		return err
	}
	got, err := t.read()
	if err == nil && len(got) != len(msg) {
		err = fmt.Errorf("echo of %d bytes for %d", len(got), len(msg))
	}
	return err
}

func (t *frameTransport) send(msg []byte) error {
	return t.write(frameOneWay|uint32(len(msg)), msg)
}

func (t *frameTransport) sync() (uint64, error) {
	if err := t.write(frameOneWay, nil); err != nil {
		return 0, err
	}
	got, err := t.read()
	if err != nil {
		return 0, err
	}
	if len(got) != 8 {
		return 0, fmt.Errorf("sync answer of %d bytes", len(got))
	}
	return binary.LittleEndian.Uint64(got), nil
}

func (t *frameTransport) close() error {
	t.w.Close() // the child exits at EOF
	if t.rf != t.w {
		t.rf.Close()
	}
	return t.peer.wait()
}

// frameChild is the peer of the pipe and unix transports: it reads frames
// from descriptor 3 and writes replies to descriptor 4 (the same socket for
// unix), until EOF.
func frameChild(args string) error {
	maxMsg, err := strconv.Atoi(args)
	if err != nil {
		return err
	}
	in, out := os.NewFile(3, "in"), os.NewFile(4, "out")
	r := bufio.NewReaderSize(in, 64<<10)
	buf := make([]byte, 4+max(maxMsg, 8))
	var count uint64
	for {
		if _, err := io.ReadFull(r, buf[:4]); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		hdr := binary.LittleEndian.Uint32(buf)
		n := int(hdr & frameLenMask)
		if n > maxMsg {
			return fmt.Errorf("message of %d bytes, more than %d", n, maxMsg)
		}
		if _, err := io.ReadFull(r, buf[4:4+n]); err != nil {
			return err
		}
		switch {
		case hdr&frameOneWay == 0: // echo: the header is the reply's too
			if _, err := out.Write(buf[:4+n]); err != nil {
				return err
			}
		case n == 0: // sync
			binary.LittleEndian.PutUint32(buf, 8)
			binary.LittleEndian.PutUint64(buf[4:], count)
			count = 0
			if _, err := out.Write(buf[:12]); err != nil {
				return err
			}
		default:
			count++
		}
	}
}
