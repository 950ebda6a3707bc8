package wake_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/shmpool/shmpool/internal/testutil"
	"github.com/shmpool/shmpool/internal/wake"
)

var kinds = []wake.Kind{wake.Eventfd, wake.Pipe}

// short is a context that expires soon: for waits that must time out.
func short(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	tb.Cleanup(cancel)
	return ctx
}

// waitAsync runs d.Wait(ctx) on its own goroutine.
func waitAsync(ctx context.Context, d *wake.Doorbell) <-chan error {
	done := make(chan error, 1)
	go func() { done <- d.Wait(ctx) }()
	return done
}

// within returns what done delivers, failing the test if nothing arrives
// within a generous limit: a check that the wait ended, not of its speed.
func within(tb testing.TB, done <-chan error) error {
	tb.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		tb.Fatal("wait did not return")
		return nil
	}
}

func TestDoorbell(t *testing.T) {
	tests := []struct {
		name string
		fn   func(t *testing.T, d *wake.Doorbell)
	}{
		{"a ring wakes the next wait", func(t *testing.T, d *wake.Doorbell) {
			require.NoError(t, d.Ring())
			require.NoError(t, d.Wait(context.Background()))
		}},
		{"a ring wakes a blocked wait", func(t *testing.T, d *wake.Doorbell) {
			done := waitAsync(context.Background(), d)
			time.Sleep(10 * time.Millisecond)
			require.NoError(t, d.Ring())
			require.NoError(t, within(t, done))
		}},
		{"many rings coalesce into one wait", func(t *testing.T, d *wake.Doorbell) {
			// More than a pipe holds: the overflow is a pending wake-up.
			for range 100_000 {
				require.NoError(t, d.Ring())
			}
			require.NoError(t, d.Wait(context.Background()))
			require.ErrorIs(t, d.Wait(short(t)), context.DeadlineExceeded, "the first wait drained every ring")
		}},
		{"a wait without a ring times out", func(t *testing.T, d *wake.Doorbell) {
			err := d.Wait(short(t))
			require.ErrorIs(t, err, context.DeadlineExceeded)
		}},
		{"cancelling the context ends a blocked wait", func(t *testing.T, d *wake.Doorbell) {
			ctx, cancel := context.WithCancel(context.Background())
			done := waitAsync(ctx, d)
			time.Sleep(10 * time.Millisecond)
			start := time.Now()
			cancel()
			require.ErrorIs(t, within(t, done), context.Canceled)
			assert.Less(t, time.Since(start), time.Second, "a cancelled wait returns promptly")
		}},
		{"a cancelled context returns without waiting even if rung", func(t *testing.T, d *wake.Doorbell) {
			require.NoError(t, d.Ring())
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			require.ErrorIs(t, d.Wait(ctx), context.Canceled)
			require.NoError(t, d.Wait(short(t)), "the ring is still pending")
		}},
		{"a wait after a cancelled one is not cut short", func(t *testing.T, d *wake.Doorbell) {
			for range 5 {
				require.ErrorIs(t, d.Wait(short(t)), context.DeadlineExceeded)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			done := waitAsync(ctx, d)
			time.Sleep(20 * time.Millisecond)
			require.NoError(t, d.Ring())
			require.NoError(t, within(t, done))
		}},
		{"close wakes a blocked wait", func(t *testing.T, d *wake.Doorbell) {
			done := waitAsync(context.Background(), d)
			time.Sleep(10 * time.Millisecond)
			require.NoError(t, d.Close())
			err := within(t, done)
			require.ErrorIs(t, err, os.ErrClosed)
			require.ErrorIs(t, err, wake.ErrClosed)
		}},
		{"close twice is fine", func(t *testing.T, d *wake.Doorbell) {
			require.NoError(t, d.Close())
			require.NoError(t, d.Close())
		}},
		{"ring and wait after close fail", func(t *testing.T, d *wake.Doorbell) {
			require.NoError(t, d.Close())
			assert.ErrorIs(t, d.Ring(), wake.ErrClosed)
			assert.ErrorIs(t, d.Wait(context.Background()), wake.ErrClosed)
		}},
		{"a second concurrent wait is refused", func(t *testing.T, d *wake.Doorbell) {
			done := waitAsync(context.Background(), d)
			time.Sleep(10 * time.Millisecond)
			require.ErrorIs(t, d.Wait(context.Background()), wake.ErrConcurrentWait)
			require.NoError(t, d.Ring())
			require.NoError(t, within(t, done))
		}},
		{"ring is safe from many goroutines while closing", func(t *testing.T, d *wake.Doorbell) {
			errs := make(chan error, 4)
			for range cap(errs) {
				go func() {
					for {
						if err := d.Ring(); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			time.Sleep(10 * time.Millisecond)
			require.NoError(t, d.Close())
			for range cap(errs) {
				assert.ErrorIs(t, within(t, errs), wake.ErrClosed)
			}
		}},
	}
	for _, kind := range kinds {
		for _, tt := range tests {
			t.Run(kind.String()+"/"+tt.name, func(t *testing.T) {
				tt.fn(t, newDoorbell(t, kind))
			})
		}
	}
}

// dupFiles duplicates files, since Open takes ownership of what it is given.
func dupFiles(tb testing.TB, files []*os.File) []*os.File {
	tb.Helper()
	out := make([]*os.File, len(files))
	for i, f := range files {
		rc, err := f.SyscallConn()
		require.NoError(tb, err)
		var fd int
		var derr error
		require.NoError(tb, rc.Control(func(sysfd uintptr) {
			fd, derr = unix.FcntlInt(sysfd, unix.F_DUPFD_CLOEXEC, 0)
		}))
		require.NoError(tb, derr)
		out[i] = os.NewFile(uintptr(fd), f.Name())
	}
	return out
}

func TestOpen(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind.String()+"/open rebuilds a doorbell that rings both ways", func(t *testing.T) {
			a := newDoorbell(t, kind)
			b, err := wake.Open(kind, dupFiles(t, a.Files())...)
			require.NoError(t, err)
			defer b.Close()
			assert.Equal(t, kind, b.Kind())
			require.NoError(t, a.Ring())
			require.NoError(t, b.Wait(short(t)))
			require.NoError(t, b.Ring())
			require.NoError(t, a.Wait(short(t)))
		})
	}

	efd := newDoorbell(t, wake.Eventfd)
	pipe := newDoorbell(t, wake.Pipe)
	regular, err := os.CreateTemp(t.TempDir(), "not-a-doorbell")
	require.NoError(t, err)
	defer regular.Close()
	pf := pipe.Files()
	tests := []struct {
		name  string
		kind  wake.Kind
		files []*os.File
		want  error
	}{
		{"an eventfd doorbell from no files", wake.Eventfd, nil, wake.ErrNotDoorbell},
		{"an eventfd doorbell from two files", wake.Eventfd, dupFiles(t, append(efd.Files(), efd.Files()...)), wake.ErrNotDoorbell},
		{"an eventfd doorbell from a pipe's read end", wake.Eventfd, dupFiles(t, pf[:1]), wake.ErrNotDoorbell},
		{"an eventfd doorbell from a regular file", wake.Eventfd, dupFiles(t, []*os.File{regular}), wake.ErrNotDoorbell},
		{"a pipe doorbell from an eventfd", wake.Pipe, dupFiles(t, append(efd.Files(), efd.Files()...)), wake.ErrNotDoorbell},
		{"a pipe doorbell with its ends swapped", wake.Pipe, dupFiles(t, []*os.File{pf[1], pf[0]}), wake.ErrNotDoorbell},
		{"a pipe doorbell from one end", wake.Pipe, dupFiles(t, pf[:1]), wake.ErrNotDoorbell},
		{"a pipe doorbell with a nil file", wake.Pipe, []*os.File{nil, nil}, wake.ErrNotDoorbell},
		{"a doorbell of an unknown kind", wake.Kind(9), dupFiles(t, efd.Files()), errors.ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := wake.Open(tt.kind, tt.files...)
			require.ErrorIs(t, err, tt.want)
			assert.Nil(t, d)
		})
	}

	t.Run("from a negative descriptor", func(t *testing.T) {
		_, err := wake.FromFDs(wake.Eventfd, -1)
		require.ErrorIs(t, err, wake.ErrNotDoorbell)
	})
	t.Run("a new doorbell of an unknown kind", func(t *testing.T) {
		_, err := wake.New(wake.Kind(9))
		require.ErrorIs(t, err, errors.ErrUnsupported)
	})
}

// Passing a doorbell's files to exec.Cmd must leave the descriptions
// non-blocking: were File.Fd to switch them to blocking mode (it does for
// files that os itself made non-blocking), a Wait would hold a thread and
// ignore its context, in the parent and in the child.
func TestFilesStayNonBlockingInExtraFiles(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind.String(), func(t *testing.T) {
			d := newDoorbell(t, kind)
			cmd := testutil.HelperCommand(t, "exit")
			cmd.ExtraFiles = d.Files()
			require.NoError(t, cmd.Run())
			for _, f := range d.Files() {
				rc, err := f.SyscallConn()
				require.NoError(t, err)
				var flags int
				var ferr error
				require.NoError(t, rc.Control(func(fd uintptr) { flags, ferr = unix.FcntlInt(fd, unix.F_GETFL, 0) }))
				require.NoError(t, ferr)
				assert.NotZero(t, flags&unix.O_NONBLOCK, "%s is non-blocking", f.Name())
			}
			require.ErrorIs(t, d.Wait(short(t)), context.DeadlineExceeded)
		})
	}
}
