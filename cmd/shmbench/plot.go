package main

import (
	"fmt"
	"math"
	"os"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// writePlot draws round-trip p50 latency and streaming throughput against
// message size, one line per transport, log axes, side by side, as SVG.
func writePlot(path string, r *Report) error {
	lat := newLogPlot("Round trip p50 (echo)", "message size (bytes)", "latency (µs)")
	thr := newLogPlot("One-way streaming", "message size (bytes)", "throughput (MB/s)")
	var latLines, thrLines []any
	for _, name := range r.Config.Transports {
		var l, t plotter.XYs
		for _, res := range r.Results {
			if res.Transport != name {
				continue
			}
			// Log axes cannot show zeros: a missing figure is left out.
			if res.RTP50NS > 0 {
				l = append(l, plotter.XY{X: float64(res.Size), Y: res.RTP50NS / 1e3})
			}
			if res.StreamBytesPerS > 0 {
				t = append(t, plotter.XY{X: float64(res.Size), Y: res.StreamBytesPerS / 1e6})
			}
		}
		if len(l) > 0 {
			latLines = append(latLines, name, l)
		}
		if len(t) > 0 {
			thrLines = append(thrLines, name, t)
		}
	}
	if err := plotutil.AddLinePoints(lat, latLines...); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if err := plotutil.AddLinePoints(thr, thrLines...); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	// Message sizes as the flags name them, at the sizes measured.
	var ticks []plot.Tick
	for _, n := range r.Config.Sizes {
		ticks = append(ticks, plot.Tick{Value: float64(n), Label: sizeName(n)})
	}
	for _, p := range []*plot.Plot{lat, thr} {
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
		// Room above the lines for the legend: the top ~40% of the log axis.
		if p.Y.Min > 0 && p.Y.Max > p.Y.Min {
			decades := math.Log10(p.Y.Max / p.Y.Min)
			p.Y.Max *= math.Pow(10, 0.7*max(decades, 1))
		}
		p.Legend.Top, p.Legend.Left = true, true
		p.Legend.YOffs = -8 * vg.Millimeter
		p.Y.Tick.Marker = siTicks{}
		p.Legend.Padding = vg.Millimeter
		p.X.Padding = 3 * vg.Millimeter
	}

	m := r.Machine
	c := vgsvg.New(26*vg.Centimeter, 11*vg.Centimeter)
	dc := draw.New(c)
	// The machine goes under the titles: the SVG alone says where it was measured.
	lat.Title.Text += fmt.Sprintf("\n%s, %d cores", m.CPU, m.Cores)
	thr.Title.Text += fmt.Sprintf("\n%s, %s", m.Kernel, m.Go)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Centimeter, PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 2 * vg.Millimeter}
	canvases := plot.Align([][]*plot.Plot{{lat, thr}}, tiles, dc)
	lat.Draw(canvases[0][0])
	thr.Draw(canvases[0][1])

	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func newLogPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.Add(plotter.NewGrid())
	return p
}

// siTicks are log ticks labelled 1, 10, 100, 1k, 10k... rather than 1e+06.
type siTicks struct{}

func (siTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.LogTicks{Prec: -1}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label == "" {
			continue
		}
		v := ticks[i].Value
		switch {
		case v >= 1e9:
			ticks[i].Label = strconv.FormatFloat(v/1e9, 'g', -1, 64) + "G"
		case v >= 1e6:
			ticks[i].Label = strconv.FormatFloat(v/1e6, 'g', -1, 64) + "M"
		case v >= 1e3:
			ticks[i].Label = strconv.FormatFloat(v/1e3, 'g', -1, 64) + "k"
		default:
			ticks[i].Label = strconv.FormatFloat(v, 'g', -1, 64)
		}
	}
	return ticks
}
