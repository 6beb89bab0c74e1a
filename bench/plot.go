package main

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Every plot is 7 × 4.5 inches at the PNG encoder's 96 dpi.
const plotWidth, plotHeight = 7 * vg.Inch, 4.5 * vg.Inch

// line is one named series of a plot.
type line struct {
	Name string
	XY   plotter.XYs
}

// axes describe a plot's frame.
type axes struct {
	Title, X, Y string
	LogX, LogY  bool
}

// newPlot makes a plot with the report's frame: grid, legend top left.
func newPlot(a axes) *plot.Plot {
	p := plot.New()
	p.Title.Text = a.Title
	p.X.Label.Text = a.X
	p.Y.Label.Text = a.Y
	p.X.Tick.Marker = plainTicks{}
	p.Y.Tick.Marker = plainTicks{}
	if a.LogX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = ticks125{}
	}
	if a.LogY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = ticks125{}
	}
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	p.Legend.Left = true
	return p
}

// drawLines saves a plot of lines with points as dir/name.
func drawLines(dir, name string, a axes, lines []line) error {
	p := newPlot(a)
	for i, l := range lines {
		if len(l.XY) == 0 {
			continue
		}
		ln, pts, err := plotter.NewLinePoints(l.XY)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", name, l.Name, err)
		}
		ln.Color = plotutil.Color(i)
		ln.Dashes = plotutil.Dashes(i)
		pts.Color = plotutil.Color(i)
		pts.Shape = plotutil.Shape(i)
		p.Add(ln, pts)
		p.Legend.Add(l.Name, ln, pts)
	}
	return p.Save(plotWidth, plotHeight, filepath.Join(dir, name))
}

// drawCDFs saves the latency distributions of sets as cumulative
// distributions on a logarithmic latency axis, one line per set, as
// dir/name.
func drawCDFs(dir, name, title string, sets []Summary) error {
	p := newPlot(axes{Title: title, X: "latency (ms, log scale)", Y: "fraction of requests at or below", LogX: true})
	p.Y.Min, p.Y.Max = 0, 1
	// A distribution rises from the bottom left: the bottom right is free.
	p.Legend.Top, p.Legend.Left = false, false
	for i, s := range sets {
		if len(s.sorted) == 0 {
			continue
		}
		ln, err := plotter.NewLine(cdf(s))
		if err != nil {
			return fmt.Errorf("%s: %s: %w", name, s.Name, err)
		}
		ln.Color = plotutil.Color(i)
		ln.Dashes = plotutil.Dashes(i)
		ln.Width = vg.Points(1.5)
		p.Add(ln)
		p.Legend.Add(fmt.Sprintf("%s (n=%d)", s.Name, s.N), ln)
	}
	p.X.Max *= 3 // room on the right for the legend
	return p.Save(plotWidth, plotHeight, filepath.Join(dir, name))
}

// cdf is the empirical distribution of a set's latencies, at most 2,000
// steps, with latencies floored at a microsecond for the log axis.
func cdf(s Summary) plotter.XYs {
	n := len(s.sorted)
	step := max(1, n/2000)
	var xy plotter.XYs
	for i := 0; i < n; i += step {
		xy = append(xy, plotter.XY{X: math.Max(float64(s.sorted[i].Microseconds())/1000, 0.001), Y: float64(i+1) / float64(n)})
	}
	xy = append(xy, plotter.XY{X: math.Max(float64(s.sorted[n-1].Microseconds())/1000, 0.001), Y: 1})
	return xy
}

// drawScatter saves points as small dots, as dir/name.
func drawScatter(dir, name string, a axes, xy plotter.XYs) error {
	p := newPlot(a)
	if len(xy) > 0 {
		sc, err := plotter.NewScatter(xy)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: color.RGBA{R: 30, G: 90, B: 180, A: 255}, Radius: vg.Points(1), Shape: draw.CircleGlyph{}}
		p.Add(sc)
	}
	return p.Save(plotWidth, plotHeight, filepath.Join(dir, name))
}

// ticks125 marks a logarithmic axis at 1, 2 and 5 times each power of ten,
// labelled, with unlabelled ticks at the other integers times it: the
// default log ticks label only powers of ten, which leaves a latency axis
// spanning less than a decade unreadable.
type ticks125 struct{}

func (ticks125) Ticks(lo, hi float64) []plot.Tick {
	if lo <= 0 || hi <= lo {
		return nil
	}
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(lo)); math.Pow(10, e) <= hi; e++ {
		for m := 1; m <= 9; m++ {
			v := float64(m) * math.Pow(10, e)
			if e < 0 { // m / 10^-e rounds once: 0.005, not 0.005000000000000001
				v = float64(m) / math.Pow(10, -e)
			}
			if v < lo || v > hi {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || m == 2 || m == 5 {
				t.Label = strconv.FormatFloat(v, 'g', -1, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// plainTicks are the default ticks labelled without trailing zeros
// ("12500", not "12500.00").
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i, t := range ticks {
		if strings.Contains(t.Label, ".") && !strings.ContainsAny(t.Label, "eE") {
			ticks[i].Label = strings.TrimSuffix(strings.TrimRight(t.Label, "0"), ".")
		}
	}
	return ticks
}
