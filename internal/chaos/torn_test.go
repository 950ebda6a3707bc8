package chaos_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/pool"
	"github.com/shmpool/shmpool/worker"
)

// fnTorn answers checked(in). An input starting with "die|" makes the
// worker SIGKILL itself 0-3 ms after the function returns: while a large
// result is still going out in fragments, most of the time.
const fnTorn = "chaos.torn"

func init() {
	worker.Register(fnTorn, func(_ context.Context, in []byte) ([]byte, error) {
		out := checked(in)
		if bytes.HasPrefix(in, []byte("die|")) {
			d := time.Duration(rand.IntN(3000)) * time.Microsecond
			go func() {
				time.Sleep(d)
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
			}()
		}
		return out, nil
	})
}

// randomInput returns n random bytes that do not start with "die|".
func randomInput(n int) []byte {
	in := make([]byte, n)
	for i := range in {
		in[i] = byte(rand.Uint32())
	}
	if n > 0 {
		in[0] = 'x'
	}
	return in
}

// assertKilled checks that err is the *worker.ExitError of a worker killed
// by SIGKILL.
func assertKilled(t *testing.T, err error, msgAndArgs ...any) bool {
	t.Helper()
	var ee *worker.ExitError
	return assert.ErrorAs(t, err, &ee, msgAndArgs...) &&
		assert.ErrorIs(t, err, worker.ErrExited, msgAndArgs...) &&
		assert.Equal(t, syscall.SIGKILL, ee.Signal, msgAndArgs...)
}

// TestTornRecord kills a worker in the middle of writing a result record:
// it has reserved the record, copied half the payload and overwritten the
// rest with 0xEE (testhook.BeforeCommit), and dies before the commit.
// Rings of several sizes and payloads up to the largest record make the
// torn record fall anywhere, across the wrap included. Invariants:
//  1. every result the parent returns is whole and right (byte for byte,
//     with a CRC): the results committed before the death, in order;
//  2. the call whose record was torn, and every later one, fails with the
//     worker's *worker.ExitError (SIGKILL): never a partial or garbage
//     result;
//  3. a worker started next runs on a fresh segment: its first task
//     completes with the right result and its counters start from zero.
func TestTornRecord(t *testing.T) {
	iters := scale(6, 200)
	torn := 0
	for i := range iters {
		ringSize := []int{4 << 10, 16 << 10, 64 << 10}[rand.IntN(3)]
		maxIn := ringSize/2 - 16 - 4 // the result (4 bytes more) fills one record at most
		k := 1 + rand.IntN(6)
		cfg := worker.Config{Func: fnTorn, RingSize: ringSize, Env: []string{envHook + "=after:" + strconv.Itoa(k)}}
		h, err := worker.Start(context.Background(), cfg)
		require.NoError(t, err)
		ins := make([][]byte, k+1+rand.IntN(4))
		for j := range ins {
			switch rand.IntN(3) {
			case 0:
				ins[j] = randomInput(rand.IntN(64))
			case 1:
				ins[j] = randomInput(rand.IntN(maxIn + 1))
			default:
				ins[j] = randomInput(maxIn - rand.IntN(64))
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		accepted := 0
		for _, in := range ins {
			if err := h.Send(ctx, in); err != nil {
				assertKilled(t, err, "iteration %d: Send %d", i, accepted)
				break
			}
			accepted++
		}
		require.GreaterOrEqual(t, accepted, k, "iteration %d: Sends refused before the death", i)
		for j := range accepted {
			out, err := h.Recv(ctx)
			if j < k-1 {
				require.NoError(t, err, "iteration %d (ring %d, dies at result %d): result %d", i, ringSize, k, j)
				require.True(t, bytes.Equal(checked(ins[j]), out), "iteration %d: result %d is not whole and right (%d bytes for a %d-byte input)", i, j, len(out), len(ins[j]))
				continue
			}
			require.Nil(t, out, "iteration %d: result %d after the torn record", i, j)
			require.True(t, assertKilled(t, err, "iteration %d: result %d", i, j))
		}
		cancel()
		torn++
		require.NoError(t, h.Close())

		// The next worker: fresh segment, fresh counters.
		cfg.Env = nil
		h2, err := worker.Start(context.Background(), cfg)
		require.NoError(t, err)
		in := ins[k-1] // the input whose result was torn
		out, err := h2.Execute(context.Background(), in)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(checked(in), out), "iteration %d: the next worker's first result", i)
		st := h2.Status()
		assert.Equal(t, uint64(1), st.Tasks, "iteration %d: the next worker's counters", i)
		assert.Equal(t, uint64(len(in)), st.BytesIn)
		assert.Equal(t, uint64(len(out)), st.BytesOut)
		require.NoError(t, h2.Close())
	}
	t.Logf("%d workers killed with a result record half written; every result before was whole, none after", torn)
}

// TestTornRecordPool: in a pool, the worker that dies with a result record
// half written is replaced by one on a fresh segment, whose first task (the
// same one, run again) completes with the right result; the pool never
// returns a partial result. The token hook picks the moment: the next
// result record written by any worker.
func TestTornRecordPool(t *testing.T) {
	rounds := scale(5, 30)
	tokens := t.TempDir()
	p, err := pool.New(context.Background(), pool.Config{
		Workers: 1,
		Retries: 1,
		Worker:  worker.Config{Func: fnTorn, RingSize: 16 << 10, Env: []string{envHook + "=token:" + tokens}},
	})
	require.NoError(t, err)
	defer p.Terminate()
	for r := range rounds {
		before := p.Status()
		require.Len(t, before.Workers, 1)
		in := randomInput(rand.IntN(8<<10 - 20))
		out, err := p.Do(context.Background(), in)
		require.NoError(t, err)
		require.True(t, bytes.Equal(checked(in), out), "round %d: a result before the kill", r)

		require.NoError(t, os.WriteFile(filepath.Join(tokens, "any"), nil, 0o600))
		in = randomInput(rand.IntN(8<<10 - 20))
		out, err = p.Do(context.Background(), in)
		require.NoError(t, err, "round %d: the task whose result was torn runs again", r)
		require.True(t, bytes.Equal(checked(in), out), "round %d: the result of the task whose result was torn", r)
		_, err = os.Stat(filepath.Join(tokens, "any"))
		require.True(t, errors.Is(err, os.ErrNotExist), "round %d: no worker died", r)

		after := p.Status()
		require.Len(t, after.Workers, 1)
		w := after.Workers[0]
		assert.Equal(t, before.Restarts+1, after.Restarts, "round %d: restarts", r)
		assert.NotEqual(t, before.Workers[0].PID, w.PID, "round %d: the same worker", r)
		assert.Equal(t, uint64(1), w.Tasks, "round %d: the replacement's counters do not start from zero", r)
		assert.Equal(t, uint64(len(in)), w.BytesIn, "round %d: the replacement's BytesIn", r)
	}
	require.NoError(t, p.Close())
	assert.Len(t, hookKills(t, tokens), rounds)
}

// TestTornFragmentedMessage kills workers while a result larger than a ring
// record goes out in fragments (1 MiB through a 64 KiB ring). The parent
// delivers a message only once whole: each call returns the whole right
// result or the worker's *worker.ExitError, never part of it.
func TestTornFragmentedMessage(t *testing.T) {
	iters := scale(6, 60)
	var whole, died int
	for i := range iters {
		h, err := worker.Start(context.Background(), worker.Config{Func: fnTorn, RingSize: 64 << 10})
		require.NoError(t, err)
		in := append([]byte("die|"), randomInput(1<<20-rand.IntN(4096))...)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		out, err := h.Execute(ctx, in)
		cancel()
		if err != nil {
			require.True(t, assertKilled(t, err, "iteration %d", i))
			require.Nil(t, out)
			died++
		} else {
			require.True(t, bytes.Equal(checked(in), out), "iteration %d: %d bytes, not the whole right result", i, len(out))
			whole++
		}
		<-h.Done() // it dies either way
		h.Close()
	}
	t.Logf("%d calls: %d whole results, %d failed with the worker's death", iters, whole, died)
}
