package worker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shmpool/shmpool/internal/proto"
	"github.com/shmpool/shmpool/internal/wake"
	"github.com/shmpool/shmpool/ring"
	"github.com/shmpool/shmpool/shm"
	"github.com/shmpool/shmpool/status"
)

// ErrNoSend is returned by Recv when no Send is waiting for its result.
var ErrNoSend = errors.New("worker: Recv without an outstanding Send")

// Handle is the parent's side of one worker process. It is safe for
// concurrent use by multiple goroutines: concurrent calls pipeline through
// the request ring, and the worker answers them in the order they entered
// it.
type Handle struct {
	cfg    Config
	pid    int
	cmd    *exec.Cmd
	stderr *tail
	log    func(msg string, args ...any)

	seg      *shm.Segment // kept reachable while the views below are in use
	status   *status.Reader
	reqRing  *ring.Ring // parent -> worker
	respRing *ring.Ring // worker -> parent

	workerBell *wake.Doorbell // we ring: requests published, room for results
	resultBell *wake.Doorbell // we wait (receiver): results published
	roomBell   *wake.Doorbell // we wait (a sender): room for requests
	lifeline   *os.File       // write end; closing it tells the worker we are gone
	spin       time.Duration  // the spin limit of this handle's waits
	awaitSpin  *wake.Spin     // adaptive spin of callers waiting for results

	// sendSem is the send lock, a channel so a sender can give up waiting
	// for it when its context ends. It guards req, out, leftover, nextID
	// and sendSpin. Lock order: sendSem before pendMu.
	sendSem  chan struct{}
	req      *ring.Producer
	out      ring.Outgoing
	leftover bool // out holds the rest of a message a cancelled caller started
	nextID   uint64
	sendSpin *wake.Spin

	// pendMu guards the fields below; it is never held while waiting.
	pendMu   sync.Mutex
	pending  fifo[*call]  // calls in the request ring, in send order
	recvQ    fifo[result] // results of Send not yet taken by Recv, in order
	asyncOut int          // Sends whose result Recv has not taken
	syncOut  int          // calls in pending that a caller waits for (Execute, SetFunc)
	recvWait int          // Recv calls waiting for someone else to read the ring
	roomWait int          // senders waiting for room in the request ring
	failed   error        // set once: why no call can complete any more
	recvCh   chan struct{}

	rxMu     sync.Mutex     // guards resp and rxClosed: held by whoever reads the response ring
	resp     *ring.Consumer // the response ring's reader
	rxClosed bool           // the segment is being released: read nothing
	rxKick   chan struct{}  // 1-buffered: wakes the receiver goroutine

	hello    atomic.Bool   // the worker said hello
	exited   atomic.Bool   // the process has been reaped; exitErr is set
	exitErr  *ExitError    // written before exited is set
	reason   atomic.Value  // string: why we killed it, for ExitError.Reason
	recvDone chan struct{} // closed when the receiver goroutine has returned
	exitedCh chan struct{} // closed when exited is set
	done     chan struct{} // closed when the process is reaped and every pending call has failed
	closing  atomic.Bool   // Close or Terminate began: new calls fail with ErrClosed

	closeOnce   sync.Once
	closeErr    error
	releaseOnce sync.Once
	memMu       sync.RWMutex // guards released against Status reading the segment
	released    bool
	last        status.Snapshot // the status when the segment was released
}

// PID returns the worker's process id.
func (h *Handle) PID() int { return h.pid }

// Done returns a channel closed once the worker process has exited and
// every call pending on it has returned.
func (h *Handle) Done() <-chan struct{} { return h.done }

// Status returns the worker's counters, read from shared memory without
// sending a message. It stays valid after the worker has exited.
func (h *Handle) Status() status.Snapshot {
	h.memMu.RLock()
	defer h.memMu.RUnlock()
	if h.released {
		return h.last
	}
	s := h.status.Snapshot(time.Now())
	s.PID = h.pid // ours, not what the worker wrote
	if h.exited.Load() {
		s.State = status.Exited
	}
	return s
}

// funcName is Status().Func without the rest of the snapshot: what typed
// calls check before every call.
func (h *Handle) funcName() string {
	h.memMu.RLock()
	defer h.memMu.RUnlock()
	if h.released {
		return h.last.Func
	}
	return h.status.Func()
}

// Execute runs the worker's function on in and returns its result: a
// synchronous round trip. Concurrent calls pipeline. When ctx ends first it
// returns ctx.Err() at once; the late result is dropped.
func (h *Handle) Execute(ctx context.Context, in []byte) ([]byte, error) {
	return h.ExecuteAppend(ctx, nil, in)
}

// ExecuteAppend is Execute that appends the result to dst and returns the
// extended slice. When dst has room for the result it allocates nothing
// (unless the result is larger than a ring record, half the ring, which the
// ring reassembles in a buffer of its own first): a caller that reuses one
// buffer saves the allocation and, for large results, the first-touch page
// faults of fresh memory (see the README's caveats). A nil dst gets a fresh
// buffer, as with Execute. On error dst is returned unchanged, and the
// bytes of dst's spare capacity are never written after ExecuteAppend
// returns: a result that arrives after ctx ended is dropped, not copied
// (one that was being copied as ctx ended is returned, as Execute would).
func (h *Handle) ExecuteAppend(ctx context.Context, dst, in []byte) ([]byte, error) {
	c := getCall(proto.KindTask, false)
	c.dst = dst
	if err := h.send(ctx, c, in); err != nil {
		return dst, err
	}
	out, err := h.wait(ctx, c)
	if err != nil {
		return dst, err
	}
	return out, nil
}

// Send queues in for the worker's function and returns once it is in the
// request ring: it blocks only while the ring is full. Take the result with
// Recv; results come back in Send order.
func (h *Handle) Send(ctx context.Context, in []byte) error {
	return h.send(ctx, getCall(proto.KindTask, true), in)
}

// Poll reports whether a result of Send is ready for Recv.
func (h *Handle) Poll() bool {
	h.readSome()
	h.pendMu.Lock()
	defer h.pendMu.Unlock()
	return h.recvQ.len() > 0
}

// Recv returns the next result of Send, in Send order, waiting for it if
// need be. With no Send outstanding it returns ErrNoSend. Like Execute, it
// reads the response ring itself while it waits (see receive.go).
func (h *Handle) Recv(ctx context.Context) ([]byte, error) {
	for {
		h.pendMu.Lock()
		if h.recvQ.len() > 0 {
			r := h.recvQ.popFront()
			h.asyncOut--
			// Another Recv may wait for the next result, or (none left)
			// to learn that there is none: it looks again.
			more := h.recvQ.len() > 0 || h.recvWait > 0
			h.pendMu.Unlock()
			if more {
				h.signalRecv()
			}
			return r.out, r.err
		}
		out, failed := h.asyncOut, h.failed
		h.pendMu.Unlock()
		if out == 0 {
			switch {
			case h.closing.Load():
				return nil, ErrClosed
			case failed != nil:
				return nil, failed
			}
			return nil, ErrNoSend
		}
		if err := h.awaitResult(ctx); err != nil {
			return nil, err
		}
	}
}

// queued reports whether a result of Send waits for Recv.
func (h *Handle) queued() bool {
	h.pendMu.Lock()
	defer h.pendMu.Unlock()
	return h.recvQ.len() > 0
}

func (h *Handle) signalRecv() {
	select {
	case h.recvCh <- struct{}{}:
	default:
	}
}

// SetFunc switches the worker to the registered function name, built by its
// factory from static. It returns once the worker has switched (every call
// sent after it runs the new function) or with the factory's error;
// ErrUnknownFunc when the name is not registered in the worker.
func (h *Handle) SetFunc(ctx context.Context, name string, static []byte) error {
	if err := proto.CheckName(name); err != nil {
		return fmt.Errorf("worker: set func %q: %w", name, err)
	}
	c := getCall(proto.KindSetFunc, false)
	if err := h.send(ctx, c, proto.AppendSetFunc(nil, proto.SetFunc{Name: name, Static: static})); err != nil {
		return err
	}
	_, err := h.wait(ctx, c)
	return err
}

func (h *Handle) wait(ctx context.Context, c *call) ([]byte, error) {
	h.await(ctx, c)
	select {
	case <-c.ready:
	case <-ctx.Done():
		if c.abandon() {
			h.kick() // someone must read the late result
			return nil, ctx.Err()
		}
		<-c.ready
	}
	out, err := c.out, c.err
	putCall(c)
	return out, err
}

// send puts c's message into the request ring. On error c is recycled or
// left to the receiver, and the caller must not touch it.
//
// Once c is in h.pending the receiver may complete it at any time (the
// worker answers, or dies and failAll runs), and it recycles a Send's call
// as soon as it has queued the result: from then on send must not touch an
// async c. It reads c only through the locals below, and decides under
// pendMu, where the receiver takes calls out of h.pending, whether c is
// still its own.
func (h *Handle) send(ctx context.Context, c *call, payload []byte) error {
	if len(payload) > h.cfg.MaxPayload {
		putCall(c)
		return fmt.Errorf("worker: payload of %d bytes exceeds MaxPayload %d: %w", len(payload), h.cfg.MaxPayload, ErrTooLarge)
	}
	if h.closing.Load() {
		putCall(c)
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		putCall(c) // a done context sends nothing
		return err
	}
	if err := h.lockSend(ctx); err != nil {
		putCall(c)
		return err
	}
	defer h.unlockSend()
	if h.closing.Load() {
		putCall(c)
		return ErrClosed
	}
	return h.enqueue(ctx, c, payload)
}

// enqueue is send's second half, under the send lock: it queues c and
// writes its message into the request ring.
func (h *Handle) enqueue(ctx context.Context, c *call, payload []byte) error {
	if h.leftover {
		if _, err := h.push(ctx); err != nil {
			putCall(c)
			return err
		}
	}
	h.nextID++
	id, kind, async := h.nextID, c.kind, c.async
	c.id = id
	h.pendMu.Lock()
	if h.failed != nil {
		err := h.failed
		h.pendMu.Unlock()
		putCall(c)
		return err
	}
	h.pending.push(c)
	if async {
		h.asyncOut++
	} else {
		h.syncOut++
	}
	// A Recv waiting for someone else to read, or a Close draining the
	// worker, depends on the receiver goroutine, which may have stopped
	// when nothing was pending: have it read this call's result too. (It
	// decides under pendMu, so it either sees this call or gets the kick.)
	kick := async && (h.recvWait > 0 || h.closing.Load())
	h.pendMu.Unlock()
	if kick {
		h.kick()
	}

	h.out.Reset(ring.Kind(kind), id, payload)
	rang, err := h.push(ctx)
	if err == nil {
		h.out.Data = nil // do not keep the caller's payload reachable
		if !async {
			c.spin = h.answerSpin(rang, len(payload)) // read by the caller's await; the receiver never touches it
		}
		return nil
	}
	started := h.out.Started()
	if started && !h.dead() {
		// Part of the message is in the ring and must be finished before
		// anything else: keep a copy of it for the next sender, whose call
		// pays for it. The worker will run it; the result is dropped.
		h.out.Data = append([]byte(nil), h.out.Data...)
		h.leftover = true
	} else {
		h.out.Data = nil
	}
	h.pendMu.Lock()
	if h.pending.len() == 0 || h.pending.back() != c {
		// The receiver has taken c out of the queue and completed it or is
		// about to (the worker died, or answered a message it had whole).
		h.pendMu.Unlock()
		if async {
			// Its outcome waits in the Recv queue, so report acceptance.
			// c may be recycled already: do not touch it.
			return nil
		}
		if !c.abandon() {
			<-c.ready // the receiver's token; putCall must not miss it
			putCall(c)
		}
		return err
	}
	if !started {
		// Nothing reached the ring: take the call back.
		h.pending.popBack()
		if async {
			h.asyncOut--
		} else {
			h.syncOut--
		}
		h.pendMu.Unlock()
		putCall(c)
		if async {
			h.signalRecv() // a Recv waiting for this Send must look again
		}
		return err
	}
	// The worker will answer c: leave it to the receiver, which drops the
	// result and recycles c.
	c.abandon() // cannot fail: the receiver completes c only after taking it out of the queue
	if async {
		h.asyncOut--
	}
	h.pendMu.Unlock()
	if async {
		h.signalRecv() // a Recv waiting for this Send must look again
	}
	return err
}

func (h *Handle) lockSend(ctx context.Context) error {
	select {
	case h.sendSem <- struct{}{}:
		return nil
	default:
	}
	select {
	case h.sendSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-h.done:
		if h.closing.Load() {
			return ErrClosed
		}
		return h.failure()
	}
}

func (h *Handle) unlockSend() { <-h.sendSem }

// push writes h.out into the request ring, waiting for room as needed,
// and reports whether it rang the worker's doorbell (the worker was
// asleep). The caller holds the send lock.
func (h *Handle) push(ctx context.Context) (rang bool, err error) {
	for {
		done, _, err := h.req.PushMessage(&h.out)
		woke, werr := wake.Wake(h.workerBell, h.reqRing.ConsumerWaiting())
		if werr != nil && err == nil {
			err = werr
		}
		rang = rang || woke
		if err != nil {
			h.corrupted(fmt.Errorf("request ring: %w", err))
			return rang, h.failure()
		}
		if done {
			h.leftover = false
			return rang, nil
		}
		// Wait for more room than we see now, or for an empty ring: the
		// worker may have freed room after PushMessage gave up and before
		// this Free, and if it has drained the ring it frees no more. A
		// corrupt head (Free finds it, and reports no room) ends the wait
		// at once: the next PushMessage returns the error.
		free, capacity := h.req.Free(), h.reqRing.Capacity()
		ready := func() bool {
			f := h.req.Free()
			return f > free || f == capacity || h.req.Err() != nil || h.exited.Load()
		}
		// The worker may itself wait for room in the response ring, full
		// of results nobody has asked for yet: have them read.
		h.pendMu.Lock()
		h.roomWait++
		h.pendMu.Unlock()
		h.kick()
		err = h.sendSpin.Sleep(ctx, h.roomBell, h.reqRing.ProducerWaiting(), ready)
		h.pendMu.Lock()
		h.roomWait--
		h.pendMu.Unlock()
		if err != nil {
			return rang, err
		}
		if h.exited.Load() {
			return rang, h.failure()
		}
	}
}

// dead reports whether no call can complete any more.
func (h *Handle) dead() bool {
	h.pendMu.Lock()
	defer h.pendMu.Unlock()
	return h.failed != nil
}

// failure returns the error a call gets once the worker is gone: why calls
// fail (set by failAll or corrupted), else the process's exit, else
// ErrClosed.
func (h *Handle) failure() error {
	h.pendMu.Lock()
	defer h.pendMu.Unlock()
	if h.failed != nil {
		return h.failed
	}
	if h.exited.Load() {
		return h.exitErr
	}
	return ErrClosed
}
