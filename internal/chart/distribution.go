package chart

import (
	"fmt"
	"math"
	"slices"
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"

	"github.com/ipcbench/ipcbench/internal/units"
	"github.com/ipcbench/ipcbench/results"
)

// The latency distribution charts show, for one message size, the
// round-trip time at every percentile, the way HdrHistogram plots it: the
// x axis is 1/(1-p) on a log scale, so 90%, 99%, 99.9% and 99.99% are
// equally spaced and the tail, which a p50/p99 pair hides, gets as much
// room as the body. There is one chart per message size: which mechanism
// has the better tail changes with the size, and a chart per size shows it
// without choosing for the reader.

// distPerDecade is how many points each line has per decade of 1/(1-p).
const distPerDecade = 20

// distributionCharts describes one distribution chart per message size
// that has at least one usable histogram, smallest size first.
func distributionCharts(f *results.File, m *results.Matrix) []*figure {
	mechs, sizes := workloadAxes(m, results.PingPong)
	var out []*figure
	for _, size := range sizes {
		if c := distributionChart(f, m, mechs, size); c != nil {
			out = append(out, c)
		}
	}
	return out
}

// distributionName is the file name (without extension) of a size's chart.
func distributionName(size int) string { return "latency-distribution-" + sizeLabel(size) }

func distributionChart(f *results.File, m *results.Matrix, mechs []string, size int) *figure {
	type line struct {
		mech string
		h    *hdrhistogram.Histogram
	}
	var lines []line
	var missing, partial []string
	var lo = math.Inf(1)
	roundsLo, roundsHi := 0, 0
	for _, mech := range mechs {
		h, rounds, problem := mergedHistogram(m.Cell(mech, results.PingPong, size))
		if h == nil {
			if problem != "" {
				missing = append(missing, mech+": "+problem)
			}
			continue
		}
		if problem != "" {
			partial = append(partial, mech+": "+problem)
		}
		lines = append(lines, line{mech, h})
		if v := float64(h.ValueAtQuantile(0)); valid(v) {
			lo = min(lo, v)
		}
		if roundsLo == 0 || rounds < roundsLo {
			roundsLo = rounds
		}
		roundsHi = max(roundsHi, rounds)
	}
	if len(lines) == 0 {
		return nil
	}
	unit, scale := durationUnit(lo)
	styles := assignStyles(m.Mechanisms)
	ch := &figure{
		name:   distributionName(size),
		title:  "Round-trip time by percentile, " + units.Size(size) + " messages (pingpong)",
		xLabel: "percentile (99.9%: 1 round trip in 1000 took longer)",
		yLabel: "round-trip time (" + unit + ")",
	}
	maxN := int64(0)
	for _, l := range lines {
		pts, marks := percentiles(l.h, scale)
		if len(pts) == 0 {
			missing = append(missing, l.mech+": no usable value")
			continue
		}
		ch.series = append(ch.series, series{mech: l.mech, style: styles[l.mech], solid: []plotter.XYs{pts}, marks: marks})
		maxN = max(maxN, l.h.TotalCount())
	}
	if len(ch.series) == 0 {
		return nil
	}
	var head []string
	switch {
	case roundsHi <= 1:
		head = append(head, "every round trip of the run")
	case roundsLo == roundsHi:
		head = append(head, fmt.Sprintf("every round trip of %d rounds, merged", roundsHi))
	default:
		head = append(head, fmt.Sprintf("every round trip of %d to %d rounds, merged", roundsLo, roundsHi))
	}
	head = append(head, "last point of a line: the slowest")
	if f.Meta.Pairs > 1 {
		head = append(head, fmt.Sprintf("%d pairs at once; times per pair", f.Meta.Pairs))
	}
	ch.notes = chartNotes(head, nil)
	if len(partial) > 0 {
		ch.notes = append(ch.notes, "", "rounds left out of a line:")
		for _, p := range partial {
			ch.notes = append(ch.notes, "  "+p)
		}
	}
	ch.notes = append(ch.notes, chartNotes(nil, missing)...)
	ch.finishY()
	ch.percentileAxis(maxN)
	return ch
}

// mergedHistogram decodes and merges the round-trip histograms of a cell's
// rounds. It returns the histogram (nil when there is nothing to plot), how
// many rounds went into it, and, when something was left out, why in a few
// words. It never panics, whatever the file holds.
func mergedHistogram(c *results.Cell) (h *hdrhistogram.Histogram, rounds int, problem string) {
	if c == nil {
		return nil, 0, ""
	}
	if c.Failed() {
		return nil, 0, "failed"
	}
	var absent, bad []string
	for _, r := range c.Rows {
		if r.RTTHistogram == "" {
			absent = append(absent, fmt.Sprint(r.Round))
			continue
		}
		rh, err := decodeHistogram(r.RTTHistogram)
		if err != nil {
			bad = append(bad, fmt.Sprint(r.Round))
			continue
		}
		if rh.TotalCount() == 0 {
			continue
		}
		if h == nil {
			h = rh
		} else {
			h.Merge(rh)
		}
		rounds++
	}
	var why []string
	if len(bad) > 0 {
		why = append(why, "histogram unreadable ("+roundList(bad)+")")
	}
	if len(absent) > 0 && h != nil {
		// Some rounds have a histogram and some do not: say which were
		// left out. A file with none at all (an older ipcbench) is no news.
		why = append(why, "no histogram ("+roundList(absent)+")")
	}
	if h == nil && len(why) == 0 {
		if len(absent) > 0 {
			return nil, 0, "no histogram in the results"
		}
		return nil, 0, "no round trip recorded"
	}
	return h, rounds, strings.Join(why, ", ")
}

func roundList(rounds []string) string {
	if len(rounds) == 1 {
		return "round " + rounds[0]
	}
	return "rounds " + strings.Join(rounds, ", ")
}

// decodeHistogram decodes one base64, V2-compressed HdrHistogram, turning
// any panic of the decoder on a corrupt input into an error.
func decodeHistogram(s string) (h *hdrhistogram.Histogram, err error) {
	defer func() {
		if r := recover(); r != nil {
			h, err = nil, fmt.Errorf("corrupt histogram: %v", r)
		}
	}()
	h, err = hdrhistogram.Decode([]byte(s))
	if err == nil && h == nil {
		err = fmt.Errorf("empty histogram")
	}
	return h, err
}

// percentiles is the percentile spectrum of h in axis units: points
// evenly spaced on the 1/(1-p) axis up to the last percentile the count
// resolves, then the slowest round trip at x = count. The marks are the
// points at the labelled percentiles (50%, 90%, 99%, ...) and the slowest.
func percentiles(h *hdrhistogram.Histogram, scale float64) (pts, marks plotter.XYs) {
	n := float64(h.TotalCount())
	if n < 1 {
		return nil, nil
	}
	var xs []float64
	for i := 0; ; i++ {
		x := math.Pow(10, float64(i)/distPerDecade)
		if i%distPerDecade == 0 {
			x = decade(1, i/distPerDecade) // exact 10, 100, ...
		}
		if x >= n {
			break
		}
		xs = append(xs, x)
	}
	if n > 2 {
		xs = append(xs, 2) // the median, exactly
	}
	slices.Sort(xs)
	xs = slices.Compact(xs)
	isMark := func(x float64) bool {
		if x == 2 {
			return true
		}
		k := math.Log10(x)
		return k >= 1 && k == math.Round(k)
	}
	add := func(x float64, v int64, mark bool) {
		y := float64(v) / scale
		if !valid(y) {
			return
		}
		pts = append(pts, plotter.XY{X: x, Y: y})
		if mark {
			marks = append(marks, plotter.XY{X: x, Y: y})
		}
	}
	for _, x := range xs {
		add(x, h.ValueAtQuantile(100*(1-1/x)), isMark(x))
	}
	add(n, h.Max(), true)
	return pts, marks
}

// percentileAxis makes the x axis 1/(1-p) on a log scale, from the fastest
// round trip (0%) to a little past the end of the longest line, so that
// the lines fill the width (the next decade could leave most of it empty).
func (ch *figure) percentileAxis(maxN int64) {
	ch.xMin = 1
	ch.xMax = max(10, float64(maxN)*1.25)
	ch.xTicks = percentileTicks{}
}

// percentileTicks labels the 1/(1-p) axis in percent: 0%, 50%, 90%,
// 99%, 99.9% ..., written out exactly rather than through a float.
type percentileTicks struct{}

func (percentileTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for k := 0; decade(1, k) <= hi*(1+1e-9); k++ {
		for m := 1; m <= 9; m++ {
			v := decade(float64(m), k)
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			switch {
			case m == 1:
				t.Label = percentLabel(k)
			case m == 2 && k == 0:
				t.Label = "50%"
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// percentLabel is the percentile at x = 10^k: 0%, 90%, 99%, 99.9%, ...
func percentLabel(k int) string {
	switch k {
	case 0:
		return "0%"
	case 1:
		return "90%"
	case 2:
		return "99%"
	}
	return "99." + strings.Repeat("9", k-2) + "%"
}
