package testutil

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { Main(m, nil) }

func TestProcStat(t *testing.T) {
	f, err := ProcStat(os.Getpid())
	require.NoError(t, err)
	require.NotEmpty(t, f)
	assert.Equal(t, "R", f[0], "this process reads its own state while running")

	_, err = ProcStat(-1)
	assert.Error(t, err)
}

func TestCPUTime(t *testing.T) {
	before, err := CPUTime(os.Getpid())
	require.NoError(t, err)
	// Burn well over a tick of CPU time.
	for start := time.Now(); time.Since(start) < 100*time.Millisecond; {
	}
	after, err := CPUTime(os.Getpid())
	require.NoError(t, err)
	assert.GreaterOrEqual(t, after-before, 50*time.Millisecond, "100 ms of spinning counted as %v", after-before)

	_, err = CPUTime(-1)
	assert.Error(t, err)
}

func TestAlive(t *testing.T) {
	assert.True(t, Alive(os.Getpid()))
	cmd := exec.Command("true")
	require.NoError(t, cmd.Run())
	assert.False(t, Alive(cmd.Process.Pid), "a reaped child")
}
