package worker_test

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/internal/testutil"
	"github.com/shmpool/shmpool/status"
	"github.com/shmpool/shmpool/worker"
)

// start starts a worker for a test and closes it at the end.
func start(tb testing.TB, cfg worker.Config) *worker.Handle {
	tb.Helper()
	h, err := worker.Start(context.Background(), cfg)
	require.NoError(tb, err)
	tb.Cleanup(func() { h.Terminate() })
	return h
}

// spins are the wait policies the tests run under: the default (adaptive
// spinning) and never spinning, where every wait sleeps on a doorbell.
var spins = []struct {
	name string
	spin time.Duration
}{
	{"with the default spin", 0},
	{"without spinning", -1},
}

// liveBound bounds how long a test waits for something that must happen:
// a liveness bound against a hang, not a speed assertion.
const liveBound = 10 * time.Second

// eventually polls cond until it holds, failing the test after liveBound.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	for deadline := time.Now().Add(liveBound); !cond(); {
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not within %v", what, liveBound)
		}
		time.Sleep(time.Millisecond)
	}
}

// closedWithin reports whether ch is closed, waiting up to liveBound for it.
func closedWithin(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-time.After(liveBound):
		return false
	}
}

// held is what this process holds that a Handle could leak.
type held struct {
	fds      []int
	children []int
	memfds   int
}

func holding() held {
	testutil.Snapshot() // makes sure the netpoller's descriptors exist
	return held{
		fds:      slices.Sorted(maps.Keys(testutil.OpenFDs())),
		children: testutil.Children(),
		memfds:   testutil.MemfdMappings(),
	}
}

// requireReleased checks that every descriptor, child process and memfd
// mapping held now was held at before.
func requireReleased(tb testing.TB, before held) {
	tb.Helper()
	after := holding()
	assert.ElementsMatch(tb, before.fds, after.fds, "open descriptors (now: %v)", testutil.OpenFDs())
	assert.ElementsMatch(tb, before.children, after.children, "child processes")
	assert.Equal(tb, before.memfds, after.memfds, "memfd mappings")
}

func TestExecute(t *testing.T) {
	for _, sp := range spins {
		t.Run(sp.name, func(t *testing.T) {
			h := start(t, worker.Config{Func: "upper", Spin: sp.spin})
			for _, in := range []string{"hello", "", "x", "Mixed Case 123"} {
				out, err := h.Execute(context.Background(), []byte(in))
				require.NoError(t, err)
				assert.Equal(t, string(bytesUpper(in)), string(out))
			}
			require.NoError(t, h.Close())
		})
	}
}

func bytesUpper(s string) []byte {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return b
}

func TestExecuteResultIsTheCallers(t *testing.T) {
	h := start(t, worker.Config{Func: "echo"})
	first, err := h.Execute(context.Background(), []byte("first"))
	require.NoError(t, err)
	_, err = h.Execute(context.Background(), []byte("second"))
	require.NoError(t, err)
	assert.Equal(t, "first", string(first), "a result is a copy, not a view of the ring")
}

func TestSendRecv(t *testing.T) {
	for _, sp := range spins {
		t.Run(sp.name, func(t *testing.T) {
			h := start(t, worker.Config{Func: "echo", Spin: sp.spin})
			ctx := context.Background()
			_, err := h.Recv(ctx)
			require.ErrorIs(t, err, worker.ErrNoSend, "Recv before any Send")
			assert.False(t, h.Poll(), "Poll before any Send")

			const n = 100
			for i := range n {
				require.NoError(t, h.Send(ctx, []byte(strconv.Itoa(i))))
			}
			eventually(t, "Poll reports a result", h.Poll)
			for i := range n {
				out, err := h.Recv(ctx)
				require.NoError(t, err)
				require.Equal(t, strconv.Itoa(i), string(out), "results come back in Send order")
			}
			assert.False(t, h.Poll(), "every result was taken")
			_, err = h.Recv(ctx)
			require.ErrorIs(t, err, worker.ErrNoSend, "Recv after every result was taken")
			require.NoError(t, h.Close())
		})
	}
}

// TestSendsOverflowingBothRings sends several rings' worth of work before
// asking for any result, then closes with results still unread: nothing
// may wait for a Recv that has not come (the results are read into the
// parent's memory as the rings fill up, and by Close).
func TestSendsOverflowingBothRings(t *testing.T) {
	for _, sp := range spins {
		t.Run(sp.name, func(t *testing.T) {
			h := start(t, worker.Config{Func: "echo", Spin: sp.spin, RingSize: 64 << 10})
			ctx, cancel := context.WithTimeout(context.Background(), liveBound)
			defer cancel()
			const n = 100 // 100 x 4 KiB each way through 64 KiB rings
			msg := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 4<<10) }
			for i := range n {
				require.NoError(t, h.Send(ctx, msg(i)), "Send %d", i)
			}
			for i := range n / 2 {
				out, err := h.Recv(ctx)
				require.NoError(t, err)
				require.Equal(t, msg(i), out, "result %d", i)
			}
			require.NoError(t, h.Close(), "Close with %d results unread", n/2)
		})
	}
}

func TestSendRecvInterleavedWithExecute(t *testing.T) {
	h := start(t, worker.Config{Func: "echo"})
	ctx := context.Background()
	require.NoError(t, h.Send(ctx, []byte("s1")))
	out, err := h.Execute(ctx, []byte("e1"))
	require.NoError(t, err)
	assert.Equal(t, "e1", string(out))
	require.NoError(t, h.Send(ctx, []byte("s2")))
	out, err = h.Execute(ctx, []byte("e2"))
	require.NoError(t, err)
	assert.Equal(t, "e2", string(out))

	assert.True(t, h.Poll(), "the Sends before the Executes have been answered")
	for _, want := range []string{"s1", "s2"} {
		out, err := h.Recv(ctx)
		require.NoError(t, err)
		assert.Equal(t, want, string(out))
	}
	_, err = h.Recv(ctx)
	require.ErrorIs(t, err, worker.ErrNoSend, "an Execute result never shows up in Recv")
}

func TestRecvWaitsAndHonoursItsContext(t *testing.T) {
	h := start(t, worker.Config{Func: "sleep", Spin: -1})
	require.NoError(t, h.Send(context.Background(), []byte("300ms")))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err := h.Recv(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	out, err := h.Recv(context.Background())
	require.NoError(t, err, "the result stayed queued for the next Recv")
	assert.Equal(t, "300ms", string(out))
}

func TestRecvFromManyGoroutines(t *testing.T) {
	h := start(t, worker.Config{Func: "echo"})
	const n = 200
	for i := range n {
		require.NoError(t, h.Send(context.Background(), []byte(strconv.Itoa(i))))
	}
	got := make(chan int, n)
	errs := make(chan error, n)
	for range 4 {
		go func() {
			for range n / 4 {
				out, err := h.Recv(context.Background())
				if err != nil {
					errs <- err
					return
				}
				v, _ := strconv.Atoi(string(out))
				got <- v
			}
		}()
	}
	seen := map[int]bool{}
	for range n {
		select {
		case v := <-got:
			require.False(t, seen[v], "result %d received twice", v)
			seen[v] = true
		case err := <-errs:
			t.Fatal(err)
		case <-time.After(liveBound):
			t.Fatal("Recv hangs")
		}
	}
	assert.Len(t, seen, n)
}

func TestPID(t *testing.T) {
	h := start(t, worker.Config{Func: "pid"})
	out, err := h.Execute(context.Background(), nil)
	require.NoError(t, err)
	assert.Equal(t, strconv.Itoa(h.PID()), string(out), "PID is the process that runs the function")
	assert.Equal(t, h.PID(), h.Status().PID)
	pid := h.PID()
	require.NoError(t, h.Close())
	assert.Equal(t, pid, h.PID(), "PID stays valid after Close")
	assert.Equal(t, pid, h.Status().PID, "so does Status")
}

func TestDone(t *testing.T) {
	h := start(t, worker.Config{Func: "echo"})
	select {
	case <-h.Done():
		t.Fatal("Done is closed while the worker runs")
	default:
	}
	require.NoError(t, h.Close())
	select {
	case <-h.Done():
	default:
		t.Fatal("Done is not closed after Close returned")
	}
}

func TestSetFunc(t *testing.T) {
	for _, sp := range spins {
		t.Run(sp.name, func(t *testing.T) {
			ctx := context.Background()
			h := start(t, worker.Config{Func: "echo", Spin: sp.spin})
			execute := func(in string) string {
				t.Helper()
				out, err := h.Execute(ctx, []byte(in))
				require.NoError(t, err)
				return string(out)
			}
			assert.Equal(t, "x", execute("x"))
			assert.Equal(t, "echo", h.Status().Func)

			require.NoError(t, h.SetFunc(ctx, "prefix", []byte("pre-")))
			assert.Equal(t, "pre-x", execute("x"), "the factory's function runs, with its static data")
			assert.Equal(t, "prefix", h.Status().Func)

			require.NoError(t, h.SetFunc(ctx, "prefix", []byte("other-")))
			assert.Equal(t, "other-x", execute("x"), "a new configuration rebuilds the function")

			err := h.SetFunc(ctx, "prefix", []byte("bad"))
			var rerr *worker.RemoteError
			require.ErrorAs(t, err, &rerr, "the factory's error comes back")
			assert.Equal(t, "prefix", rerr.Func)
			assert.Contains(t, rerr.Message, "static data says bad")
			assert.False(t, rerr.Panic)
			assert.Equal(t, "other-x", execute("x"), "a failed SetFunc keeps the previous function")

			err = h.SetFunc(ctx, "no-such-function", nil)
			require.ErrorIs(t, err, worker.ErrUnknownFunc)
			assert.Contains(t, err.Error(), "no-such-function")
			assert.Equal(t, "other-x", execute("x"), "an unknown name keeps the previous function")

			require.Error(t, h.SetFunc(ctx, "", nil), "an empty name")

			require.NoError(t, h.SetFunc(ctx, "upper", nil))
			assert.Equal(t, "X", execute("x"))
			require.NoError(t, h.Close())
		})
	}
}

func TestSetFuncOrdersWithQueuedWork(t *testing.T) {
	ctx := context.Background()
	h := start(t, worker.Config{Func: "echo"})
	for i := range 10 {
		require.NoError(t, h.Send(ctx, []byte(strconv.Itoa(i))))
	}
	require.NoError(t, h.SetFunc(ctx, "prefix", []byte("p")))
	require.NoError(t, h.Send(ctx, []byte("after")))
	for i := range 10 {
		out, err := h.Recv(ctx)
		require.NoError(t, err)
		assert.Equal(t, strconv.Itoa(i), string(out), "work sent before SetFunc runs the old function")
	}
	out, err := h.Recv(ctx)
	require.NoError(t, err)
	assert.Equal(t, "pafter", string(out), "work sent after SetFunc runs the new function")
}

func TestStartWithStaticData(t *testing.T) {
	h := start(t, worker.Config{Func: "prefix", Static: []byte("static:")})
	out, err := h.Execute(context.Background(), []byte("in"))
	require.NoError(t, err)
	assert.Equal(t, "static:in", string(out))
}

// TestRecvDuringAFailingSend calls Recv while the only Send in progress
// fails (its context ends while the ring is full): Recv must then report
// that no Send is outstanding instead of waiting for ever.
func TestRecvDuringAFailingSend(t *testing.T) {
	h := start(t, worker.Config{Func: "block", RingSize: 64 << 10, Spin: -1})
	// Three 20 KiB tasks fill the 64 KiB ring: the worker never finishes
	// the first, so they stay there. Each Execute puts its message in the
	// ring, then gives up waiting for the result.
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		_, err := h.Execute(ctx, make([]byte, 20<<10))
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded)
	}
	eventually(t, "the worker runs a task", func() bool { return h.Status().State == status.Busy })

	sendErr := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		sendErr <- h.Send(ctx, make([]byte, 20<<10))
	}()
	time.Sleep(100 * time.Millisecond) // Recv while the Send waits for room
	recvErr := make(chan error, 1)
	go func() {
		_, err := h.Recv(context.Background())
		recvErr <- err
	}()
	require.ErrorIs(t, <-sendErr, context.DeadlineExceeded)
	select {
	case err := <-recvErr:
		require.ErrorIs(t, err, worker.ErrNoSend)
	case <-time.After(liveBound):
		t.Fatal("Recv waits for a Send that failed")
	}
	require.NoError(t, h.Terminate())
}
