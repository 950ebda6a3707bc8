package worker

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/shmpool/shmpool/internal/proto"
	"github.com/shmpool/shmpool/internal/wake"
	"github.com/shmpool/shmpool/ring"
)

// The response ring has one reader at a time: whoever holds rxMu. A caller
// waiting in Execute, SetFunc or Recv reads the ring itself while it spins
// (await, awaitResult), so in the steady state a result reaches its caller
// without a goroutine hand-off. A caller whose spin ran out while no one
// else reads sleeps on the result doorbell itself, holding rxMu. Only the
// holder of rxMu sets the ring's consumer waiting word, and only just
// before it sleeps, so the worker rings the doorbell only when a reader
// really sleeps.
//
// The receiver goroutine reads for those who cannot: it is kicked when a
// caller stops waiting with calls still pending, when a Recv waits while
// someone else holds rxMu, when a Send is queued while such a Recv waits or
// Close has begun, when a sender waits for room in the request ring (the
// worker may be waiting for room for results nobody has asked for), when
// Close begins and when the process exits. It reads while anyone needs it
// (needReader) and decides to stop under pendMu, where every one of those
// registers itself before it kicks, so a kick is never lost. Results of Send
// that nobody needs yet stay in the ring, where Poll and Recv find them.

// receive is the receiver goroutine. When the process has exited it
// delivers what the worker completed before dying (a record is visible only
// once whole) and fails every other call.
func (h *Handle) receive() {
	defer close(h.recvDone)
	spin := wake.NewSpin(h.spin)
	for {
		<-h.rxKick
		h.rxMu.Lock()
		stop := h.serve(spin)
		h.rxMu.Unlock()
		if stop {
			break
		}
	}
	<-h.exitedCh
	h.failAll(h.exitErr)
}

// serve reads results until no call is pending (false) or the worker is
// gone (true). The caller holds rxMu.
func (h *Handle) serve(spin *wake.Spin) bool {
	ready := func() bool { return h.resp.Ready() || h.exited.Load() }
	for {
		if err := h.drain(); err != nil {
			h.corrupted(err)
			return true
		}
		if h.exited.Load() && !h.resp.Ready() {
			return true
		}
		if !h.needReader() {
			return false
		}
		if err := spin.Sleep(context.Background(), h.resultBell, h.respRing.ConsumerWaiting(), ready); err != nil {
			h.corrupted(fmt.Errorf("result doorbell: %w", err))
			return true
		}
	}
}

// drain delivers every result in the response ring. The caller holds rxMu.
// Once the segment is released it reads nothing: a caller that polls late
// (Poll after Close, an Execute whose call failAll has just failed) must
// not touch unmapped memory.
func (h *Handle) drain() error {
	if h.rxClosed {
		return nil
	}
	for {
		m, ok, err := h.resp.Peek()
		if err != nil {
			return fmt.Errorf("response ring: %w", err)
		}
		if !ok {
			// Fragments may have been consumed: the worker may wait for room.
			wake.Wake(h.workerBell, h.respRing.ProducerWaiting())
			return nil
		}
		if err := h.deliver(m); err != nil {
			return err
		}
		if _, err := h.resp.Release(); err != nil {
			return fmt.Errorf("response ring: %w", err)
		}
		wake.Wake(h.workerBell, h.respRing.ProducerWaiting())
	}
}

// await waits until c is done or ctx ends. It spins for up to the spin
// budget, reading the response ring itself whenever no one else does; then,
// if no one else reads the ring, it sleeps on the result doorbell as the
// reader, so the worker's ring wakes this goroutine directly, with no
// hand-off. If someone else reads the ring, they deliver c's result. On
// leaving, it hands the reading of results still pending to the receiver
// goroutine.
func (h *Handle) await(ctx context.Context, c *call) {
	// The conditions do not escape (wake's spin and Sleep keep them on the
	// stack), so waiting allocates nothing.
	done := func() bool { return h.poll(c) }
	if c.spin > 0 {
		// A spin longer than the adaptive budget (see answerSpin), so it
		// ends with ctx too.
		ctxDone := ctx.Done()
		doneOrCancelled := func() bool {
			if done() {
				return true
			}
			select {
			case <-ctxDone:
				return true
			default:
				return false
			}
		}
		if wake.SpinUntil(doneOrCancelled, c.spin) {
			return // done, or ctx ended: wait sees which
		}
	} else if h.awaitSpin.Until(done) {
		return
	}
	if c.state.Load() == callWaiting && h.rxMu.TryLock() {
		err := h.readUntil(ctx, func() bool { return c.state.Load() != callWaiting })
		h.rxMu.Unlock()
		if err != nil {
			h.corrupted(err)
		}
	}
	if h.hasPending() {
		h.kick()
	}
}

// answerSpin is how long a caller spins for the answer to its call of size
// bytes, when that is not the adaptive budget (0): a call that woke the
// worker (rang) waits a wake-up for its answer (tens of microseconds, more
// on a VM whose idle vCPU has halted), and a large call waits for the
// worker to copy its input and result. Spinning through that costs one
// wake-up instead of two (ours too); the adaptive budget is sized for an
// awake worker and small messages, and is left alone.
func (h *Handle) answerSpin(rang bool, size int) time.Duration {
	extra := copySpin(size)
	switch {
	case h.spin <= 0:
		return 0
	case rang:
		return wokeSpinFactor*h.spin + extra
	case extra > 0:
		return h.spin + extra
	}
	return 0
}

// readUntil reads the response ring until stop holds or the worker has
// exited, sleeping on the result doorbell as the ring's reader in between;
// it also returns when ctx ends. It returns the error of a corrupt ring (or
// of a doorbell that failed while ctx lives), which the caller passes to
// corrupted. The caller holds rxMu.
func (h *Handle) readUntil(ctx context.Context, stop func() bool) error {
	readable := func() bool { return h.resp.Ready() || stop() || h.exited.Load() }
	for {
		if err := h.drain(); err != nil {
			return err
		}
		if stop() || h.exited.Load() {
			return nil
		}
		if err := wake.Sleep(ctx, h.resultBell, h.respRing.ConsumerWaiting(), readable, 0); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("result doorbell: %w", err)
		}
	}
}

// poll is await's spin step: read the response ring if no one else does,
// and report whether c is done.
func (h *Handle) poll(c *call) bool {
	if c.state.Load() != callWaiting {
		return true
	}
	if !h.readSome() {
		return true // stop spinning: the call will fail
	}
	return c.state.Load() != callWaiting
}

// readSome delivers the results in the response ring unless someone else
// is reading it. It reports false if the ring was corrupt (every call then
// fails).
func (h *Handle) readSome() bool {
	if !h.rxMu.TryLock() {
		return true
	}
	err := h.drain()
	h.rxMu.Unlock()
	if err != nil {
		h.corrupted(err)
		return false
	}
	return true
}

// awaitResult is Recv's wait: it returns once a result of Send may be
// queued for Recv, or ctx has ended (with ctx.Err()). Like await, it spins
// reading the ring, then sleeps on the result doorbell as the reader; if
// someone else reads, or the worker is gone, it has the receiver goroutine
// read (or fail what is pending) and waits until a result is queued.
func (h *Handle) awaitResult(ctx context.Context) error {
	if h.awaitSpin.Until(func() bool { return !h.readSome() || h.queued() }) && h.queued() {
		return nil
	}
	if !h.dead() && h.rxMu.TryLock() {
		corrupt := h.readUntil(ctx, h.queued)
		h.rxMu.Unlock()
		switch {
		case corrupt != nil:
			h.corrupted(corrupt) // then wait below for every call to fail
		case ctx.Err() != nil:
			if h.hasPending() {
				h.kick() // others may wait for what we stopped reading
			}
			return ctx.Err()
		case !h.exited.Load():
			return nil
		}
	}
	h.pendMu.Lock()
	h.recvWait++
	h.pendMu.Unlock()
	h.kick()
	var err error
	select {
	case <-h.recvCh:
	case <-ctx.Done():
		err = ctx.Err()
	}
	h.pendMu.Lock()
	h.recvWait--
	h.pendMu.Unlock()
	return err
}

// kick wakes the receiver goroutine to read results nobody polls for.
func (h *Handle) kick() {
	select {
	case h.rxKick <- struct{}{}:
	default:
	}
}

func (h *Handle) hasPending() bool {
	h.pendMu.Lock()
	defer h.pendMu.Unlock()
	return h.pending.len() > 0
}

// needReader reports whether the receiver goroutine must go on reading:
// calls are pending and someone depends on it (a caller waits for an
// Execute or SetFunc, a Recv or a sender waits, or Close is draining the
// worker).
func (h *Handle) needReader() bool {
	h.pendMu.Lock()
	defer h.pendMu.Unlock()
	return h.pending.len() > 0 &&
		(h.syncOut > 0 || h.recvWait > 0 || h.roomWait > 0 || h.closing.Load())
}

// deliver completes the pending call m answers.
func (h *Handle) deliver(m ring.Msg) error {
	kind := proto.Kind(m.Kind)
	if kind == proto.KindHello {
		hello, err := proto.DecodeHello(m.Data)
		if err != nil || h.hello.Load() {
			return fmt.Errorf("bad hello (%v)", err)
		}
		if hello.LayoutVersion != proto.LayoutVersion || hello.ProtocolVersion != proto.ProtocolVersion {
			return fmt.Errorf("worker speaks layout %d protocol %d, want %d and %d: %w",
				hello.LayoutVersion, hello.ProtocolVersion, proto.LayoutVersion, proto.ProtocolVersion, proto.ErrVersion)
		}
		h.hello.Store(true)
		return nil
	}
	h.pendMu.Lock()
	if h.pending.len() == 0 || h.pending.front().id != m.ID {
		n := h.pending.len()
		h.pendMu.Unlock()
		return fmt.Errorf("%s record for id %d does not answer the oldest of %d pending calls", kind, m.ID, n)
	}
	c := h.pending.popFront()
	if !c.async {
		h.syncOut--
	}
	h.pendMu.Unlock()

	out, err, perr := decodeAnswer(c.kind, kind, m, h.cfg.MaxPayload)
	if perr != nil {
		// The call is gone from the queue: fail it here, the rest in failAll.
		h.finish(c, nil, fmt.Errorf("%w: %v", ErrCorrupt, perr))
		return perr
	}
	if kind == proto.KindResult {
		// out aliases the ring (or, for a fragmented message, the
		// consumer's reassembly buffer): take it out before Release.
		if c.dst != nil && !c.claim() {
			putCall(c) // the caller has gone: its dst is no longer ours
			return nil
		}
		out = appendResult(c.dst, out, m.Owned)
	}
	h.finish(c, out, err)
	return nil
}

// appendResult appends a result to dst, growing it if need be. A nil dst
// (Execute), or an empty one too small for the result, is replaced, as
// append would, by the reassembly buffer of a fragmented result (owned) or
// a copy, never nil.
func appendResult(dst, res []byte, owned bool) []byte {
	if dst == nil || len(dst) == 0 && cap(dst) < len(res) {
		if owned {
			return res
		}
		return ring.Clone(res)
	}
	n := len(dst)
	dst = slices.Grow(dst, len(res))[:n+len(res)]
	ring.Copy(dst[n:], res)
	return dst
}

// decodeAnswer turns a response record into a call's result. perr reports
// a record the protocol does not allow. A result (KindResult) is returned
// as it is in m: the caller copies it.
func decodeAnswer(sent, got proto.Kind, m ring.Msg, maxPayload int) (out []byte, err, perr error) {
	switch {
	case sent == proto.KindTask && got == proto.KindResult:
		if len(m.Data) > maxPayload {
			return nil, nil, fmt.Errorf("result of %d bytes above MaxPayload %d", len(m.Data), maxPayload)
		}
		return m.Data, nil, nil
	case sent == proto.KindTask && got == proto.KindTooLarge:
		tl, derr := proto.DecodeTooLarge(m.Data)
		if derr != nil {
			return nil, nil, derr
		}
		return nil, fmt.Errorf("worker: result of %d bytes exceeds MaxPayload %d: %w", tl.Size, tl.Limit, ErrTooLarge), nil
	case sent == proto.KindTask && got == proto.KindError,
		sent == proto.KindSetFunc && got == proto.KindSetFuncError:
		re, derr := proto.DecodeRemoteError(m.Data)
		if derr != nil {
			return nil, nil, derr
		}
		rerr := &RemoteError{Func: re.Func, Message: re.Message, Panic: re.Panic, Stack: re.Stack}
		if re.Code == proto.CodeUnknownFunc {
			return nil, fmt.Errorf("%w: %w", ErrUnknownFunc, rerr), nil
		}
		return nil, rerr, nil
	case sent == proto.KindSetFunc && got == proto.KindSetFuncOK:
		return nil, nil, proto.DecodeEmpty(got, m.Data)
	}
	return nil, nil, fmt.Errorf("%s record answers a %s", got, sent)
}

// finish completes c: an Execute or SetFunc caller gets the result, a
// Send's result joins the Recv queue.
func (h *Handle) finish(c *call, out []byte, err error) {
	if !c.async {
		c.complete(out, err)
		return
	}
	if !c.state.CompareAndSwap(callWaiting, callDone) {
		putCall(c) // a Send that gave up; its result is dropped
		return
	}
	putCall(c)
	h.pendMu.Lock()
	h.recvQ.push(result{out, err})
	h.pendMu.Unlock()
	h.signalRecv()
}

// failAll fails every pending call with err, and every later call too.
func (h *Handle) failAll(err error) {
	h.pendMu.Lock()
	if h.failed == nil {
		h.failed = err
		if h.closing.Load() && h.exitErr != nil && h.exitErr.Code == 0 {
			h.failed = ErrClosed // a graceful stop
		}
	}
	failed := h.failed
	pending := h.pending.takeAll()
	h.syncOut = 0
	h.pendMu.Unlock()
	for _, c := range pending {
		h.finish(c, nil, failed)
	}
	h.signalRecv()
}

// corrupted kills a worker whose shared memory broke the protocol and fails
// every pending call with ErrCorrupt. The parent never panics over it.
func (h *Handle) corrupted(cause error) {
	err := fmt.Errorf("%w: worker %d: %v", ErrCorrupt, h.pid, cause)
	h.log("worker corrupt shared memory; killing it", "pid", h.pid, "err", cause)
	h.pendMu.Lock()
	if h.failed == nil {
		h.failed = err
	}
	h.pendMu.Unlock()
	h.kill("corrupt shared memory")
}
