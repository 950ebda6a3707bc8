package worker

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/shmpool/shmpool/internal/proto"
)

// call is one request in flight: its message is in (or going into) the
// request ring, and the worker will answer it in send order.
type call struct {
	kind  proto.Kind // KindTask or KindSetFunc
	id    uint64
	async bool          // a Send: the result goes to the Recv queue
	spin  time.Duration // Execute, SetFunc: await's spin when not the adaptive one (see answerSpin)
	dst   []byte        // ExecuteAppend: the result is appended here (nil: a fresh buffer)

	// state moves once from callWaiting to callDone (the receiver
	// delivered) or callAbandoned (the caller stopped waiting; the receiver
	// drops the result and recycles the call). A call with a dst passes
	// through callClaimed first: the reader has claimed it and is copying
	// the result into dst, so the caller can no longer abandon it and waits
	// for the copy to end; once abandoned, dst is never written.
	state atomic.Int32
	out   []byte
	err   error
	ready chan struct{} // 1-buffered; a token once the call is done
}

const (
	callWaiting int32 = iota
	callClaimed
	callDone
	callAbandoned
)

// calls recycles call values, so Execute allocates nothing but its result.
var calls = sync.Pool{New: func() any { return &call{ready: make(chan struct{}, 1)} }}

func getCall(kind proto.Kind, async bool) *call {
	c := calls.Get().(*call)
	c.kind, c.async = kind, async
	return c
}

// putCall recycles c. Whoever took a call's token has received it by now
// (the send in complete happens before that receive), so a token still in
// ready is one nobody will take: drop it. len reads the buffer's count
// without the channel's lock, which a select with a default takes: that lock
// was 4.5% of the parent's CPU time streaming 64 B Sends (go test -run='^$'
// -bench=SendRecv/size=64B -cpuprofile cpu.out ./worker/).
func putCall(c *call) {
	if len(c.ready) > 0 {
		<-c.ready
	}
	c.out, c.err, c.id, c.spin, c.dst = nil, nil, 0, 0, nil
	c.state.Store(callWaiting)
	calls.Put(c)
}

// claim is called by the reader before it writes into c.dst: it reports
// whether the caller still waits, and from then on the caller cannot
// abandon c.
func (c *call) claim() bool {
	return c.state.CompareAndSwap(callWaiting, callClaimed)
}

// complete hands a result to the waiting caller, or drops it when the
// caller has gone.
func (c *call) complete(out []byte, err error) {
	c.out, c.err = out, err
	if c.state.CompareAndSwap(callWaiting, callDone) || c.state.CompareAndSwap(callClaimed, callDone) {
		c.ready <- struct{}{}
		return
	}
	putCall(c)
}

// abandon is called by a caller that stops waiting. It reports whether the
// receiver now owns the call; if not, the call is already done and the
// caller must recycle it.
func (c *call) abandon() bool {
	return c.state.CompareAndSwap(callWaiting, callAbandoned)
}

// result is a Send's outcome waiting for Recv.
type result struct {
	out []byte
	err error
}
