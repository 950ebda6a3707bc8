package wake_test

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shmpool/shmpool/internal/atomicx"
	"github.com/shmpool/shmpool/internal/wake"
)

func TestWake(t *testing.T) {
	tests := []struct {
		name string
		flag uint32
		rang bool
	}{
		{"a clear flag does not ring", 0, false},
		{"a set flag rings and is cleared", 1, true},
		{"a corrupt flag counts as set", 7, true},
		{"an all-ones flag counts as set", math.MaxUint32, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDoorbell(t, wake.Eventfd)
			flag := atomicx.Uint32At(atomicx.AlignedBytes(4), 0)
			flag.Store(tt.flag)
			rang, err := wake.Wake(d, flag)
			require.NoError(t, err)
			assert.Equal(t, tt.rang, rang)
			assert.Zero(t, flag.Load(), "Wake leaves the flag clear")
			if tt.rang {
				assert.NoError(t, d.Wait(short(t)), "the doorbell was rung")
			} else {
				assert.ErrorIs(t, d.Wait(short(t)), context.DeadlineExceeded, "the doorbell was not rung")
			}
		})
	}
}

func TestSleep(t *testing.T) {
	never := func() bool { return false }
	tests := []struct {
		name string
		fn   func(t *testing.T, d *wake.Doorbell, flag *atomic.Uint32, spin time.Duration)
	}{
		{"a condition that holds returns at once without touching the flag", func(t *testing.T, d *wake.Doorbell, flag *atomic.Uint32, spin time.Duration) {
			flag.Store(5)
			require.NoError(t, wake.Sleep(context.Background(), d, flag, func() bool { return true }, spin))
			assert.Equal(t, uint32(5), flag.Load())
		}},
		{"a deadline ends the sleep and clears the flag", func(t *testing.T, d *wake.Doorbell, flag *atomic.Uint32, spin time.Duration) {
			require.ErrorIs(t, wake.Sleep(short(t), d, flag, never, spin), context.DeadlineExceeded)
			assert.Zero(t, flag.Load())
		}},
		{"a closed doorbell ends the sleep", func(t *testing.T, d *wake.Doorbell, flag *atomic.Uint32, spin time.Duration) {
			require.NoError(t, d.Close())
			require.ErrorIs(t, wake.Sleep(context.Background(), d, flag, never, spin), wake.ErrClosed)
			assert.Zero(t, flag.Load())
		}},
		{"a spurious ring does not end the sleep", func(t *testing.T, d *wake.Doorbell, flag *atomic.Uint32, spin time.Duration) {
			var published atomic.Bool
			require.NoError(t, d.Ring()) // stale
			go func() {
				time.Sleep(20 * time.Millisecond)
				d.Ring() // spurious: nothing published yet
				time.Sleep(20 * time.Millisecond)
				published.Store(true)
				wake.Wake(d, flag)
			}()
			require.NoError(t, wake.Sleep(context.Background(), d, flag, published.Load, spin))
			assert.True(t, published.Load())
		}},
		{"a publication during the sleep wakes it", func(t *testing.T, d *wake.Doorbell, flag *atomic.Uint32, spin time.Duration) {
			var published atomic.Bool
			go func() {
				for flag.Load() == 0 {
					time.Sleep(time.Millisecond)
				}
				published.Store(true)
				wake.Wake(d, flag)
			}()
			require.NoError(t, wake.Sleep(context.Background(), d, flag, published.Load, spin))
			assert.Zero(t, flag.Load())
		}},
	}
	for _, spin := range []time.Duration{0, 100 * time.Microsecond} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("spin=%v/%s", spin, tt.name), func(t *testing.T) {
				flag := atomicx.Uint32At(atomicx.AlignedBytes(4), 0)
				tt.fn(t, newDoorbell(t, wake.Eventfd), flag, spin)
			})
		}
	}
}

// TestPingPong runs the sleep/wake protocol between two goroutines on heap
// memory, where the race detector sees every access, with spin 0 (every
// wait that finds nothing sleeps) and with a short spin. Invariants:
//  1. no wake-up is lost: every round trip completes (a stall of
//     stallLimit without progress fails the test);
//  2. the echo answers each ping exactly once: pong ends equal to ping.
func TestPingPong(t *testing.T) {
	n := uint64(100_000)
	if testing.Short() {
		n = 10_000
	}
	tests := []struct {
		kind wake.Kind
		spin time.Duration
		n    uint64
	}{
		{wake.Eventfd, 0, n},
		{wake.Eventfd, 5 * time.Microsecond, n},
		{wake.Pipe, 0, n / 10}, // the pipe has its full run across processes
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/spin=%v", tt.kind, tt.spin), func(t *testing.T) {
			w := view(atomicx.AlignedBytes(layoutSize))
			ctx, stop := watchProgress(w.pong)
			defer stop()
			toEcho, toDrive := newDoorbell(t, tt.kind), newDoorbell(t, tt.kind)
			done := make(chan error, 1)
			go func() { done <- echo(ctx, w, toEcho, toDrive, tt.spin) }()

			var rings uint64
			for i := uint64(1); i <= tt.n; i++ {
				rang, err := roundTrip(ctx, w, toEcho, toDrive, tt.spin, i)
				require.NoError(t, err, "round trip %d: %v", i, context.Cause(ctx))
				if rang {
					rings++
				}
			}
			require.NoError(t, stopEcho(w, toEcho))
			require.NoError(t, <-done)
			assert.Equal(t, tt.n, w.pong.Load())
			t.Logf("%d round trips; the driver rang %d times, the echo %d", tt.n, rings, w.echoRings.Load())
		})
	}
}

func TestSpinSleep(t *testing.T) {
	const limit = 10 * time.Millisecond
	tests := []struct {
		name    string
		publish time.Duration // when the publisher publishes; < 0: before the wait
		want    time.Duration // the budget afterwards
	}{
		{"a condition that holds at once is not recorded", -1, limit},
		{"a spin that misses halves the budget", 100 * time.Millisecond, limit / 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDoorbell(t, wake.Eventfd)
			flag := atomicx.Uint32At(atomicx.AlignedBytes(4), 0)
			var published atomic.Bool
			publish := func() {
				published.Store(true)
				wake.Wake(d, flag)
			}
			if tt.publish < 0 {
				publish()
			} else {
				time.AfterFunc(tt.publish, publish)
			}
			s := wake.NewSpin(limit)
			require.NoError(t, s.Sleep(context.Background(), d, flag, published.Load))
			assert.Equal(t, tt.want, s.Budget())
		})
	}
}

// A publication that arrives while the waiter spins is seen without the flag
// ever being set, so the publisher makes no system call.
func TestSpinCatchesPublicationWithoutRing(t *testing.T) {
	d := newDoorbell(t, wake.Eventfd)
	flag := atomicx.Uint32At(atomicx.AlignedBytes(4), 0)
	var published atomic.Bool
	rang := make(chan bool, 1)
	go func() {
		time.Sleep(100 * time.Microsecond)
		published.Store(true)
		r, _ := wake.Wake(d, flag)
		rang <- r
	}()
	// The spin is far longer than the publisher's delay can be.
	require.NoError(t, wake.Sleep(context.Background(), d, flag, published.Load, 10*time.Second))
	assert.False(t, <-rang, "the publisher did not ring")
	assert.ErrorIs(t, d.Wait(short(t)), context.DeadlineExceeded, "no ring is pending")
}
