package pool_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/pool"
	"github.com/shmpool/shmpool/worker"
)

func TestSmoke(t *testing.T) {
	for _, fn := range []string{"upper", "upper-raw"} {
		p, err := pool.New(context.Background(), pool.Config{Workers: 2, Worker: worker.Config{Func: fn}})
		require.NoError(t, err)
		out, err := p.Do(context.Background(), []byte("hi"))
		require.NoError(t, err)
		require.Equal(t, "HI", string(out))
		ins := make([][]byte, 10000)
		for i := range ins {
			ins[i] = []byte(fmt.Sprintf("item%d", i))
		}
		outs, err := p.Map(context.Background(), ins)
		require.NoError(t, err)
		for i := range ins {
			require.Equal(t, fmt.Sprintf("ITEM%d", i), string(outs[i]))
		}
		t.Logf("%+v", p.Status().Total)
		require.NoError(t, p.Close())
	}
}
