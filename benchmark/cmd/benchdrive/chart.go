package main

import (
	"fmt"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// writeCharts draws QPS, TP99 and TP999 against concurrency and against
// body size, one line per framework; it returns the files written.
func writeCharts(dir string, rep Report) ([]string, error) {
	c := rep.Config
	type metric struct {
		file, title, unit string
		get               func(*Run) float64
		logY              bool
	}
	metrics := []metric{
		{"qps", "QPS", "calls/s", func(r *Run) float64 { return r.QPS }, false},
		{"p99", "TP99", "latency µs (log)", func(r *Run) float64 { return r.P99 }, true},
		{"p999", "TP999", "latency µs (log)", func(r *Run) float64 { return r.P999 }, true},
	}
	type sweep struct {
		file, title, xlabel string
		keys                []int
		at                  func(k int) (conc, size int)
		label               func(k int) string
	}
	sweeps := []sweep{
		{"concurrency", fmt.Sprintf("vs concurrency (echo %s)", sizeLabel(c.BaseSize)), "concurrency (log)", c.Concs,
			func(k int) (int, int) { return k, c.BaseSize }, func(k int) string { return fmt.Sprint(k) }},
		{"size", fmt.Sprintf("vs body size (concurrency %d)", c.BaseConc), "body size (log)", c.Sizes,
			func(k int) (int, int) { return c.BaseConc, k }, sizeLabel},
	}
	var files []string
	for _, sw := range sweeps {
		if len(sw.keys) < 2 {
			continue
		}
		for _, mt := range metrics {
			p := plot.New()
			p.Title.Text = mt.title + " " + sw.title
			p.X.Label.Text = sw.xlabel
			p.Y.Label.Text = mt.unit
			p.X.Scale = plot.LogScale{}
			var ticks plot.ConstantTicks
			for _, k := range sw.keys {
				if k > 0 {
					ticks = append(ticks, plot.Tick{Value: float64(k), Label: sw.label(k)})
				}
			}
			p.X.Tick.Marker = ticks
			if mt.logY {
				p.Y.Scale = plot.LogScale{}
				p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
			} else {
				p.Y.Min = 0
			}
			p.Legend.Top = true
			p.Add(plotter.NewGrid())
			var lines []any
			lo, hi := 0.0, 0.0
			for _, fw := range c.Frameworks {
				var pts plotter.XYs
				for _, k := range sw.keys {
					conc, size := sw.at(k)
					if r := rep.find(fw, conc, size); r != nil && k > 0 && mt.get(r) > 0 {
						y := mt.get(r)
						pts = append(pts, plotter.XY{X: float64(k), Y: y})
						if lo == 0 || y < lo {
							lo = y
						}
						hi = max(hi, y)
					}
				}
				if len(pts) > 0 {
					lines = append(lines, fw, pts)
				}
			}
			if len(lines) == 0 {
				continue
			}
			// Leave room at the top for the legend.
			if mt.logY {
				p.Y.Min, p.Y.Max = lo/1.5, hi*6
				p.Legend.Left = true
			} else {
				p.Y.Max = hi * 1.5
			}
			if err := plotutil.AddLinePoints(p, lines...); err != nil {
				return files, err
			}
			name := filepath.Join(dir, fmt.Sprintf("%s_vs_%s.png", mt.file, sw.file))
			if err := p.Save(9*vg.Inch, 5.5*vg.Inch, name); err != nil {
				return files, err
			}
			files = append(files, name)
		}
	}
	return files, nil
}
