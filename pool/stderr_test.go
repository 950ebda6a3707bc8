package pool_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/pool"
	"github.com/shmpool/shmpool/worker"
)

// shoutLines is how many lines "shout" writes to its stderr per item.
const shoutLines = 20

func init() {
	// shout writes its input to stderr shoutLines times, a line each.
	worker.Register("shout", func(_ context.Context, in []byte) ([]byte, error) {
		for range shoutLines {
			if _, err := os.Stderr.Write(append(append([]byte(nil), in...), '\n')); err != nil {
				return nil, err
			}
		}
		return in, nil
	})
}

// TestStderrNeedNotBeSafeForConcurrentUse: every worker of a pool copies
// its stderr into Config.Worker.Stderr from a goroutine of its own; the pool
// serialises them, so a bytes.Buffer works (-race checks it) and loses no
// byte.
func TestStderrNeedNotBeSafeForConcurrentUse(t *testing.T) {
	var buf bytes.Buffer
	p, err := pool.New(context.Background(), pool.Config{
		Workers: 3,
		Worker:  worker.Config{Func: "shout", Stderr: &buf},
	})
	require.NoError(t, err)
	ins := make([][]byte, 60)
	for i := range ins {
		ins[i] = []byte(strings.Repeat("x", i+1))
	}
	_, err = p.Map(context.Background(), ins)
	require.NoError(t, err)
	require.NoError(t, p.Close()) // the workers are reaped: their stderr is all in

	want := 0
	for _, in := range ins {
		want += shoutLines * (len(in) + 1)
	}
	assert.Equal(t, want, buf.Len(), "bytes the workers wrote to stderr")
	assert.Equal(t, shoutLines*len(ins), strings.Count(buf.String(), "\n"))
}
