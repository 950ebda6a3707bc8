package worker_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/worker"
)

// TestOrderUnderConcurrency mixes many goroutines calling Execute with
// goroutines calling Send and one calling Recv, on one worker, with payloads
// from a few bytes to more than a record of the 64 KiB ring. Invariants:
//  1. every Execute gets its own answer (the echo of its own payload);
//  2. Recv yields the results of Send in Send order, each exactly once;
//  3. an Execute result never shows up in Recv, and Recv never hands out
//     anything else: after the last expected result Recv says ErrNoSend.
func TestOrderUnderConcurrency(t *testing.T) {
	executors, perExecutor, sends := 8, 300, 1000
	if testing.Short() {
		perExecutor, sends = 50, 200
	}
	for _, sp := range spins {
		t.Run(sp.name, func(t *testing.T) {
			h := start(t, worker.Config{Func: "echo", RingSize: 64 << 10, Spin: sp.spin})
			ctx := context.Background()

			// Send order is the order of the senders' critical sections:
			// each sends and queues what it sent under one lock, and the
			// receiver expects results in queue order.
			var sendMu sync.Mutex
			sent := make(chan []byte, sends)
			var wg sync.WaitGroup
			errs := make(chan error, executors+4)
			next := 0
			for range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						sendMu.Lock()
						if next == sends {
							sendMu.Unlock()
							return
						}
						in := payload("send", next)
						if err := h.Send(ctx, in); err != nil {
							sendMu.Unlock()
							errs <- fmt.Errorf("send %d: %w", next, err)
							return
						}
						next++
						sent <- in
						sendMu.Unlock()
					}
				}()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range sends {
					want := <-sent
					out, err := h.Recv(ctx)
					if err != nil {
						errs <- fmt.Errorf("recv %d: %w", i, err)
						return
					}
					if !bytes.Equal(out, want) {
						errs <- fmt.Errorf("recv %d: got %q, want %q", i, head(out), head(want))
						return
					}
				}
			}()
			for e := range executors {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range perExecutor {
						in := payload(fmt.Sprintf("exec-%d", e), i)
						out, err := h.Execute(ctx, in)
						if err != nil {
							errs <- fmt.Errorf("executor %d call %d: %w", e, i, err)
							return
						}
						if !bytes.Equal(out, in) {
							errs <- fmt.Errorf("executor %d call %d: got %q, want %q", e, i, head(out), head(in))
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if t.Failed() {
				return
			}
			assert.False(t, h.Poll(), "no result left for Recv")
			_, err := h.Recv(ctx)
			require.ErrorIs(t, err, worker.ErrNoSend)
			s := h.Status()
			assert.Equal(t, uint64(executors*perExecutor+sends), s.Tasks)
			assert.Zero(t, s.Errors)
			require.NoError(t, h.Close())
		})
	}
}

// payload returns a payload that names its sender and sequence number,
// padded to a size that varies from a few bytes to 80 KiB (more than one
// record of a 64 KiB ring, so some are fragmented).
func payload(who string, i int) []byte {
	tag := fmt.Sprintf("%s-%d|", who, i)
	n := rand.IntN(64)
	switch rand.IntN(10) {
	case 0:
		n = rand.IntN(80 << 10)
	case 1, 2:
		n = rand.IntN(4 << 10)
	}
	return append([]byte(tag), bytes.Repeat([]byte{byte('a' + i%26)}, n)...)
}

// head is the start of a payload, for messages.
func head(b []byte) string {
	s, _, _ := strings.Cut(string(b), "|")
	return fmt.Sprintf("%s (%d bytes)", s, len(b))
}
