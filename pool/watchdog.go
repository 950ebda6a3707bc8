package pool

import (
	"fmt"
	"time"

	"github.com/shmpool/shmpool/status"
	"github.com/shmpool/shmpool/worker"
)

func (g *gen) timeoutErr() error {
	return fmt.Errorf("pool: task ran longer than TaskTimeout %v; worker process %d was killed: %w",
		g.s.p.cfg.TaskTimeout, g.h.PID(), worker.ErrTimeout)
}

// watch is the watchdog goroutine: it kills the worker when its current
// task has run longer than TaskTimeout, reading the task's start from the
// worker's status block (no message is sent).
func (g *gen) watch() {
	defer close(g.watchDone)
	limit := g.s.p.cfg.TaskTimeout
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		g.mu.Lock()
		busy := len(g.fifo) > 0
		g.mu.Unlock()
		if !busy {
			select {
			case <-g.watchKick:
				continue
			case <-g.quit:
				return
			}
		}
		wait := limit
		if st := g.h.Status(); st.State == status.Busy && !st.TaskStarted.IsZero() {
			if st.TaskElapsed >= limit {
				if g.expire(st) {
					return
				}
				wait = time.Millisecond // not sure yet which message: look again soon
			} else {
				wait = limit - st.TaskElapsed
			}
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-g.quit:
			return
		}
	}
}

// expire kills the worker over the message it has run for too long, once
// sure which one it is: the worker has completed st.Tasks task messages, so
// it runs the one with that sequence number.
func (g *gen) expire(st status.Snapshot) bool {
	limit := g.s.p.cfg.TaskTimeout
	st2 := g.h.Status()
	if st2.State != status.Busy || st2.Tasks != st.Tasks || st2.TaskElapsed < limit {
		return false
	}
	g.mu.Lock()
	if len(g.fifo) == 0 || st.Tasks < g.fifo[0].seq || st.Tasks-g.fifo[0].seq >= uint64(len(g.fifo)) {
		g.mu.Unlock()
		return false
	}
	g.timedOut = g.fifo[st.Tasks-g.fifo[0].seq]
	g.killed = "task timeout"
	g.mu.Unlock()
	g.h.Terminate()
	g.markDead(nil)
	return true
}
