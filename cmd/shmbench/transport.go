package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// transport is one way of moving messages to a peer (a child process or a
// goroutine) that echoes them or counts them. It is used by one goroutine.
type transport interface {
	// roundTrip sends msg and waits for the peer's echo of it.
	roundTrip(msg []byte) error
	// send sends msg one way: the peer only counts it.
	send(msg []byte) error
	// sync waits until the peer has received everything sent, and returns
	// how many messages it counted since the previous sync.
	sync() (uint64, error)
	close() error
}

// newTransport starts the named transport; maxMsg is the largest message.
func newTransport(name string, maxMsg int) (transport, error) {
	switch name {
	case "shm":
		return newShmTransport(maxMsg)
	case "ring":
		return newRingTransport(maxMsg)
	case "pipe":
		return newPipeTransport(maxMsg)
	case "unix":
		return newUnixTransport(maxMsg)
	case "gob":
		return newGobTransport()
	case "chan":
		return newChanTransport(maxMsg), nil
	}
	return nil, fmt.Errorf("unknown transport %q", name)
}

// childEnv selects a child mode when this binary is re-executed as the peer
// of a transport: its value is the mode, its arguments follow in
// childArgsEnv.
const (
	childEnv     = "SHMBENCH_CHILD"
	childArgsEnv = "SHMBENCH_CHILD_ARGS"
)

// stallTimeout bounds a wait for a peer that makes no progress.
const stallTimeout = 30 * time.Second

// child is a re-executed peer process.
type child struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // Wait's result, set before done is closed
}

// startChild re-executes this binary in the given mode with files as
// descriptors 3, 4, ...
func startChild(mode, args string, files ...*os.File) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"="+mode, childArgsEnv+"="+args)
	cmd.ExtraFiles = files
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s child: %w", mode, err)
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// startPipeChild starts a child of the given mode reading requests from one
// pipe and writing responses to another, and returns the parent's ends:
// w to send requests, r to read responses.
func startPipeChild(mode, args string) (w, r *os.File, peer *child, err error) {
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, nil, nil, err
	}
	respR, respW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return nil, nil, nil, err
	}
	peer, err = startChild(mode, args, reqR, respW)
	reqR.Close()
	respW.Close()
	if err != nil {
		reqW.Close()
		respR.Close()
		return nil, nil, nil, err
	}
	return reqW, respR, peer, nil
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// wait waits for the child to exit by itself for a while, then kills it.
func (c *child) wait() error {
	select {
	case <-c.done:
		return c.err
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
		return errors.New("child did not exit: killed")
	}
}

// runChild is main for a re-executed peer.
func runChild(mode string) int {
	var err error
	args := os.Getenv(childArgsEnv)
	switch mode {
	case "frame":
		err = frameChild(args)
	case "gob":
		err = gobChild()
	case "ring":
		err = ringChild(args)
	default:
		err = fmt.Errorf("unknown child mode %q", mode)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "shmbench %s child: %v\n", mode, err)
		return exitFail
	}
	return exitOK
}
