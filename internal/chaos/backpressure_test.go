package chaos_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/internal/testutil"
	"github.com/shmpool/shmpool/worker"
)

// procState returns the state letter of process pid (R, S, T, Z, ...).
func procState(t testing.TB, pid int) byte {
	t.Helper()
	f, err := testutil.ProcStat(pid)
	require.NoError(t, err)
	require.True(t, len(f) > 0 && f[0] != "", "no state in /proc/%d/stat", pid)
	return f[0][0]
}

// rssBytes returns this process's resident set size.
func rssBytes(t testing.TB) uint64 {
	t.Helper()
	rss := rssOf("self")
	require.Positive(t, rss, "no readable VmRSS in /proc/self/status")
	return uint64(rss)
}

// heapBytes returns the live heap after a collection.
func heapBytes() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// numbered returns an input of n bytes that starts with i.
func numbered(i, n int) []byte {
	in := randomInput(n)
	binary.BigEndian.PutUint64(in, uint64(i)|1<<63) // never "die|"
	return in
}

// TestStoppedWorkerBackpressure stops a worker with SIGSTOP for 10 s (1.5 s
// in the short variant) and keeps sending to it. Invariants:
//  1. Send accepts work only while the request ring has room, then blocks
//     until its context ends and returns ctx.Err();
//  2. the parent's memory is bounded by the rings: its heap and RSS do not
//     grow with the number of sends attempted (thousands, some of them
//     larger than the ring); RSS is checked without -race only (raceBuild);
//  3. Status stays readable, without a message, and shows the stopped
//     worker's counters unchanged;
//  4. after SIGCONT everything accepted completes, nothing else: Recv returns
//     every accepted result, right and in order, then ErrNoSend.
func TestStoppedWorkerBackpressure(t *testing.T) {
	stopFor := time.Duration(scale(1500, 10_000)) * time.Millisecond
	const ringSize = 64 << 10
	const size = 1 << 10
	ctx := context.Background()
	h, err := worker.Start(ctx, worker.Config{Func: fnTorn, RingSize: ringSize})
	require.NoError(t, err)
	defer h.Terminate()
	pid := h.PID()
	for i := range 10 {
		in := numbered(i, size)
		out, err := h.Execute(ctx, in)
		require.NoError(t, err)
		require.Equal(t, checked(in), out)
	}

	require.NoError(t, syscall.Kill(pid, syscall.SIGSTOP))
	stopped := time.Now()
	continued := false
	defer func() {
		if !continued {
			syscall.Kill(pid, syscall.SIGCONT)
		}
	}()
	require.Eventually(t, func() bool { return procState(t, pid) == 'T' }, 5*time.Second, time.Millisecond, "the worker did not stop")
	before := h.Status()

	// 1. Fill the request ring.
	var accepted [][]byte
	for {
		in := numbered(len(accepted), size)
		start := time.Now()
		sctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		err := h.Send(sctx, in)
		cancel()
		if err != nil {
			require.ErrorIs(t, err, context.DeadlineExceeded)
			assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond, "Send returned before its context ended")
			break
		}
		accepted = append(accepted, in)
		require.LessOrEqual(t, len(accepted)*size, ringSize, "Send accepted more than the request ring holds")
	}
	require.NotEmpty(t, accepted)
	assert.False(t, h.Poll(), "a result from a stopped worker")

	// 2. Keep trying: one sender blocks for most of the stop, others try
	// again and again with short deadlines, with small and large inputs.
	heap0, rss0 := heapBytes(), rssBytes(t)
	var attempts atomic.Int64
	var wrong atomic.Value // a Send that did not block, or failed otherwise
	var wg sync.WaitGroup
	end := stopped.Add(stopFor)
	long := time.Until(end) - 200*time.Millisecond
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		sctx, cancel := context.WithTimeout(ctx, long)
		defer cancel()
		if err := h.Send(sctx, numbered(-1, size)); err != context.DeadlineExceeded || time.Since(start) < long {
			wrong.Store("the long Send returned " + strconv.Quote(errString(err)) + " after " + time.Since(start).String())
		}
	}()
	big, small := numbered(-2, 4*ringSize), numbered(-3, size)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(end); i++ {
				in := big
				if (g+i)%8 != 0 {
					in = small
				}
				d := time.Duration(1+i%4) * time.Millisecond
				start := time.Now()
				sctx, cancel := context.WithTimeout(ctx, d)
				err := h.Send(sctx, in)
				cancel()
				attempts.Add(1)
				if err != context.DeadlineExceeded || time.Since(start) < d {
					wrong.Store("a Send returned " + strconv.Quote(errString(err)) + " after " + time.Since(start).String())
				}
			}
		}()
	}
	// 3. Status meanwhile, and memory at a quarter of the attempts.
	var statusReads int
	var slowestStatus time.Duration
	var heap1, rss1 uint64
	var attempts1 int64
	for time.Now().Before(end) {
		start := time.Now()
		st := h.Status()
		slowestStatus = max(slowestStatus, time.Since(start))
		statusReads++
		require.Equal(t, pid, st.PID)
		require.Equal(t, before.Tasks, st.Tasks, "a stopped worker's counters moved")
		if heap1 == 0 && time.Since(stopped) > stopFor/4 {
			heap1, rss1, attempts1 = heapBytes(), rssBytes(t), attempts.Load()
		}
		time.Sleep(time.Millisecond)
	}
	wg.Wait()
	heap2, rss2, attempts2 := heapBytes(), rssBytes(t), attempts.Load()
	if w := wrong.Load(); w != nil {
		assert.Fail(t, "backpressure", "%s", w)
	}
	require.Equal(t, byte('T'), procState(t, pid), "the worker ran meanwhile")
	mib := func(b uint64) float64 { return float64(b) / (1 << 20) }
	t.Logf("stopped %v: %d sends accepted (%d KiB, the request ring holds %d KiB), then %d attempts blocked until their deadline; "+
		"heap %.2f -> %.2f (after %d attempts) -> %.2f MiB (after %d); RSS %.1f -> %.1f -> %.1f MiB; %d Status reads, slowest %v",
		stopFor, len(accepted), len(accepted)*size>>10, ringSize>>10, attempts2,
		mib(heap0), mib(heap1), attempts1, mib(heap2), attempts2, mib(rss0), mib(rss1), mib(rss2), statusReads, slowestStatus)
	require.Greater(t, attempts2, 2*attempts1, "too few attempts to tell growth")
	// From a quarter of the attempts to all of them: growth that scaled
	// with them would be at least 3/4 of the payload bytes attempted.
	assert.Less(t, int64(heap2)-int64(heap1), int64(256<<10), "the heap grows with the attempted sends")
	if raceBuild {
		t.Log("RSS not checked: under -race it grows with the detector's own state (see raceBuild)")
	} else {
		assert.Less(t, int64(rss2)-int64(rss1), int64(4<<20), "RSS grows with the attempted sends")
	}
	assert.Less(t, slowestStatus, time.Second, "Status blocked")

	// 4. Continue: everything accepted completes, in order, and nothing else.
	require.NoError(t, syscall.Kill(pid, syscall.SIGCONT))
	continued = true
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for i, in := range accepted {
		out, err := h.Recv(rctx)
		require.NoError(t, err, "result %d of %d", i, len(accepted))
		require.True(t, bytes.Equal(checked(in), out), "result %d is not the answer to send %d", i, i)
	}
	_, err = h.Recv(rctx)
	require.ErrorIs(t, err, worker.ErrNoSend, "a result beyond the accepted sends")
	in := numbered(0, size)
	out, err := h.Execute(ctx, in)
	require.NoError(t, err)
	assert.Equal(t, checked(in), out)
	assert.Equal(t, before.Tasks+uint64(len(accepted))+1, h.Status().Tasks)
	require.NoError(t, h.Close())
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
