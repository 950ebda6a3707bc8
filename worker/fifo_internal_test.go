package worker

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFifoMatchesSlice runs random operations on a fifo and on a plain
// slice and checks that they always hold the same items.
func TestFifoMatchesSlice(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var q fifo[int]
	var want []int
	next := 0
	for i := range 100_000 {
		switch op := rng.IntN(10); {
		case op < 5:
			q.push(next)
			want = append(want, next)
			next++
		case op < 8 && len(want) > 0:
			require.Equal(t, want[0], q.front(), "front, step %d", i)
			assert.Equal(t, want[0], q.popFront(), "popFront, step %d", i)
			want = want[1:]
		case op < 9 && len(want) > 0:
			require.Equal(t, want[len(want)-1], q.back(), "back, step %d", i)
			q.popBack()
			want = want[:len(want)-1]
		case op == 9 && rng.IntN(100) == 0:
			assert.Equal(t, want, append([]int(nil), q.takeAll()...), "takeAll, step %d", i)
			want = nil
		}
		require.Equal(t, len(want), q.len(), "len, step %d", i)
	}
}

// TestFifoReusesArray is the regression test for the 8 B allocation per
// Execute: a queue that drains and refills does not allocate.
func TestFifoReusesArray(t *testing.T) {
	var q fifo[*call]
	c := &call{}
	q.push(c) // the first push allocates the array
	q.popFront()
	allocs := testing.AllocsPerRun(1000, func() {
		q.push(c)
		q.push(c)
		q.popFront()
		q.popFront()
	})
	assert.Zero(t, allocs, "a queue that drains and refills allocates")
}
