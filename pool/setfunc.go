package pool

import (
	"context"
	"fmt"
)

// SetFunc switches every worker to the registered function name, built by
// its factory from static (doctable's update_userfunc). It returns once
// every live worker has switched: no task submitted after it returns runs
// the old function, and replacement workers start with the new one. Tasks
// already queued may run either function.
//
// If any worker fails to build the function (an unregistered name:
// worker.ErrUnknownFunc; a factory error: a *worker.RemoteError), every
// worker switches back to the previous function and SetFunc returns the
// error. If ctx ends first, SetFunc returns ctx.Err() and the change goes
// on, to completion or back, without the caller.
func (p *Pool) SetFunc(ctx context.Context, name string, static []byte) error {
	if name == "" {
		return fmt.Errorf("pool: set func: empty name")
	}
	p.lifeMu.Lock()
	if p.closing.Load() {
		p.lifeMu.Unlock()
		return ErrClosed
	}
	p.wg.Add(1)
	p.lifeMu.Unlock()
	res := make(chan error, 1)
	go p.setFunc(name, static, res)
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// setFunc runs one function change: switch every worker, and back if any
// fails.
func (p *Pool) setFunc(name string, static []byte, res chan<- error) {
	defer p.wg.Done()
	p.setMu.Lock()
	defer p.setMu.Unlock()
	old := p.fn.Load()
	next := p.newFuncState(old.gen+1, name, static)
	p.fn.Store(next)
	p.kickAll()
	err := p.awaitFunc(next.gen)
	if err != nil {
		back := *old
		back.gen = next.gen + 1
		p.fn.Store(&back)
		p.kickAll()
		// A worker that cannot build the old function again is replaced.
		p.awaitFunc(back.gen)
		err = fmt.Errorf("pool: set func %q: %w", name, err)
	}
	res <- err
}

// awaitFunc waits until every slot runs function generation gen, has no
// worker, or failed to switch (the first failure is returned at once).
func (p *Pool) awaitFunc(gen uint64) error {
	for {
		done := true
		for _, s := range p.slots {
			if s.failedGen.Load() >= gen {
				s.mu.Lock()
				err := s.failErr
				s.mu.Unlock()
				return fmt.Errorf("worker %d: %w", s.idx, err)
			}
			if s.appliedGen.Load() >= gen {
				continue
			}
			s.mu.Lock()
			out := s.retired || s.gone
			s.mu.Unlock()
			if !out {
				done = false
			}
		}
		if done {
			return nil
		}
		select {
		case <-p.fnReport:
		case <-p.termCh:
			return ErrClosed
		}
	}
}

// reportFn wakes a function change waiting for the slots.
func (p *Pool) reportFn() { signal(p.fnReport) }
