package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shmpool/shmpool/pool"
	"github.com/shmpool/shmpool/worker"
)

// The Pool.Map comparison: batches of poolBatch items of poolItemSize bytes,
// each item's result its CRC-32C, for the measurement's duration.
const (
	poolItemSize = 1 << 10
	poolBatch    = 4096
	// gobInFlight is the gob pool's pipeline depth per worker, the same as
	// pool.DefaultMaxInFlight.
	gobInFlight = pool.DefaultMaxInFlight
)

// mapper is a pool of n workers under test.
type mapper interface {
	mapItems(ctx context.Context, items [][]byte) ([][]byte, error)
	close() error
}

type shmPool struct{ p *pool.Pool }

func (s shmPool) mapItems(ctx context.Context, items [][]byte) ([][]byte, error) {
	return s.p.Map(ctx, items)
}

func (s shmPool) close() error { return s.p.Close() }

func measurePool(kind string, n int, d time.Duration) (PoolResult, error) {
	ctx := context.Background()
	res := PoolResult{Kind: kind, Workers: n}
	var m mapper
	switch kind {
	case "shm":
		p, err := pool.New(ctx, pool.Config{Workers: n, Worker: worker.Config{Func: fnCRC}})
		if err != nil {
			return res, err
		}
		m = shmPool{p}
	case "gob":
		g, err := newGobPool(n)
		if err != nil {
			return res, err
		}
		m = g
	default:
		return res, fmt.Errorf("unknown pool kind %q", kind)
	}
	items := make([][]byte, poolBatch)
	for i := range items {
		items[i] = make([]byte, poolItemSize)
		items[i][0] = byte(i)
	}
	check := func(outs [][]byte) error {
		if len(outs) != len(items) {
			return fmt.Errorf("%d results for %d items", len(outs), len(items))
		}
		for i, o := range outs {
			if len(o) != 4 {
				return fmt.Errorf("result %d has %d bytes", i, len(o))
			}
		}
		return nil
	}
	outs, err := m.mapItems(ctx, items) // warm up
	if err == nil {
		err = check(outs)
	}
	if err != nil {
		m.close()
		return res, err
	}
	start := time.Now()
	for time.Since(start) < d {
		outs, err := m.mapItems(ctx, items)
		if err == nil {
			err = check(outs)
		}
		if err != nil {
			m.close()
			return res, err
		}
		res.Items += uint64(len(items))
	}
	elapsed := time.Since(start)
	res.ElapsedNS = elapsed.Nanoseconds()
	res.ItemsPerS = float64(res.Items) / elapsed.Seconds()
	return res, m.close()
}

// gobPool is the naive process pool: n children speaking encoding/gob over
// pipes, items handed out from a shared counter, gobInFlight in flight per
// child.
type gobPool struct{ ws []*gobTransport }

func newGobPool(n int) (*gobPool, error) {
	g := &gobPool{}
	for range n {
		t, err := newGobTransport()
		if err != nil {
			g.close()
			return nil, err
		}
		g.ws = append(g.ws, t)
	}
	return g, nil
}

func (g *gobPool) mapItems(_ context.Context, items [][]byte) ([][]byte, error) {
	outs := make([][]byte, len(items))
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, 2*len(g.ws))
	for wi, w := range g.ws {
		inflight := make(chan struct{}, gobInFlight-1)
		wg.Add(2)
		go func() { // sender
			defer wg.Done()
			defer close(inflight)
			for {
				i := next.Add(1) - 1
				if i >= int64(len(items)) {
					return
				}
				if err := w.enc.Encode(&gobMsg{Op: gobCRC, ID: uint64(i), Data: items[i]}); err != nil {
					errs[2*wi] = err
					return
				}
				inflight <- struct{}{}
			}
		}()
		go func() { // receiver
			defer wg.Done()
			dec := w.dec
			for range inflight {
				var m gobMsg
				if err := dec.Decode(&m); err != nil {
					errs[2*wi+1] = err
					for range inflight {
					}
					return
				}
				if m.ID >= uint64(len(outs)) {
					errs[2*wi+1] = fmt.Errorf("answer for item %d of %d", m.ID, len(outs))
					continue
				}
				outs[m.ID] = m.Data
			}
		}()
	}
	wg.Wait()
	return outs, errors.Join(errs...)
}

func (g *gobPool) close() error {
	var errs []error
	for _, w := range g.ws {
		errs = append(errs, w.close())
	}
	return errors.Join(errs...)
}
