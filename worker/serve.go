package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/shmpool/shmpool/internal/proto"
	"github.com/shmpool/shmpool/internal/testhook"
	"github.com/shmpool/shmpool/internal/wake"
	"github.com/shmpool/shmpool/ring"
	"github.com/shmpool/shmpool/shm"
	"github.com/shmpool/shmpool/status"
)

// Main runs the worker loop when this process was started as a shmpool
// worker, and never returns then; in any other process it returns at once.
// Call it first thing in main, and in TestMain of tests that start workers.
func Main() {
	if _, ok := os.LookupEnv(envCookie); !ok {
		return
	}
	os.Exit(serve())
}

// Exit codes of a worker process.
const (
	exitOK        = 0
	exitHandshake = 1 // not started by a shmpool parent, or a mismatched one
	exitCorrupt   = 3 // the parent's side of shared memory broke the protocol
	exitOrphan    = 4 // the parent died
)

// server is the worker's side: the only consumer of the request ring and
// the only producer of the response ring, run by one goroutine.
type server struct {
	seg        *shm.Segment
	req        *ring.Consumer
	resp       *ring.Producer
	reqRing    *ring.Ring
	respRing   *ring.Ring
	workerBell *wake.Doorbell // we wait
	resultBell *wake.Doorbell // we ring: results
	roomBell   *wake.Doorbell // we ring: room for requests
	st         *status.Writer
	maxPayload int
	spin       *wake.Spin
	stop       atomic.Bool // SIGTERM: finish what is queued, then exit

	clock  clock // times for the status counters
	fn     Func
	fnName string
	out    ring.Outgoing
	buf    []byte // encodes control replies
	last   int    // bytes the last task read and wrote: see copySpin
}

func serve() int {
	s, err := attach()
	if err != nil {
		fmt.Fprintf(os.Stderr, "shmpool worker: %v\n"+
			"This process was started as a shmpool worker (%s is set) but the handshake failed. "+
			"Worker processes are started by worker.Start; they are not meant to be run by hand.\n", err, envCookie)
		return exitHandshake
	}
	return s.loop()
}

// attach checks the handshake and maps what the parent handed over.
func attach() (*server, error) {
	cookie, err := strconv.ParseUint(os.Getenv(envCookie), 16, 64)
	if err != nil || cookie == 0 {
		return nil, fmt.Errorf("bad cookie %q", os.Getenv(envCookie))
	}
	if v := os.Getenv(envVersion); v != strconv.FormatUint(uint64(proto.ProtocolVersion), 10) {
		return nil, fmt.Errorf("parent speaks protocol %q, this binary %d", v, proto.ProtocolVersion)
	}
	size, err := strconv.Atoi(os.Getenv(envSize))
	if err != nil {
		return nil, fmt.Errorf("bad segment size %q", os.Getenv(envSize))
	}
	spinNS, err := strconv.ParseInt(os.Getenv(envSpin), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("bad spin %q", os.Getenv(envSpin))
	}
	seg, err := shm.FromFD(fdSegment, size)
	if err != nil {
		return nil, err
	}
	mem := seg.Bytes()
	hdr, err := proto.Decode(mem)
	if err != nil {
		return nil, err
	}
	if hdr.Cookie != cookie {
		return nil, errors.New("the segment was made for another worker (cookie mismatch)")
	}
	s := &server{seg: seg, maxPayload: int(min(hdr.MaxPayload, 1<<62)), spin: wake.NewSpin(time.Duration(spinNS))}
	if s.reqRing, err = ring.Attach(hdr.Request.Slice(mem)); err != nil {
		return nil, fmt.Errorf("request ring: %w", err)
	}
	if s.respRing, err = ring.Attach(hdr.Response.Slice(mem)); err != nil {
		return nil, fmt.Errorf("response ring: %w", err)
	}
	s.req = s.reqRing.Consumer(max(s.maxPayload, 1<<20))
	s.resp = s.respRing.Producer()
	if s.st, err = status.NewWriter(hdr.Status.Slice(mem), os.Getpid(), s.clock.sync()); err != nil {
		return nil, err
	}
	for fd, b := range map[int]**wake.Doorbell{fdWorkerBell: &s.workerBell, fdResultBell: &s.resultBell, fdRoomBell: &s.roomBell} {
		if *b, err = wake.FromFDs(wake.Eventfd, fd); err != nil {
			return nil, err
		}
	}
	go watchLifeline(os.NewFile(fdLifeline, "lifeline"))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	go func() {
		<-sig
		s.stop.Store(true)
		s.workerBell.Ring() // wake the loop so it sees stop
	}()
	return s, nil
}

// watchLifeline exits the process when the parent is gone: only the
// parent holds the pipe's write end, so a read returns EOF exactly then.
func watchLifeline(f *os.File) {
	var b [1]byte
	for {
		if _, err := f.Read(b[:]); err != nil {
			if !errors.Is(err, io.EOF) {
				fmt.Fprintf(os.Stderr, "shmpool worker: lifeline: %v\n", err)
			}
			os.Exit(exitOrphan)
		}
	}
}

func (s *server) loop() int {
	s.buf = proto.AppendHello(s.buf[:0], proto.Hello{PID: os.Getpid(), LayoutVersion: proto.LayoutVersion, ProtocolVersion: proto.ProtocolVersion})
	s.respond(proto.KindHello, 0, s.buf)
	ready := func() bool { return s.req.Ready() || s.stop.Load() }
	for {
		m, ok, err := s.req.Peek()
		if err != nil {
			return s.corrupt(err)
		}
		if !ok {
			wake.Wake(s.roomBell, s.reqRing.ProducerWaiting()) // fragments consumed
			if s.stop.Load() {
				s.st.SetState(status.Stopping) // SIGTERM, and the queue is drained
				return s.exit()
			}
			s.st.WaitStart(s.clock.sync())
			if err := s.waitInput(ready); err != nil {
				return s.corrupt(err)
			}
			continue
		}
		switch proto.Kind(m.Kind) {
		case proto.KindTask:
			s.task(m)
		case proto.KindSetFunc:
			s.setFunc(m)
		case proto.KindStop:
			s.st.SetState(status.Stopping)
			s.release()
			return s.exit()
		default:
			return s.corrupt(fmt.Errorf("unexpected %s record", proto.Kind(m.Kind)))
		}
	}
}

// waitInput waits for the next request: the adaptive spin, then a sleep.
// After a large task the parent copies its result out, and maybe the next
// input in, before another request can appear: the spin then covers that
// copy (copySpin) and leaves the adaptive budget alone.
func (s *server) waitInput(ready func() bool) error {
	if extra := copySpin(s.last); extra > 0 && s.spin.Max() > 0 {
		return wake.Sleep(context.Background(), s.workerBell, s.reqRing.ConsumerWaiting(), ready, s.spin.Max()+extra)
	}
	return s.spin.Sleep(context.Background(), s.workerBell, s.reqRing.ConsumerWaiting(), ready)
}

func (s *server) release() {
	if _, err := s.req.Release(); err != nil {
		os.Exit(s.corrupt(err))
	}
	wake.Wake(s.roomBell, s.reqRing.ProducerWaiting())
}

func (s *server) exit() int {
	s.st.Stopped(s.clock.sync())
	return exitOK
}

func (s *server) corrupt(err error) int {
	fmt.Fprintf(os.Stderr, "shmpool worker: %v\n", err)
	return exitCorrupt
}

// clock gives the times of the status counters. A task takes two, and
// time.Now reads two clocks (wall and monotonic) where now reads one: on a
// kvm-clock VM time.Now costs 57-60 ns and now 40-41 ns (go test -run='^$'
// -bench='^BenchmarkClock$' -count=3 ./worker/), and the two time.Now calls
// were a third of the worker's CPU time when streaming 64 B tasks (perf
// record -e cpu-clock -a -g of go test -run='^$' -bench=SendRecv/size=64B
// ./worker/, the worker's samples under time.now).
//
// now's wall time is base's plus the monotonic time since base, and its
// monotonic reading is exact, so busy and waiting times (differences of
// monotonic readings) are exact. The wall times it publishes (the start of
// the current task) drift from the wall clock only by what NTP slews it
// within clockResync: sync re-reads both clocks at every wait, now once a
// second.
type clock struct{ base time.Time }

// clockResync bounds how long now derives the wall time from the
// monotonic clock.
const clockResync = time.Second

// sync reads both clocks and returns the time.
func (c *clock) sync() time.Time {
	c.base = time.Now()
	return c.base
}

// now returns the time, reading only the monotonic clock most of the time.
func (c *clock) now() time.Time {
	d := time.Since(c.base)
	if d >= clockResync || d < 0 {
		return c.sync()
	}
	return c.base.Add(d)
}

// task runs the function on one input, in place in the ring, and sends
// the result.
func (s *server) task(m ring.Msg) {
	s.st.TaskStart(s.clock.now())
	out, rerr := s.call(m.Data)
	s.st.TaskEnd(s.clock.now(), len(m.Data), len(out), rerr != nil, rerr != nil && rerr.Panic)
	s.last = len(m.Data) + len(out)
	// The input is released only after the result is copied: a function
	// may return a slice of its input.
	defer s.release()
	switch {
	case rerr != nil:
		s.buf = proto.AppendRemoteError(s.buf[:0], *rerr)
		s.respond(proto.KindError, m.ID, s.buf)
	case len(out) > s.maxPayload:
		s.buf = proto.AppendTooLarge(s.buf[:0], proto.TooLarge{Size: uint64(len(out)), Limit: uint64(s.maxPayload)})
		s.respond(proto.KindTooLarge, m.ID, s.buf)
	default:
		s.respond(proto.KindResult, m.ID, out)
	}
}

// maxErrorText bounds an error message or stack sent to the parent.
const maxErrorText = 64 << 10

func (s *server) call(in []byte) (out []byte, rerr *proto.RemoteError) {
	if s.fn == nil {
		return nil, &proto.RemoteError{Message: "no function set"}
	}
	defer func() {
		if v := recover(); v != nil {
			rerr = &proto.RemoteError{Func: s.fnName, Message: truncate(fmt.Sprint(v)), Panic: true, Stack: truncate(string(debug.Stack()))}
		}
	}()
	out, err := s.fn(context.Background(), in)
	if err != nil {
		return nil, &proto.RemoteError{Func: s.fnName, Message: truncate(err.Error())}
	}
	return out, nil
}

func truncate(s string) string {
	if len(s) > maxErrorText {
		return s[:maxErrorText] + "..."
	}
	return s
}

func (s *server) setFunc(m ring.Msg) {
	req, err := proto.DecodeSetFunc(m.Data)
	s.release()
	if err != nil {
		os.Exit(s.corrupt(err))
	}
	rerr := s.build(req.Name, req.Static)
	if rerr != nil {
		s.buf = proto.AppendRemoteError(s.buf[:0], *rerr)
		s.respond(proto.KindSetFuncError, m.ID, s.buf)
		return
	}
	s.respond(proto.KindSetFuncOK, m.ID, nil)
}

func (s *server) build(name string, static []byte) (rerr *proto.RemoteError) {
	factory, ok := lookup(name)
	if !ok {
		return &proto.RemoteError{Code: proto.CodeUnknownFunc, Func: name,
			Message: fmt.Sprintf("function %q is not registered in this binary (registered: %s)", name, registered())}
	}
	defer func() {
		if v := recover(); v != nil {
			rerr = &proto.RemoteError{Func: name, Message: truncate(fmt.Sprint(v)), Panic: true, Stack: truncate(string(debug.Stack()))}
		}
	}()
	fn, err := factory(static)
	if err == nil && fn == nil {
		err = errors.New("factory returned a nil function")
	}
	if err != nil {
		return &proto.RemoteError{Func: name, Message: truncate(err.Error())}
	}
	s.fn, s.fnName = fn, name
	s.st.SetFunc(name)
	return nil
}

func registered() string {
	registry.RLock()
	defer registry.RUnlock()
	names := make([]string, 0, len(registry.m))
	for n := range registry.m {
		names = append(names, strconv.Quote(n))
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// respond writes one message to the response ring, waiting for room.
func (s *server) respond(kind proto.Kind, id uint64, payload []byte) {
	if testhook.BeforeCommit != nil && len(payload) <= s.respRing.MaxRecord() {
		s.respondHooked(kind, id, payload)
		return
	}
	s.out.Reset(ring.Kind(kind), id, payload)
	for {
		done, _, err := s.resp.PushMessage(&s.out)
		wake.Wake(s.resultBell, s.respRing.ConsumerWaiting())
		if err != nil {
			os.Exit(s.corrupt(err))
		}
		if done {
			return
		}
		s.waitRoom()
	}
}

// waitRoom waits for more room in the response ring than there is now, or
// for an empty ring: the parent may have freed room after the last push
// gave up and before this Free, and if it has drained the ring it frees no
// more. A corrupt head (Free finds it, and reports no room) ends the wait at
// once: the next push returns the error.
func (s *server) waitRoom() {
	free, capacity := s.resp.Free(), s.respRing.Capacity()
	ready := func() bool { f := s.resp.Free(); return f > free || f == capacity || s.resp.Err() != nil }
	if err := s.spin.Sleep(context.Background(), s.workerBell, s.respRing.ProducerWaiting(), ready); err != nil {
		os.Exit(s.corrupt(err))
	}
}

// respondHooked is respond for a test that armed testhook.BeforeCommit: the
// same one record, written with Reserve and Commit, and the hook called
// halfway through the copy of the payload.
func (s *server) respondHooked(kind proto.Kind, id uint64, payload []byte) {
	for {
		buf, ok, err := s.resp.Reserve(len(payload))
		if err != nil {
			os.Exit(s.corrupt(err))
		}
		if !ok {
			s.waitRoom()
			continue
		}
		half := len(payload) / 2
		copy(buf, payload[:half])
		testhook.BeforeCommit(uint8(kind), buf, half)
		copy(buf[half:], payload[half:])
		if _, err := s.resp.Commit(len(payload), ring.Kind(kind), id); err != nil {
			os.Exit(s.corrupt(err))
		}
		wake.Wake(s.resultBell, s.respRing.ConsumerWaiting())
		return
	}
}
