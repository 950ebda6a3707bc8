package pool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/worker"
)

// testFunc echoes, fails on "fail", panics on "panic", returns n bytes on
// "grow n".
func testFunc(_ context.Context, in []byte) ([]byte, error) {
	switch s := string(in); {
	case s == "fail":
		return nil, errors.New("it failed")
	case s == "panic":
		panic("it panicked")
	case strings.HasPrefix(s, "grow "):
		var n int
		fmt.Sscan(s[5:], &n)
		return bytes.Repeat([]byte{'g'}, n), nil
	}
	return in, nil
}

func tasksOf(ins ...string) []*task {
	ts := make([]*task, len(ins))
	for i, in := range ins {
		ts[i] = &task{in: []byte(in)}
	}
	return ts
}

func runBatch(t *testing.T, maxOut int, ins ...string) []itemResult {
	t.Helper()
	b := &batcher{name: "test", fn: testFunc, maxOut: maxOut}
	req := appendRequest(nil, tasksOf(ins...))
	require.True(t, isBatch(req))
	resp, err := b.run(context.Background(), req)
	require.NoError(t, err)
	var rs []itemResult
	_, err = parseResponse(resp, len(ins), func(i int, r itemResult) {
		require.Equal(t, len(rs), i)
		rs = append(rs, r)
	})
	require.NoError(t, err)
	require.Len(t, rs, len(ins))
	return rs
}

func TestBatchRoundTrip(t *testing.T) {
	rs := runBatch(t, 1<<20, "a", "", "fail", "panic", strings.Repeat("z", 1000))
	assert.Equal(t, tagOK, rs[0].tag)
	assert.Equal(t, "a", string(rs[0].data))
	assert.Equal(t, tagOK, rs[1].tag)
	assert.Empty(t, rs[1].data)
	assert.Equal(t, tagError, rs[2].tag)
	assert.Equal(t, "it failed", string(rs[2].data))
	assert.Equal(t, tagPanic, rs[3].tag)
	assert.Equal(t, "it panicked", string(rs[3].data))
	assert.Contains(t, string(rs[3].stack), "goroutine")
	assert.Equal(t, strings.Repeat("z", 1000), string(rs[4].data))
	assert.Equal(t, len(rs[0].data), cap(rs[0].data), "capacity cut")
}

func TestBatchOverflow(t *testing.T) {
	t.Run("results that do not fit together are skipped", func(t *testing.T) {
		rs := runBatch(t, 2000, "grow 900", "grow 900", "grow 900", "a")
		assert.Equal(t, tagOK, rs[0].tag)
		assert.Equal(t, tagOK, rs[1].tag)
		assert.Equal(t, tagSkipped, rs[2].tag)
		assert.Equal(t, tagSkipped, rs[3].tag, "everything after the first skip")
	})
	t.Run("a result too large on its own fails", func(t *testing.T) {
		rs := runBatch(t, 2000, "a", "grow 5000", "b")
		assert.Equal(t, tagOK, rs[0].tag)
		assert.Equal(t, tagTooLarge, rs[1].tag)
		assert.EqualValues(t, 5000, rs[1].size)
		assert.Equal(t, tagOK, rs[2].tag)
	})
}

func TestBatchRawItemsPassThrough(t *testing.T) {
	b := &batcher{name: "test", fn: testFunc, maxOut: 1 << 20}
	out, err := b.run(context.Background(), []byte("plain"))
	require.NoError(t, err)
	assert.Equal(t, "plain", string(out))
	_, err = b.run(context.Background(), []byte("fail"))
	require.EqualError(t, err, "it failed")
}

func TestBatchBadRequests(t *testing.T) {
	b := &batcher{name: "test", fn: testFunc, maxOut: 1 << 20}
	good := appendRequest(nil, tasksOf("a", "bc"))
	for name, req := range map[string][]byte{
		"no count":         good[:10],
		"count too large":  append(append([]byte(nil), good[:8]...), 0xff, 0xff, 0, 0),
		"truncated item":   good[:len(good)-1],
		"truncated header": good[:reqHeader+2],
	} {
		t.Run(name, func(t *testing.T) {
			_, err := b.run(context.Background(), req)
			require.ErrorIs(t, err, errBadFrame)
		})
	}
}

func TestParseResponseRejectsBadFrames(t *testing.T) {
	b := &batcher{name: "test", fn: testFunc, maxOut: 1 << 20}
	resp, err := b.run(context.Background(), appendRequest(nil, tasksOf("a", "panic")))
	require.NoError(t, err)
	for i := range len(resp) {
		_, err := parseResponse(resp[:i], 2, func(int, itemResult) {})
		require.ErrorIs(t, err, errBadFrame, "truncated at %d", i)
	}
	_, err = parseResponse(append(append([]byte(nil), resp...), 0), 2, func(int, itemResult) {})
	require.ErrorIs(t, err, errBadFrame, "trailing bytes")
	_, err = parseResponse(resp, 3, func(int, itemResult) {})
	require.ErrorIs(t, err, errBadFrame, "too few items")
	bad := append([]byte(nil), resp...)
	bad[respPrefix] = 9 // unknown tag
	_, err = parseResponse(bad, 2, func(int, itemResult) {})
	require.ErrorIs(t, err, errBadFrame)
}

// FuzzParseResponse: a response frame from a worker never panics the
// parent, and a frame is accepted only with exactly count items.
func FuzzParseResponse(f *testing.F) {
	b := &batcher{name: "test", fn: testFunc, maxOut: 1 << 20}
	resp, _ := b.run(context.Background(), appendRequest(nil, tasksOf("a", "fail", "panic", "grow 10")))
	f.Add(resp, 4)
	f.Add([]byte{}, 0)
	f.Fuzz(func(t *testing.T, data []byte, count int) {
		count = count & 0xff
		n := 0
		_, err := parseResponse(data, count, func(i int, r itemResult) {
			if i != n {
				t.Fatalf("item %d after %d", i, n)
			}
			n++
		})
		if err == nil && n != count {
			t.Fatalf("accepted %d of %d items", n, count)
		}
	})
}

// FuzzBatchRequest: the wrapper never panics on a request frame, and runs
// every item of a valid one.
func FuzzBatchRequest(f *testing.F) {
	f.Add(appendRequest(nil, tasksOf("a", "bc", "")))
	f.Add(batchMagic[:])
	f.Fuzz(func(t *testing.T, req []byte) {
		b := &batcher{name: "test", fn: func(_ context.Context, in []byte) ([]byte, error) { return in, nil }, maxOut: 1 << 20}
		if !isBatch(req) {
			return
		}
		resp, err := b.run(context.Background(), req)
		if err != nil {
			return
		}
		count := int(uint32(req[8]) | uint32(req[9])<<8 | uint32(req[10])<<16 | uint32(req[11])<<24)
		if _, err := parseResponse(resp, count, func(int, itemResult) {}); err != nil {
			t.Fatalf("the wrapper's own response does not parse: %v", err)
		}
	})
}

func TestBatchStatic(t *testing.T) {
	s := batchStatic("fn", 12345, []byte("static"))
	name, maxOut, static, err := parseBatchStatic(s)
	require.NoError(t, err)
	assert.Equal(t, "fn", name)
	assert.Equal(t, 12345, maxOut)
	assert.Equal(t, "static", string(static))
	_, _, _, err = parseBatchStatic(s[:1])
	require.ErrorIs(t, err, errBadFrame)
	_, err = newBatchFunc(batchStatic("not registered", 100, nil))
	require.ErrorContains(t, err, "not registered with pool.Register")
}

func TestRemoteErrorNamesTheUserFunction(t *testing.T) {
	g := &gen{}
	g.fn.Store(&funcState{name: "user"})
	err := g.fixRemote(fmt.Errorf("wrapped: %w", &worker.RemoteError{Func: batchFunc, Message: "m"}))
	var re *worker.RemoteError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "user", re.Func)
}

func TestQueue(t *testing.T) {
	var q queue
	none := func([]*slot, int) []*slot { return nil }
	ts := tasksOf("0", "1", "2", "3", "4", "5", "6", "7", "8", "9")
	for i := 0; i < 200; i++ {
		_, err := q.push(ts[i%10:i%10+1], none)
		require.NoError(t, err)
	}
	assert.Equal(t, 200, q.len())
	_, err := q.pushFront([]*task{ts[9], ts[8]}, none)
	require.NoError(t, err)
	assert.Same(t, ts[9], q.popFront())
	assert.Same(t, ts[8], q.popFront())
	assert.Same(t, ts[0], q.popFront())
	require.True(t, q.remove(ts[1]))
	assert.Same(t, ts[2], q.popFront())
	n := q.purge(func(t *task) bool { return t == ts[3] })
	assert.Equal(t, 20, n)
	assert.Equal(t, 202-4-1-20, q.len())
	q.close(ErrClosed)
	_, err = q.push(ts[:1], none)
	require.ErrorIs(t, err, ErrClosed)
	_, err = q.pushFront(ts[:1], none)
	require.NoError(t, err, "retries still go in after Close")
	rest := q.kill(ErrNoWorkers)
	assert.Len(t, rest, 178)
	_, err = q.pushFront(ts[:1], none)
	require.ErrorIs(t, err, ErrNoWorkers)
}

func BenchmarkBatcherRun(b *testing.B) {
	bt := &batcher{name: "echo", fn: func(_ context.Context, in []byte) ([]byte, error) { return in, nil }, maxOut: 64 << 20}
	ts := make([]*task, 1024)
	for i := range ts {
		ts[i] = &task{in: make([]byte, 64)}
	}
	req := appendRequest(nil, ts)
	b.SetBytes(int64(len(req)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bt.run(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ts)), "ns/item")
}

func BenchmarkAppendRequest(b *testing.B) {
	ts := make([]*task, 1024)
	for i := range ts {
		ts[i] = &task{in: make([]byte, 64)}
	}
	var buf []byte
	for b.Loop() {
		buf = appendRequest(buf[:0], ts)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ts)), "ns/item")
}
