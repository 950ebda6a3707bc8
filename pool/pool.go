package pool

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shmpool/shmpool/status"
	"github.com/shmpool/shmpool/worker"
)

// Pool runs tasks on a set of worker processes. It is safe for concurrent
// use by multiple goroutines; Close and Terminate may be called any number
// of times, from any goroutine, in any order.
type Pool struct {
	cfg   Config
	slots []*slot
	q     queue
	epoch time.Time // origin of now()

	ctx    context.Context // ends with Terminate: aborts sends and starts
	cancel context.CancelFunc
	wg     sync.WaitGroup // slot goroutines and SetFunc transactions

	pending    atomic.Int64 // tasks pushed and not yet ended
	live       atomic.Int32 // slots that have or will have a worker
	restarts   atomic.Int64 // workers started to replace dead ones
	closing    atomic.Bool  // Close began: no new work
	terminated atomic.Bool  // Terminate began
	termCh     chan struct{}

	// Scheduling estimates, in nanoseconds, updated by the receivers
	// without locking (a lost update does no harm).
	ewmaMsg      atomic.Int64 // time from a message becoming the oldest in flight to its result
	ewmaItem     atomic.Int64 // worker time running one item of a batch
	itemMeasured atomic.Bool  // ewmaItem holds a measurement
	activeCap    atomic.Int32 // workers that may run tiny items at once (adjustCap)
	capAt        atomic.Int64 // p.now() of the last adjustCap
	capMu        sync.Mutex   // held by adjustCap

	maxFrame int // the largest batch frame: maxBatchBytes or less under MaxPayload

	tasks   taskCache // tasks for Map, Stream and Unordered
	groupMu sync.Mutex
	groups  []*group // finished groups for reuse

	fn       atomic.Pointer[funcState] // the function every worker must run
	setMu    sync.Mutex                // serialises SetFunc transactions
	fnReport chan struct{}             // 1-buffered: a slot reported on a function change

	lifeMu    sync.Mutex // orders closing against wg.Add for SetFunc
	closeOnce sync.Once
	closeErr  error
	termOnce  sync.Once
	errMu     sync.Mutex // guards stopErrs
	stopErrs  []error    // errors of closing workers
}

// funcState is a function generation: what the pool's workers run.
type funcState struct {
	gen    uint64
	name   string // the user's function
	static []byte
	batch  bool // run through the batch wrapper
	// What worker.Start or Handle.SetFunc is given: the user's function, or
	// the wrapper with the user's name and static data inside.
	wname   string
	wstatic []byte
}

func (p *Pool) newFuncState(gen uint64, name string, static []byte) *funcState {
	f := &funcState{gen: gen, name: name, static: static, wname: name, wstatic: static}
	// Batch only when the worker is this binary, whose registry this one
	// is: another binary may not even import this package.
	if _, ok := lookup(name); ok && p.cfg.Worker.Path == "" {
		f.batch = true
		f.wname = batchFunc
		f.wstatic = batchStatic(name, p.cfg.Worker.MaxPayload, static)
	}
	return f
}

// New starts cfg.Workers workers in parallel and returns once all have
// started. If any fails to start, New stops the others and returns the
// error: nothing is left running. ctx bounds the start only.
func New(ctx context.Context, cfg Config) (*Pool, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	p := &Pool{
		cfg:      cfg,
		epoch:    time.Now(),
		termCh:   make(chan struct{}),
		fnReport: make(chan struct{}, 1),
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.maxFrame = min(maxBatchBytes, cfg.Worker.MaxPayload)
	fn := p.newFuncState(1, cfg.Worker.Func, cfg.Worker.Static)
	p.fn.Store(fn)
	p.ewmaItem.Store(int64(initialItemEstimate))
	p.activeCap.Store(int32(min(cfg.Workers, runtime.NumCPU())))

	handles := make([]*worker.Handle, cfg.Workers)
	errs := make([]error, cfg.Workers)
	var wg sync.WaitGroup
	for i := range handles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			handles[i], errs[i] = worker.Start(ctx, p.workerConfig(fn))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil {
			continue
		}
		for _, h := range handles {
			if h != nil {
				h.Terminate()
			}
		}
		p.cancel()
		return nil, fmt.Errorf("pool: start worker %d of %d: %w", i, cfg.Workers, err)
	}
	p.slots = make([]*slot, cfg.Workers)
	for i := range p.slots {
		p.slots[i] = newSlot(p, i)
	}
	p.live.Store(int32(cfg.Workers))
	for i, s := range p.slots {
		g := s.newGen(handles[i], fn) // visible to Status at once
		p.wg.Add(1)
		go s.run(g)
	}
	return p, nil
}

// workerConfig is the configuration of a worker running fn.
func (p *Pool) workerConfig(fn *funcState) worker.Config {
	c := p.cfg.Worker
	c.Func, c.Static = fn.wname, fn.wstatic
	return c
}

// now returns the monotonic time since the pool started, in nanoseconds.
func (p *Pool) now() int64 { return int64(time.Since(p.epoch)) }

// push queues new tasks and kicks the dispatchers that should take them.
func (p *Pool) push(ts []*task) error {
	p.pending.Add(int64(len(ts)))
	kick, err := p.q.push(ts, p.pick)
	if err != nil {
		p.pending.Add(-int64(len(ts)))
		return err
	}
	for _, s := range kick {
		s.signal()
	}
	return nil
}

// requeue puts tasks that must run again at the front of the queue, or
// ends them with the error that stopped the pool.
func (p *Pool) requeue(ts []*task) {
	if len(ts) == 0 {
		return
	}
	kick, err := p.q.pushFront(ts, p.pick)
	if err != nil {
		p.fail(ts, err)
		return
	}
	for _, s := range kick {
		s.signal()
	}
}

// fail ends ts with err.
func (p *Pool) fail(ts []*task, err error) {
	for _, t := range ts {
		t.out, t.err = nil, err
	}
	p.end(ts)
}

// end hands ended tasks back to their sinks.
func (p *Pool) end(ts []*task) {
	if len(ts) == 0 {
		return
	}
	n := int64(len(ts))
	endTasks(ts)
	p.ended(n)
}

// ended records that n tasks ended (or were purged from the queue).
func (p *Pool) ended(n int64) {
	if n == 0 {
		return
	}
	if p.pending.Add(-n) == 0 && p.closing.Load() {
		p.kickAll() // a closing pool's dispatchers wait for this
	}
}

func (p *Pool) kickAll() {
	for _, s := range p.slots {
		s.signal()
	}
}

// retire records that a slot will have no worker any more; when it was the
// last one, every queued and future task fails.
func (p *Pool) retire(cause error) {
	if p.live.Add(-1) > 0 {
		return
	}
	err := fmt.Errorf("%w: %w", ErrNoWorkers, cause)
	p.fail(p.q.kill(err), err)
}

// Status returns the pool's state: a snapshot of each live worker slot (in
// slot order, read from shared memory without a message), their sum, the
// number of workers replaced since New and the number of queued tasks.
//
// With batching, a worker's Tasks and Errors count items, not messages,
// once their message's result has reached the pool.
func (p *Pool) Status() Status {
	st := Status{Restarts: int(p.restarts.Load()), Queued: p.q.len()}
	for _, s := range p.slots {
		if snap, ok := s.snapshot(); ok {
			st.Workers = append(st.Workers, snap)
		}
	}
	st.Total = status.Sum(st.Workers...)
	return st
}

// Status is a pool's state; see Pool.Status.
type Status struct {
	Workers  []status.Snapshot // one per live worker slot, in slot order
	Total    status.Snapshot   // status.Sum(Workers...)
	Restarts int               // workers replaced since New
	Queued   int               // tasks accepted but not yet in a ring
}

// Close stops the pool gracefully: new work fails with ErrClosed, work
// already accepted finishes (retries and replacements included), then every
// worker is stopped and the pool's goroutines end. It blocks until then;
// Terminate from another goroutine cuts it short. It can be called any
// number of times; later calls return the first result.
func (p *Pool) Close() error {
	p.closeOnce.Do(func() {
		p.lifeMu.Lock()
		p.closing.Store(true)
		p.lifeMu.Unlock()
		p.q.close(ErrClosed)
		p.kickAll()
		p.wg.Wait()
		p.cancel()
		p.errMu.Lock()
		p.closeErr = errors.Join(p.stopErrs...)
		p.errMu.Unlock()
	})
	return p.closeErr
}

// Terminate kills every worker now (SIGKILL): queued and in-flight tasks
// fail with ErrClosed. It returns once every worker has been reaped and the
// pool's goroutines have ended, and can be called any number of times,
// before, during or after Close.
func (p *Pool) Terminate() error {
	p.termOnce.Do(func() {
		p.lifeMu.Lock()
		p.terminated.Store(true)
		p.closing.Store(true)
		p.lifeMu.Unlock()
		p.q.close(ErrClosed)
		close(p.termCh)
		p.cancel()
		p.fail(p.q.kill(ErrClosed), ErrClosed)
	})
	p.wg.Wait()
	return nil
}

func (p *Pool) addStopErr(err error) {
	p.errMu.Lock()
	p.stopErrs = append(p.stopErrs, err)
	p.errMu.Unlock()
}
