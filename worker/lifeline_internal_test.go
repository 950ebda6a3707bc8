package worker

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLifelineClosed closes only the parent's end of the lifeline, the
// parent staying alive (so Pdeathsig cannot be what stops the worker): the
// worker must exit on its own with exitOrphan, promptly. The function
// "echo" is registered by the black-box tests of this binary.
func TestLifelineClosed(t *testing.T) {
	h, err := Start(context.Background(), Config{Func: "echo"})
	require.NoError(t, err)
	defer h.Terminate()

	require.NoError(t, h.lifeline.Close())
	select {
	case <-h.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("the worker still runs 2 s after its lifeline closed")
	}
	_, err = h.Execute(context.Background(), []byte("x"))
	var xerr *ExitError
	require.ErrorAs(t, err, &xerr)
	assert.Equal(t, exitOrphan, xerr.Code)
	assert.Zero(t, xerr.Signal)
}
