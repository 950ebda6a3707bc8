package wake

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// polled reports whether fd is in one of this process's epoll sets, from
// the "tfd:" lines of /proc/self/fdinfo.
func polled(t *testing.T, fd int) bool {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err != nil || target != "anon_inode:[eventpoll]" {
			continue
		}
		f, err := os.Open(filepath.Join("/proc/self/fdinfo", e.Name()))
		require.NoError(t, err)
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) >= 2 && fields[0] == "tfd:" && fields[1] == strconv.Itoa(fd) {
				f.Close()
				return true
			}
		}
		f.Close()
	}
	return false
}

// A ring must not wake the ringing process's own netpoller: only the side
// that waits puts its descriptor in the epoll set, at its first Wait, and
// the exported files never go there.
func TestOnlyTheWaiterIsPolled(t *testing.T) {
	for _, kind := range []Kind{Eventfd, Pipe} {
		t.Run(kind.String(), func(t *testing.T) {
			d, err := New(kind)
			require.NoError(t, err)
			defer d.Close()
			require.NoError(t, d.Ring())
			for _, fd := range d.fds {
				assert.False(t, polled(t, fd), "descriptor %d before a Wait", fd)
			}
			for _, f := range d.Files() {
				rc, err := f.SyscallConn()
				require.NoError(t, err)
				require.NoError(t, rc.Control(func(fd uintptr) {
					assert.False(t, polled(t, int(fd)), "exported descriptor %d", fd)
				}))
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			require.NoError(t, d.Wait(ctx))
			assert.True(t, polled(t, d.fds[0]), "the read descriptor after a Wait")
			if kind == Pipe {
				assert.False(t, polled(t, d.fds[1]), "the write end after a Wait")
			}
		})
	}
}
