package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sync"

	"github.com/shmpool/shmpool/internal/proto"
	"github.com/shmpool/shmpool/internal/wake"
	"github.com/shmpool/shmpool/ring"
	"github.com/shmpool/shmpool/shm"
	"github.com/shmpool/shmpool/status"
)

// Start starts a worker process running cfg.Func and returns once the
// worker has said hello and built its function. A failed Start leaves no
// process, descriptor or mapping behind.
func Start(ctx context.Context, cfg Config) (*Handle, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("worker: start: %w", err)
	}
	if cfg.Path == "" {
		// The worker is this binary: an unknown name fails here, for free.
		if _, ok := lookup(cfg.Func); !ok {
			return nil, fmt.Errorf("worker: start %q: %w (not registered in this binary)", cfg.Func, ErrUnknownFunc)
		}
	}
	if len(cfg.Static) > cfg.MaxPayload {
		return nil, fmt.Errorf("worker: start: static data of %d bytes exceeds MaxPayload %d: %w", len(cfg.Static), cfg.MaxPayload, ErrTooLarge)
	}
	h, err := spawn(cfg)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()
	if err := h.SetFunc(sctx, cfg.Func, cfg.Static); err != nil {
		h.Terminate()
		return nil, h.startError(ctx, err)
	}
	h.log("worker started", "pid", h.pid, "func", cfg.Func)
	return h, nil
}

func (h *Handle) startError(ctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("worker: start: %w", ctx.Err())
	case errors.Is(err, ErrUnknownFunc) || errors.As(err, new(*RemoteError)):
		return fmt.Errorf("worker: start %q: %w", h.cfg.Func, err)
	case !h.hello.Load():
		// The process exited without a hello, or the start timeout passed.
		what, cause := "exited without saying hello", err
		if !errors.Is(err, ErrExited) {
			what, cause = fmt.Sprintf("did not say hello within %v", h.cfg.StartTimeout), errors.Join(ErrTimeout, err)
		}
		return fmt.Errorf("worker: start: process %d %s (%w): does the binary call worker.Main() first thing in main (or TestMain)? Is Config.Path the right binary? stderr: %q",
			h.pid, what, cause, h.stderr.String())
	}
	return fmt.Errorf("worker: start: %w", err)
}

// spawn creates the segment and doorbells and starts the process.
func spawn(cfg Config) (h *Handle, err error) {
	hdr, err := proto.Plan(status.Size, ring.RegionSize(cfg.RingSize))
	if err != nil {
		return nil, fmt.Errorf("worker: plan segment: %w", err)
	}
	hdr.Cookie = newCookie()
	hdr.MaxPayload = uint64(cfg.MaxPayload)

	h = &Handle{
		cfg:      cfg,
		stderr:   &tail{},
		sendSem:  make(chan struct{}, 1),
		recvCh:   make(chan struct{}, 1),
		rxKick:   make(chan struct{}, 1),
		recvDone: make(chan struct{}),
		exitedCh: make(chan struct{}),
		done:     make(chan struct{}),
	}
	h.log = func(msg string, args ...any) { cfg.Logger.Info(msg, args...) }
	var closers []io.Closer
	defer func() {
		if err != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				closers[i].Close()
			}
		}
	}()
	if h.seg, err = shm.Create("worker", int(hdr.SegmentSize)); err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	closers = append(closers, h.seg)
	mem := h.seg.Bytes()
	if err = hdr.Encode(mem); err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	if h.reqRing, err = ring.Init(hdr.Request.Slice(mem)); err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	if h.respRing, err = ring.Init(hdr.Response.Slice(mem)); err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	if h.status, err = status.NewReader(hdr.Status.Slice(mem)); err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	for _, b := range []**wake.Doorbell{&h.workerBell, &h.resultBell, &h.roomBell} {
		if *b, err = wake.New(wake.Eventfd); err != nil {
			return nil, fmt.Errorf("worker: %w", err)
		}
		closers = append(closers, *b)
	}
	lifeR, lifeW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("worker: lifeline: %w", err)
	}
	defer lifeR.Close() // the child has its own copy once started
	h.lifeline = lifeW
	closers = append(closers, lifeW)

	n := live.Add(1)
	closers = append(closers, closerFunc(func() error { live.Add(-1); return nil }))
	h.spin = cfg.Spin
	if h.spin == 0 {
		h.spin = DefaultSpin(int(n))
	}
	h.spin = max(h.spin, 0)
	h.sendSpin = wake.NewSpin(h.spin)
	h.awaitSpin = wake.NewSpin(h.spin)

	stderr := io.Writer(os.Stderr)
	if cfg.Stderr != nil {
		stderr = cfg.Stderr
	}
	files := []*os.File{h.seg.File(), h.workerBell.Files()[0], h.resultBell.Files()[0], h.roomBell.Files()[0], lifeR}
	cmd, err := command(cfg, hdr.Cookie, int(hdr.SegmentSize), int64(h.spin), files, io.MultiWriter(stderr, h.stderr))
	if err != nil {
		return nil, err
	}
	if err = startProcess(cmd); err != nil {
		return nil, fmt.Errorf("worker: start process %s: %w", cmd.Path, err)
	}
	h.cmd, h.pid = cmd, cmd.Process.Pid
	h.req = h.reqRing.Producer()
	h.resp = h.respRing.Consumer(max(cfg.MaxPayload, 1<<20))
	go h.reap()
	go h.receive()
	return h, nil
}

// startProcess starts cmd from the forker thread, never from the caller's.
// The worker's Pdeathsig follows the OS thread that forks it, not the
// process (golang/go#27505): the runtime ends a thread when a goroutine
// locked to it (runtime.LockOSThread) returns without unlocking, and the
// kernel would then SIGKILL a worker whose parent lives on. That can happen
// to any thread an unlocked goroutine ran on, later, so a fresh goroutine
// is not enough: the forker is a goroutine locked to its thread for the
// life of the process, which therefore ends only with the process.
func startProcess(cmd *exec.Cmd) error {
	forker.once.Do(func() {
		forker.reqs = make(chan func())
		go forkLoop(forker.reqs)
	})
	errc := make(chan error, 1)
	forker.reqs <- func() { errc <- cmd.Start() }
	return <-errc
}

// forker runs the forks of startProcess; started on first use.
var forker struct {
	once sync.Once
	reqs chan func()
}

// forkLoop runs the forks it is sent on a thread it never gives back. Its
// goroutine lives as long as the process (testutil's leak check knows it).
func forkLoop(reqs <-chan func()) {
	runtime.LockOSThread() // never unlocked: see startProcess
	for f := range reqs {
		f()
	}
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// reap waits for the process, then wakes everything that waits on it.
func (h *Handle) reap() {
	err := h.cmd.Wait()
	reason, _ := h.reason.Load().(string)
	h.exitErr = exitErrorOf(h.pid, h.cmd.ProcessState, h.stderr.String(), reason)
	if h.cmd.ProcessState == nil {
		h.exitErr.Reason = fmt.Sprintf("wait: %v", err)
	}
	h.exited.Store(true)
	close(h.exitedCh)
	h.log("worker exited", "pid", h.pid, "status", h.exitErr.Error())
	// Wake the receiver and any sender waiting for room: their ready
	// functions see exited.
	h.kick()
	h.resultBell.Ring()
	h.roomBell.Ring()
	<-h.recvDone
	close(h.done)
}

// kill sends SIGKILL, recording why for the ExitError.
func (h *Handle) kill(reason string) {
	h.reason.CompareAndSwap(nil, reason)
	if err := h.cmd.Process.Kill(); err == nil {
		h.log("worker killed", "pid", h.pid, "reason", reason)
	}
}

// Close stops the worker gracefully: work already queued finishes, then the
// worker is told to stop and waited for; if it has not exited within
// Config.StopTimeout it is killed. Close then releases every resource. It
// blocks until the process has exited, and can be called any number of
// times, concurrently with anything; later calls return the first result.
func (h *Handle) Close() error {
	h.closeOnce.Do(func() { h.closeErr = h.close() })
	return h.closeErr
}

func (h *Handle) close() error {
	h.closing.Store(true)
	h.kick() // read the results of what is queued, so that the worker can finish it
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.StopTimeout)
	defer cancel()
	// If the stop cannot be queued, the time ran out (the ring stayed full)
	// or the worker is gone or being killed as corrupt: either way, wait
	// for its exit below, within the same bound.
	_ = h.sendStop(ctx)
	var err error
	select {
	case <-h.done:
	case <-ctx.Done():
		select {
		case <-h.done:
		default:
			h.kill("did not stop within StopTimeout")
			err = fmt.Errorf("worker: close: process %d did not stop within %v: %w", h.pid, h.cfg.StopTimeout, ErrTimeout)
		}
	}
	h.release()
	return err
}

// sendStop queues the stop message after everything already sent.
func (h *Handle) sendStop(ctx context.Context) error {
	if err := h.lockSend(ctx); err != nil {
		return err
	}
	defer h.unlockSend()
	if h.exited.Load() {
		return nil
	}
	if h.leftover {
		if _, err := h.push(ctx); err != nil {
			return err
		}
	}
	h.out.Reset(ring.Kind(proto.KindStop), 0, nil)
	_, err := h.push(ctx)
	return err
}

// Terminate kills the worker now (SIGKILL), fails every pending call with
// its *ExitError and releases every resource. It can be called any number
// of times, before, during or after Close.
func (h *Handle) Terminate() error {
	h.closing.Store(true)
	select {
	case <-h.done:
	default:
		h.kill("terminated")
	}
	h.release()
	return nil
}

// release waits for the process and the receiver, then frees the segment,
// the doorbells and the lifeline, once.
func (h *Handle) release() {
	<-h.done
	h.releaseOnce.Do(func() {
		h.sendSem <- struct{}{} // no sender touches the rings from here on
		h.rxMu.Lock()           // nor any reader (drain checks rxClosed)
		h.rxClosed = true
		h.rxMu.Unlock()
		h.last = h.Status()
		h.memMu.Lock()
		h.released = true
		h.memMu.Unlock()
		h.lifeline.Close()
		h.workerBell.Close()
		h.resultBell.Close()
		h.roomBell.Close()
		h.seg.Close()
		live.Add(-1)
	})
}
