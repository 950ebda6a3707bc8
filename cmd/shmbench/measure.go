package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// benchmark runs every measurement the options ask for.
func benchmark(o options, stderr io.Writer) (*Report, error) {
	rep := &Report{
		Schema:  Schema,
		Machine: machineInfo(),
		Config: RunConfig{
			Sizes: o.sizes, Transports: o.transports, DurationNS: o.duration.Nanoseconds(),
			Workers: append([]int{}, o.workers...), PoolItemSize: poolItemSize,
		},
		Started: time.Now().UTC().Truncate(time.Second),
		// Empty lists are [] in the JSON, never null.
		Results: []Result{},
		Pool:    []PoolResult{},
	}
	steps := len(o.transports)*len(o.sizes)*2 + 2*len(o.workers)
	prog := newProgress(steps, stderr)
	defer prog.done()
	maxMsg := slices.Max(o.sizes)
	for _, name := range o.transports {
		prog.describe(name + " start")
		t, err := newTransport(name, maxMsg)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		for _, size := range o.sizes {
			res, err := measureTransport(t, name, size, o.duration, prog)
			if err != nil {
				t.close()
				return nil, fmt.Errorf("%s, %s: %w", name, sizeName(size), err)
			}
			rep.Results = append(rep.Results, res)
		}
		if err := t.close(); err != nil {
			return nil, fmt.Errorf("%s: close: %w", name, err)
		}
	}
	for _, n := range o.workers {
		for _, kind := range []string{"shm", "gob"} {
			prog.describe(fmt.Sprintf("pool %s, %d workers", kind, n))
			res, err := measurePool(kind, n, o.duration)
			if err != nil {
				return nil, fmt.Errorf("pool %s, %d workers: %w", kind, n, err)
			}
			rep.Pool = append(rep.Pool, res)
			prog.step()
		}
	}
	rep.ratios()
	return rep, nil
}

// measureTransport measures one transport at one size: round trip, then
// streaming, each for d.
func measureTransport(t transport, name string, size int, d time.Duration, prog *progress) (Result, error) {
	res := Result{Transport: name, Size: size}
	msg := make([]byte, size)
	for i := range msg {
		msg[i] = byte(i * 7)
	}

	prog.describe(fmt.Sprintf("%s %s round trip", name, sizeName(size)))
	// Warm up: page in the buffers, let the peer's spin policy settle.
	warm := time.Now().Add(d / 10)
	for i := 0; i < 10 || time.Now().Before(warm); i++ {
		if err := t.roundTrip(msg); err != nil {
			return res, err
		}
	}
	h := hdrhistogram.New(1, int64(time.Minute), 3)
	start := time.Now()
	for {
		t0 := time.Now()
		if err := t.roundTrip(msg); err != nil {
			return res, err
		}
		t1 := time.Now()
		_ = h.RecordValue(max(t1.Sub(t0).Nanoseconds(), 1)) // > a minute: clamped
		if t1.Sub(start) >= d {
			break
		}
	}
	res.RTCount = h.TotalCount()
	res.RTP50NS = float64(h.ValueAtQuantile(50))
	res.RTP99NS = float64(h.ValueAtQuantile(99))
	res.RTP999NS = float64(h.ValueAtQuantile(99.9))
	res.RTMeanNS = h.Mean()
	prog.step()

	prog.describe(fmt.Sprintf("%s %s streaming", name, sizeName(size)))
	for range 16 {
		if err := t.send(msg); err != nil {
			return res, err
		}
	}
	if _, err := t.sync(); err != nil {
		return res, err
	}
	// Reading the clock costs tens of ns: for small messages only every
	// 64th message looks at it.
	mask := 63
	if size >= 4<<10 {
		mask = 0
	}
	var sent uint64
	start = time.Now()
	for {
		if err := t.send(msg); err != nil {
			return res, err
		}
		sent++
		if int(sent)&mask == 0 && time.Since(start) >= d {
			break
		}
	}
	got, err := t.sync()
	elapsed := time.Since(start)
	if err != nil {
		return res, err
	}
	if got != sent {
		return res, fmt.Errorf("streaming: the peer counted %d messages of %d", got, sent)
	}
	res.StreamMsgs = got
	res.StreamNS = elapsed.Nanoseconds()
	res.StreamMsgsPerS = float64(got) / elapsed.Seconds()
	res.StreamBytesPerS = res.StreamMsgsPerS * float64(size)
	prog.step()
	return res, nil
}

// progress is a progress bar on stderr when stderr is a terminal, and
// nothing otherwise.
type progress struct{ bar *progressbar.ProgressBar }

func newProgress(steps int, stderr io.Writer) *progress {
	f, ok := stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return &progress{}
	}
	return &progress{bar: progressbar.NewOptions(steps,
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
	)}
}

func (p *progress) describe(s string) {
	if p.bar != nil {
		p.bar.Describe(fmt.Sprintf("%-28s", s))
	}
}

func (p *progress) step() {
	if p.bar != nil {
		_ = p.bar.Add(1)
	}
}

func (p *progress) done() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
