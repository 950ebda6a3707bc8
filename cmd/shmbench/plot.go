package main

import (
	"fmt"
	"os"

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
	lat.Legend.Top, lat.Legend.Left = true, true
	thr.Legend.Top, thr.Legend.Left = true, true

	m := r.Machine
	c := vgsvg.New(26*vg.Centimeter, 11*vg.Centimeter)
	dc := draw.New(c)
	// The machine goes under the titles: the SVG alone says where it was measured.
	under := fmt.Sprintf("\n%s, %d cores, %s, %s", m.CPU, m.Cores, m.Kernel, m.Go)
	lat.Title.Text += under
	thr.Title.Text += under
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
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
	p.Add(plotter.NewGrid())
	return p
}
