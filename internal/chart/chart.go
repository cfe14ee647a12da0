// Package chart draws results as charts (gonum/plot), each as SVG and PNG:
// round trip and throughput against message size, and the round-trip
// distribution of each size. The drawings depend only on the results, so
// re-rendering saved results reproduces a run's charts byte for byte.
package chart

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/ipcbench/ipcbench/internal/units"
	"github.com/ipcbench/ipcbench/results"
)

// Plot geometry. The same drawing goes to SVG and PNG; the PNG is
// 1920x1200, twice 960x600, so that it stays sharp on a hi-DPI screen.
const (
	width  = 8 * vg.Inch
	height = 5 * vg.Inch
	dpi    = 240
)

// face is the face of every text in the plots: Liberation Sans, which
// gonum/plot embeds, so nothing is fetched and every machine draws the same.
var face = font.Font{Typeface: "Liberation", Variant: "Sans"}

// Write draws the results as charts in dir, each as SVG and PNG:
//
//   - latency: round-trip time against message size (pingpong), p50 solid
//     and p99 dashed;
//   - latency-distribution-SIZE, one per message size: the round-trip time
//     at every percentile (pingpong), from the rounds' merged histograms;
//   - throughput: payload bytes per second one way against message size
//     (stream), with the machine's two-copy limit (memcpy bandwidth / 2,
//     meta.floors) dashed;
//   - message-rate: messages per second one way against message size (stream);
//   - throughput-offset-SIZE, one per stream size when the run has several
//     payload offsets: throughput against the offset.
//
// With several offsets, the charts against message size show the first
// offset (0, page-aligned, unless the run left it out).
//
// With several rounds, each point is the median of the rounds and a bar
// spans the lowest to the highest round. A chart whose workload has no row,
// or whose rows have no usable figure, is not written. It returns the paths
// written, in order.
//
// The output depends only on f: the same File gives byte-identical files, so
// re-rendering saved results reproduces the plots of the original run.
func Write(dir string, f *results.File) ([]string, error) {
	charts, err := Draw(f)
	if err != nil || len(charts) == 0 {
		return nil, err
	}
	return WriteFiles(dir, charts)
}

// Drawing is one chart drawn: what Write writes and report.html
// inlines, so the two always show the same drawing.
type Drawing struct {
	Name  string // file name without extension
	Title string
	SVG   []byte
	PNG   []byte
}

// Draw draws every chart the results have, in the order Write
// documents.
func Draw(f *results.File) ([]Drawing, error) {
	m := results.Aggregate(f)
	var charts []*figure
	if c := latencyChart(f, m); c != nil {
		charts = append(charts, c)
	}
	charts = append(charts, distributionCharts(f, m)...)
	if c := throughputChart(f, m); c != nil {
		charts = append(charts, c)
	}
	if c := messageRateChart(f, m); c != nil {
		charts = append(charts, c)
	}
	charts = append(charts, offsetCharts(f, m)...)
	charts = append(charts, serverCharts(m)...)
	charts = append(charts, loadCharts(m)...)
	charts = append(charts, costCharts(m, f.Meta.IO)...)
	var out []Drawing
	foot := footer(&f.Meta)
	for _, c := range charts {
		c.footer = foot
		svg, png, err := c.render()
		if err != nil {
			return nil, fmt.Errorf("cannot draw the %s plot: %w", c.name, err)
		}
		out = append(out, Drawing{Name: c.name, Title: c.title, SVG: svg, PNG: png})
	}
	return out, nil
}

// WriteFiles writes each chart as NAME.svg and NAME.png in dir.
func WriteFiles(dir string, charts []Drawing) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create the plot directory: %w", err)
	}
	var written []string
	for _, c := range charts {
		for _, out := range []struct {
			ext  string
			data []byte
		}{{"svg", c.SVG}, {"png", c.PNG}} {
			path := filepath.Join(dir, c.Name+"."+out.ext)
			if err := os.WriteFile(path, out.data, 0o644); err != nil {
				return written, fmt.Errorf("cannot write the %s plot: %w", c.Name, err)
			}
			written = append(written, path)
		}
	}
	return written, nil
}

// figure is everything one chart shows, in data units already scaled to
// the axis unit.
type figure struct {
	name   string // file name without extension
	title  string
	xLabel string
	yLabel string
	logY   bool
	series []series // in the order of the legend
	// dashed says the chart has a second, dashed figure per mechanism
	// (p99) and the legend needs a key for the two line styles.
	dashed    bool
	solidKey  string
	dashedKey string
	notes     []string // small print under the legend
	// footer is the line at the bottom that says where the figures come
	// from, so that a chart that travels alone still says it.
	footer string
	// floor, when positive, is a level no point can go under, drawn as a
	// line across the chart (the cache-line round trip), in axis units;
	// floorKey is its legend entry.
	floor    float64
	floorKey string
	// linearX makes the x axis linear (payload offsets), not log (sizes).
	linearX         bool
	xMin, xMax      float64
	yMin, yMax      float64
	xTicks, yTicker plot.Ticker
}

// series is one mechanism: its solid (headline) points and, for
// latency, its dashed (tail) points, each as runs of consecutive sizes: a
// size with no usable figure breaks the line rather than bridging it.
type series struct {
	mech   string
	style  style
	solid  []plotter.XYs
	dashed []plotter.XYs
	// marks, when set, are the only points of the solid line that get a
	// marker: a line of a hundred points marks just its labelled ones.
	marks plotter.XYs
	// solidBars and dashedBars are the round spread at each point, when
	// there are several rounds.
	solidBars, dashedBars []roundRange
}

// roundRange is the range of a figure across rounds at one point: the lowest
// and the highest round, in axis units.
type roundRange struct{ X, Lo, Hi float64 }

// style is a mechanism's colour and marker shape, the same in every chart.
type style struct {
	color color.Color
	shape int
}

// knownStyles fixes the look of the four mechanisms so a reader learns
// it once; the colours are the Okabe-Ito palette (safe for colour-blind
// readers) and the marker shapes differ too, for greyscale prints.
var knownStyles = map[string]style{
	"pipe":       {color.RGBA{0x00, 0x72, 0xB2, 0xFF}, shapeCircle},
	"msgqueue":   {color.RGBA{0xD5, 0x5E, 0x00, 0xFF}, shapeSquare},
	"unixsocket": {color.RGBA{0x00, 0x9E, 0x73, 0xFF}, shapeTriangle},
	"tcpsocket":  {color.RGBA{0x7B, 0x32, 0x94, 0xFF}, shapeDiamond},
}

// extraStyles go, in turn, to mechanisms not in knownStyles.
var extraStyles = []style{
	{color.RGBA{0xE6, 0x9F, 0x00, 0xFF}, shapeCircle},
	{color.RGBA{0x56, 0xB4, 0xE9, 0xFF}, shapeSquare},
	{color.RGBA{0x00, 0x00, 0x00, 0xFF}, shapeTriangle},
	{color.RGBA{0x99, 0x99, 0x99, 0xFF}, shapeDiamond},
}

// assignStyles assigns styles to the mechanisms in the matrix's order.
func assignStyles(mechs []string) map[string]style {
	out := map[string]style{}
	next := 0
	for _, m := range mechs {
		if s, ok := knownStyles[m]; ok {
			out[m] = s
			continue
		}
		out[m] = extraStyles[next%len(extraStyles)]
		next++
	}
	return out
}

// valid reports whether v can go on a log axis.
func valid(v float64) bool { return v > 0 && !math.IsNaN(v) && !math.IsInf(v, 0) }

// workloadAxes returns the mechanisms and sizes that have a row of the
// workload, in the matrix's order. A size below one byte cannot go on a
// log axis; no run writes one, so such rows are left out.
func workloadAxes(m *results.Matrix, workload string) (mechs []string, sizes []int) {
	for _, s := range m.Sizes {
		if s > 0 {
			sizes = append(sizes, s)
		}
	}
	sizes = slices.DeleteFunc(sizes, func(s int) bool {
		for _, mech := range m.Mechanisms {
			if m.Cell(mech, workload, s) != nil {
				return false
			}
		}
		return true
	})
	for _, mech := range m.Mechanisms {
		for _, s := range sizes {
			if m.Cell(mech, workload, s) != nil {
				mechs = append(mechs, mech)
				break
			}
		}
	}
	return mechs, sizes
}

// segments splits the figures of one mechanism at its sizes into runs
// of usable points; it also returns the sizes without a usable figure.
func segments(sizes []int, value func(size int) float64, scale float64) (segs []plotter.XYs, missing []int) {
	var cur plotter.XYs
	for _, s := range sizes {
		v := value(s)
		if !valid(v) || !valid(v/scale) {
			missing = append(missing, s)
			if len(cur) > 0 {
				segs = append(segs, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, plotter.XY{X: float64(s), Y: v / scale})
	}
	if len(cur) > 0 {
		segs = append(segs, cur)
	}
	return segs, missing
}

// medianOf returns a summary's median, or NaN for a cell that is absent
// or failed.
func medianOf(c *results.Cell, get func(*results.Cell) results.Summary) float64 {
	if c == nil || c.Failed() {
		return math.NaN()
	}
	s := get(c)
	if s.N == 0 {
		return math.NaN()
	}
	return s.Median
}

// roundsText describes how many rounds each point is the median of.
func roundsText(m *results.Matrix, mechs []string, sizes []int, workload string, get func(*results.Cell) results.Summary) string {
	lo, hi := 0, 0
	for _, mech := range mechs {
		for _, s := range sizes {
			c := m.Cell(mech, workload, s)
			if c == nil || c.Failed() {
				continue
			}
			n := get(c).N
			if n == 0 {
				continue
			}
			if lo == 0 || n < lo {
				lo = n
			}
			hi = max(hi, n)
		}
	}
	switch {
	case hi == 0:
		return ""
	case hi == 1:
		return "points: 1 round each"
	case lo == hi:
		return fmt.Sprintf("points: median of %d rounds", hi)
	default:
		return fmt.Sprintf("points: median of %d to %d rounds", lo, hi)
	}
}

// spreadBars is the bars of one mechanism's figure: at each size whose
// point is drawn and whose rounds differ, the lowest and highest round.
func spreadBars(sizes []int, cell func(size int) *results.Cell, get func(*results.Cell) results.Summary, scale float64) []roundRange {
	var bars []roundRange
	for _, s := range sizes {
		c := cell(s)
		if !valid(medianOf(c, get) / scale) {
			continue
		}
		sum := get(c)
		lo, hi := sum.Min/scale, sum.Max/scale
		if sum.N < 2 || !valid(lo) || !valid(hi) || hi <= lo {
			continue
		}
		bars = append(bars, roundRange{X: float64(s), Lo: lo, Hi: hi})
	}
	return bars
}

// durationUnit picks the unit of a time axis: microseconds, unless
// every figure is at least a millisecond. It returns the unit and the
// nanoseconds in one.
func durationUnit(lo float64) (string, float64) {
	if lo >= 1e6 && !math.IsInf(lo, 1) {
		return "ms", 1e6
	}
	return "µs", 1e3
}

// latencyChart describes the pingpong chart, or returns nil when there
// is nothing to draw.
func latencyChart(f *results.File, m *results.Matrix) *figure {
	mechs, sizes := workloadAxes(m, results.PingPong)
	if len(mechs) == 0 {
		return nil
	}
	p50 := func(c *results.Cell) results.Summary { return c.RTTP50 }
	p99 := func(c *results.Cell) results.Summary { return c.RTTP99 }

	lo := math.Inf(1)
	for _, mech := range mechs {
		for _, s := range sizes {
			for _, get := range []func(*results.Cell) results.Summary{p50, p99} {
				if v := medianOf(m.Cell(mech, results.PingPong, s), get); valid(v) {
					lo = min(lo, v)
				}
			}
		}
	}
	// The floor is drawn too, so the axis reaches down to it.
	var floor float64
	if fl := f.Meta.Floors; fl != nil && valid(fl.CacheLineRTTNS) {
		floor = fl.CacheLineRTTNS
		lo = min(lo, floor)
	}
	unit, scale := durationUnit(lo)

	styles := assignStyles(m.Mechanisms)
	ch := &figure{
		name:      "latency",
		title:     "Round-trip time vs message size (pingpong)" + offsetTitle(m),
		xLabel:    "message size (bytes)",
		yLabel:    "round-trip time (" + unit + ")",
		logY:      true,
		dashed:    true,
		solidKey:  "p50",
		dashedKey: "p99",
	}
	var missing []string
	bars := false
	for _, mech := range mechs {
		cell := func(s int) *results.Cell { return m.Cell(mech, results.PingPong, s) }
		solid, miss := segments(sizes, func(s int) float64 { return medianOf(cell(s), p50) }, scale)
		dashed, _ := segments(sizes, func(s int) float64 { return medianOf(cell(s), p99) }, scale)
		if len(solid) == 0 && len(dashed) == 0 {
			missing = append(missing, mech+": no data")
			continue
		}
		if len(miss) > 0 {
			missing = append(missing, mech+": "+sizeList(sizes, miss))
		}
		s := series{mech: mech, style: styles[mech], solid: solid, dashed: dashed,
			solidBars:  spreadBars(sizes, cell, p50, scale),
			dashedBars: spreadBars(sizes, cell, p99, scale),
		}
		bars = bars || len(s.solidBars) > 0 || len(s.dashedBars) > 0
		ch.series = append(ch.series, s)
	}
	if len(ch.series) == 0 {
		return nil
	}
	if floor > 0 {
		ch.floor = floor / scale
		ch.floorKey = "cache-line floor, " + units.Duration(floor)
	}
	head := []string{roundsText(m, mechs, sizes, results.PingPong, p50)}
	if bars {
		head = append(head, barsNote)
	}
	if f.Meta.Pairs > 1 {
		head = append(head, fmt.Sprintf("%d pairs at once; times per pair", f.Meta.Pairs))
	}
	ch.notes = chartNotes(head, missing)
	ch.finishY()
	ch.sizeAxis(sizes)
	return ch
}

// barsNote explains the error bars wherever a chart has them.
const barsNote = "bars: lowest to highest round"

// throughputChart describes the stream chart of payload bytes per
// second, or returns nil when there is nothing to draw.
func throughputChart(f *results.File, m *results.Matrix) *figure {
	ch := streamChart(f, m, &figure{
		name:   "throughput",
		title:  "Throughput vs message size (stream)" + offsetTitle(m),
		xLabel: "message size (bytes)",
		yLabel: "throughput (MB/s, payload one way)",
	}, func(c *results.Cell) results.Summary { return c.BytesPerS }, 1e6, "MB = 1,000,000 bytes")
	if ch == nil {
		return nil
	}
	// The two-copy limit: a message copied into the kernel and out again
	// cannot go faster than half the machine's memcpy at its size.
	_, sizes := workloadAxes(m, results.Stream)
	limit, _ := segments(sizes, func(s int) float64 { return f.Meta.Floors.Memcpy(s, m.Offset) / 2 }, 1e6)
	if len(limit) > 0 {
		ch.series = append(ch.series, series{mech: limitName, style: limitStyle, dashed: limit})
		ch.notes = append(ch.notes, "", limitName+": half the memcpy", "bandwidth measured at the start", "of the run (meta.floors)")
		ch.finishY()
	}
	return ch
}

// limitName and limitStyle are the two-copy limit's legend entry and look:
// black and dashed, apart from every mechanism's colour.
const limitName = "two-copy limit"

var limitStyle = style{color: color.Gray{Y: 60}, shape: shapeCircle}

// offsetTitle is what a chart against message size adds to its title when
// it shows cells placed other than page-aligned.
func offsetTitle(m *results.Matrix) string {
	if m.Offset == 0 {
		return ""
	}
	return fmt.Sprintf(", payload %d B past a page", m.Offset)
}

// offsetCharts describe, when the run has several payload offsets, one
// chart per stream size of throughput against the offset.
func offsetCharts(f *results.File, m *results.Matrix) []*figure {
	if len(m.Offsets) < 2 {
		return nil
	}
	var charts []*figure
	styles := assignStyles(m.Mechanisms)
	get := func(c *results.Cell) results.Summary { return c.BytesPerS }
	for _, size := range m.Sizes {
		ch := &figure{
			name:    "throughput-offset-" + sizeLabel(size),
			title:   "Throughput vs payload offset, " + units.Size(size) + " messages (stream)",
			xLabel:  "payload offset past a page boundary (bytes)",
			yLabel:  "throughput (MB/s, payload one way)",
			linearX: true,
		}
		var missing []string
		for _, mech := range m.Mechanisms {
			var pts plotter.XYs
			var segs []plotter.XYs
			var bars []roundRange
			seen := false
			for _, off := range m.Offsets {
				c := m.At(off).Cell(mech, results.Stream, size)
				seen = seen || c != nil
				v := medianOf(c, get) / 1e6
				if !valid(v) {
					if c != nil {
						missing = append(missing, fmt.Sprintf("%s: offset %d", mech, off))
					}
					if len(pts) > 0 {
						segs, pts = append(segs, pts), nil
					}
					continue
				}
				pts = append(pts, plotter.XY{X: float64(off), Y: v})
				if s := get(c); s.N > 1 && s.Max > s.Min {
					bars = append(bars, roundRange{X: float64(off), Lo: s.Min / 1e6, Hi: s.Max / 1e6})
				}
			}
			if len(pts) > 0 {
				segs = append(segs, pts)
			}
			if len(segs) > 0 {
				ch.series = append(ch.series, series{mech: mech, style: styles[mech], solid: segs, solidBars: bars})
			} else if seen {
				missing = append(missing, mech+": no data")
			}
		}
		if len(ch.series) == 0 {
			continue
		}
		var limit plotter.XYs
		for _, off := range m.Offsets {
			if v := f.Meta.Floors.Memcpy(size, off) / 2e6; valid(v) {
				limit = append(limit, plotter.XY{X: float64(off), Y: v})
			}
		}
		head := []string{"MB = 1,000,000 bytes", "offset: where each payload starts", "past a page, in both sides' buffers"}
		if len(limit) > 0 {
			ch.series = append(ch.series, series{mech: limitName, style: limitStyle, dashed: []plotter.XYs{limit}})
			head = append(head, "", limitName+": half the memcpy", "bandwidth at that placement")
		}
		if f.Meta.Pairs > 1 {
			head = append(head, fmt.Sprintf("summed over %d pairs at once", f.Meta.Pairs))
		}
		ch.notes = chartNotes(head, missing)
		ch.finishY()
		ch.offsetAxis(m.Offsets)
		charts = append(charts, ch)
	}
	return charts
}

// offsetAxis makes the x axis the payload offsets, linear from 0, each
// offset measured a labelled tick.
func (ch *figure) offsetAxis(offsets []int) {
	hi := float64(offsets[len(offsets)-1])
	ch.xMin, ch.xMax = -hi*0.03, hi*1.03
	var ticks []plot.Tick
	for _, off := range offsets {
		ticks = append(ticks, plot.Tick{Value: float64(off), Label: strconv.Itoa(off)})
	}
	ch.xTicks = plot.ConstantTicks(ticks)
}

// messageRateChart describes the stream chart of messages per second:
// the same runs as the throughput chart, read as a rate of messages, which
// is what a small-message workload is limited by.
func messageRateChart(f *results.File, m *results.Matrix) *figure {
	return streamChart(f, m, &figure{
		name:   "message-rate",
		title:  "Messages per second vs message size (stream)" + offsetTitle(m),
		xLabel: "message size (bytes)",
		yLabel: "messages per second, thousands (one way)",
	}, func(c *results.Cell) results.Summary { return c.MsgsPerS }, 1e3, "")
}

// streamChart fills ch with one solid line per mechanism of the stream
// figure get, divided by scale, or returns nil when there is nothing to draw.
func streamChart(f *results.File, m *results.Matrix, ch *figure, get func(*results.Cell) results.Summary, scale float64, unitNote string) *figure {
	mechs, sizes := workloadAxes(m, results.Stream)
	if len(mechs) == 0 {
		return nil
	}
	styles := assignStyles(m.Mechanisms)
	var missing []string
	bars := false
	for _, mech := range mechs {
		cell := func(s int) *results.Cell { return m.Cell(mech, results.Stream, s) }
		solid, miss := segments(sizes, func(s int) float64 { return medianOf(cell(s), get) }, scale)
		if len(solid) == 0 {
			missing = append(missing, mech+": no data")
			continue
		}
		if len(miss) > 0 {
			missing = append(missing, mech+": "+sizeList(sizes, miss))
		}
		s := series{mech: mech, style: styles[mech], solid: solid, solidBars: spreadBars(sizes, cell, get, scale)}
		bars = bars || len(s.solidBars) > 0
		ch.series = append(ch.series, s)
	}
	if len(ch.series) == 0 {
		return nil
	}
	head := []string{roundsText(m, mechs, sizes, results.Stream, get)}
	if bars {
		head = append(head, barsNote)
	}
	head = append(head, unitNote)
	if f.Meta.Pairs > 1 {
		head = append(head, fmt.Sprintf("summed over %d pairs at once", f.Meta.Pairs))
	}
	ch.notes = chartNotes(head, missing)
	ch.finishY()
	ch.sizeAxis(sizes)
	return ch
}

// margin widens a log axis's range by 3% at each end, so that the
// markers and bars of the first and last points are drawn whole inside the
// frame rather than cut by it.
func margin(lo, hi float64) (float64, float64) {
	f := math.Pow(hi/lo, 0.03)
	return lo / f, hi * f
}

// chartNotes is the small print under the legend: what the points are,
// then which cells have no point and why.
func chartNotes(head, missing []string) []string {
	var notes []string
	for _, h := range head {
		if h != "" {
			notes = append(notes, h)
		}
	}
	if len(missing) > 0 {
		notes = append(notes, "", "not plotted (failed, or no figure):")
		for _, m := range missing {
			notes = append(notes, "  "+m)
		}
	}
	return notes
}

// finishY sets the y axis's range and ticks from the points and bars.
func (ch *figure) finishY() {
	ch.yMin, ch.yMax = math.Inf(1), math.Inf(-1)
	for _, s := range ch.series {
		for _, seg := range slices.Concat(s.solid, s.dashed) {
			for _, p := range seg {
				ch.yMin, ch.yMax = min(ch.yMin, p.Y), max(ch.yMax, p.Y)
			}
		}
		for _, b := range slices.Concat(s.solidBars, s.dashedBars) {
			ch.yMin, ch.yMax = min(ch.yMin, b.Lo), max(ch.yMax, b.Hi)
		}
	}
	if ch.floor > 0 {
		ch.yMin, ch.yMax = min(ch.yMin, ch.floor), max(ch.yMax, ch.floor)
	}
	// Throughput spans decades when small messages are syscall-bound; a
	// linear axis would flatten them against zero, so it goes log then.
	if !ch.logY && ch.yMax/ch.yMin > 10 {
		ch.logY = true
	}
	if ch.logY {
		if ch.yMin == ch.yMax {
			ch.yMin, ch.yMax = ch.yMin/2, ch.yMax*2
		}
		ch.yMin, ch.yMax = margin(ch.yMin, ch.yMax)
		ch.yTicker = logTicks{}
	} else {
		ch.yMin, ch.yMax = 0, ch.yMax*1.05
		ch.yTicker = linearTicks{}
	}
}

// sizeAxis makes the x axis the message sizes. Every size measured is on
// it, with or without a point, so a failed cell shows as a gap where it
// belongs.
func (ch *figure) sizeAxis(sizes []int) {
	ch.xMin, ch.xMax = float64(sizes[0]), float64(sizes[len(sizes)-1])
	if ch.xMin == ch.xMax {
		ch.xMin, ch.xMax = ch.xMin/2, ch.xMax*2
	}
	ch.xMin, ch.xMax = margin(ch.xMin, ch.xMax)
	ch.xTicks = plot.ConstantTicks(sizeTicks(sizes, ch.xMin, ch.xMax))
}

// render draws the chart as SVG and as PNG.
func (ch *figure) render() (svg, png []byte, err error) {
	sc := vgsvg.New(width, height)
	if err := ch.draw(draw.New(sc)); err != nil {
		return nil, nil, err
	}
	var sb bytes.Buffer
	if _, err := sc.WriteTo(&sb); err != nil {
		return nil, nil, err
	}
	// vgsvg names the font without a fallback; a viewer without Liberation
	// Sans would fall back to a serif face. Arial has the same metrics.
	svg = bytes.ReplaceAll(sb.Bytes(), []byte("font-family:Liberation Sans;"),
		[]byte("font-family:'Liberation Sans',Arial,Helvetica,sans-serif;"))
	svg = withTitle(svg, ch.title)

	ic := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(dpi))
	if err := ch.draw(draw.New(ic)); err != nil {
		return nil, nil, err
	}
	var pb bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: ic}).WriteTo(&pb); err != nil {
		return nil, nil, err
	}
	return svg, pb.Bytes(), nil
}

// withTitle gives an SVG document its <title>, the first child of <svg>:
// what a browser tab, a screen reader and a file manager show for it.
func withTitle(svg []byte, title string) []byte {
	start := bytes.Index(svg, []byte("<svg"))
	if start < 0 {
		return svg
	}
	end := bytes.IndexByte(svg[start:], '>')
	if end < 0 {
		return svg
	}
	end += start + 1
	var t bytes.Buffer
	t.WriteString("\n<title>")
	xml.EscapeText(&t, []byte(title))
	t.WriteString("</title>")
	return slices.Concat(svg[:end], t.Bytes(), svg[end:])
}

// footer is the one line every chart carries at its bottom: host, kernel,
// io mode, placement, date and version, as far as the results know them.
func footer(m *results.Meta) string {
	var parts []string
	add := func(label, v string) {
		if v != "" {
			parts = append(parts, label+v)
		}
	}
	add("", m.Host)
	kernel := m.Kernel // "Linux 6.1.0" (host.Kernel), or the bare release
	if kernel != "" && !strings.HasPrefix(kernel, "Linux") {
		kernel = "Linux " + kernel
	}
	add("", kernel)
	add("io=", m.IO)
	switch {
	case m.Placement != "":
		parts = append(parts, m.Placement)
	case len(m.CPUs) == 2:
		parts = append(parts, fmt.Sprintf("CPUs %d,%d", m.CPUs[0], m.CPUs[1]))
	case m.IO != "":
		parts = append(parts, "not pinned")
	}
	if !m.Started.IsZero() {
		parts = append(parts, m.Started.UTC().Format(time.DateOnly))
	}
	add("ipcbench ", m.Version)
	return strings.Join(parts, " · ")
}

func textStyle(size vg.Length) text.Style {
	return text.Style{
		Color:   color.Black,
		Font:    font.From(face, size),
		Handler: plot.DefaultTextHandler,
	}
}

const (
	lineWidth = 2
	dashWidth = 1.5
	markerR   = 3.5
	barWidth  = 1
	barCap    = 2
	barDodge  = 3.5
)

var dashes = []vg.Length{vg.Points(6), vg.Points(3)}

// draw renders the chart on c: the plot on the left and, in a strip on the
// right, the legend and notes, so that no legend ever covers a point.
func (ch *figure) draw(c draw.Canvas) (err error) {
	defer func() {
		// gonum/plot panics on values it cannot scale; the points are
		// checked beforehand, so this is a last guard, not a code path.
		if r := recover(); r != nil {
			err = fmt.Errorf("gonum/plot: %v", r)
		}
	}()

	// The SVG canvas starts transparent; the plot only fills its own part.
	c.SetColor(color.White)
	c.Fill(c.Rectangle.Path())

	p := plot.New()
	p.Title.Text = ch.title
	p.Title.TextStyle = textStyle(14)
	p.Title.TextStyle.XAlign = draw.XCenter
	p.Title.TextStyle.YAlign = draw.YTop
	p.Title.Padding = vg.Points(8)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(face, 12)
		a.Tick.Label.Font = font.From(face, 10)
		a.Label.Padding = vg.Points(4)
	}
	// Both axis labels are drawn here rather than by gonum/plot. It
	// reserves room above the y axis for a long rotated label as if it were
	// not centred, leaving a gap under the title; and on a log x axis it
	// places the x label's box at the arithmetic middle of the range, far
	// right of the centre, and shrinks the plot to make room for it.
	xLabel := textStyle(12)
	xLabel.XAlign = draw.XCenter
	yLabel := textStyle(12)
	yLabel.Rotation = math.Pi / 2
	yLabel.XAlign = draw.XCenter
	yLabel.YAlign = draw.YTop
	if !ch.linearX {
		p.X.Scale = plot.LogScale{}
	}
	p.X.Tick.Marker = ch.xTicks
	p.X.Min, p.X.Max = ch.xMin, ch.xMax
	if ch.logY {
		p.Y.Scale = plot.LogScale{}
	}
	p.Y.Tick.Marker = ch.yTicker

	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{Y: 200}
	grid.Horizontal.Color = color.Gray{Y: 200}
	grid.Vertical.Width = vg.Points(0.5)
	grid.Horizontal.Width = vg.Points(0.5)
	p.Add(grid)

	leg := plot.NewLegend()
	leg.TextStyle = textStyle(11)
	leg.Top, leg.Left = true, true
	leg.ThumbnailWidth = vg.Points(30)
	leg.Padding = vg.Points(3)

	// The floor first, across the whole x range, under everything.
	var floorLine *plotter.Line
	if ch.floor > 0 {
		floorLine, err = plotter.NewLine(plotter.XYs{{X: ch.xMin, Y: ch.floor}, {X: ch.xMax, Y: ch.floor}})
		if err != nil {
			return err
		}
		floorLine.Color = color.Gray{Y: 90}
		floorLine.Width = vg.Points(1.5)
		floorLine.Dashes = []vg.Length{vg.Points(1.5), vg.Points(2.5)}
		p.Add(floorLine)
	}
	// The round spread first, under every line; then the tails, so the
	// headline lines are drawn on top of them.
	// Each mechanism's bars sit a little to one side of its points, so that
	// two mechanisms with close figures do not draw their bars on top of
	// each other.
	for i, s := range ch.series {
		dx := vg.Points(barDodge * (float64(i) - float64(len(ch.series)-1)/2))
		p.Add(barsPlotter{bars: s.dashedBars, color: s.style.color, dx: dx}, barsPlotter{bars: s.solidBars, color: s.style.color, dx: dx})
	}
	for _, s := range ch.series {
		for _, seg := range s.dashed {
			l, pts, err := newLine(seg, s.style, true)
			if err != nil {
				return err
			}
			p.Add(l, pts)
		}
	}
	for _, s := range ch.series {
		var thumbL *plotter.Line
		var thumbP *plotter.Scatter
		for _, seg := range s.solid {
			l, pts, err := newLine(seg, s.style, false)
			if err != nil {
				return err
			}
			if s.marks != nil {
				p.Add(l)
			} else {
				p.Add(l, pts)
			}
			thumbL, thumbP = l, pts
		}
		if len(s.marks) > 0 {
			_, pts, err := newLine(s.marks, s.style, false)
			if err != nil {
				return err
			}
			p.Add(pts)
		}
		if thumbL == nil { // only a tail figure: show its style
			thumbL, thumbP = thumb(s.style, true)
		}
		leg.Add(s.mech, thumbL, thumbP)
	}
	if floorLine != nil {
		leg.Add("")
		leg.Add(ch.floorKey, floorLine)
	}
	if ch.dashed {
		black := style{color: color.Black, shape: shapeCircle}
		leg.Add("")
		l, pts := thumb(black, false)
		leg.Add(ch.solidKey, l, pts)
		l, pts = thumb(black, true)
		leg.Add(ch.dashedKey, l, pts)
	}
	// The axis ranges are fixed after Add, which widens them to the data.
	p.X.Min, p.X.Max = ch.xMin, ch.xMax
	p.Y.Min, p.Y.Max = ch.yMin, ch.yMax

	// The footer along the bottom edge, the rest above it.
	if ch.footer != "" {
		foot := textStyle(8)
		foot.Color = color.Gray{Y: 90}
		footH := foot.Height("Mg") + vg.Points(6)
		c.FillText(foot, vg.Point{X: c.Min.X + vg.Points(6), Y: c.Min.Y + foot.FontExtents().Descent + vg.Points(3)}, ch.footer)
		c = draw.Crop(c, 0, 0, footH, 0)
	}

	// The strip is as wide as its widest line, within reason.
	pad := vg.Points(10)
	note := textStyle(9)
	noteMax := c.Size().X * 0.3
	notes := wrap(note, ch.notes, noteMax)
	stripW := leg.Rectangle(c).Size().X
	for _, n := range notes {
		stripW = max(stripW, note.Width(n))
	}
	stripW += 2 * pad
	left := draw.Crop(c, 0, -stripW, 0, 0)
	strip := draw.Crop(c, c.Size().X-stripW+pad, -pad, 0, 0)

	yLabelW := yLabel.Height(ch.yLabel) + vg.Points(4)
	xLabelH := xLabel.Height(ch.xLabel) + vg.Points(4)
	area := draw.Crop(left, yLabelW, 0, xLabelH, 0)
	p.Draw(area)
	data := p.DataCanvas(area)
	left.FillText(yLabel, vg.Point{X: left.Min.X, Y: data.Center().Y}, ch.yLabel)
	left.FillText(xLabel, vg.Point{X: data.Center().X, Y: left.Min.Y + xLabel.FontExtents().Descent + vg.Points(2)}, ch.xLabel)

	// Align the legend with the top of the data area.
	strip.Max.Y = data.Max.Y
	leg.Draw(strip)
	y := strip.Max.Y - leg.Rectangle(strip).Size().Y - vg.Points(14)
	lineH := note.Height("Mg") * 1.25
	for _, n := range notes {
		y -= lineH
		if y < c.Min.Y {
			break
		}
		strip.FillText(note, vg.Point{X: strip.Min.X, Y: y}, n)
	}
	return nil
}

// wrap breaks notes wider than w at ", ".
func wrap(sty text.Style, notes []string, w vg.Length) []string {
	var out []string
	for _, n := range notes {
		if sty.Width(n) <= w {
			out = append(out, n)
			continue
		}
		parts := strings.Split(n, ", ")
		line := ""
		for i, part := range parts {
			sep := ""
			if i < len(parts)-1 {
				sep = ","
			}
			cand := part + sep
			if line != "" {
				cand = line + " " + part + sep
			}
			if line != "" && sty.Width(cand) > w {
				out = append(out, line)
				cand = "    " + part + sep
			}
			line = cand
		}
		out = append(out, line)
	}
	return out
}

// barsPlotter draws the round spread of one mechanism's points: a thin
// vertical line from the lowest round to the highest, with short caps, in
// the mechanism's colour.
type barsPlotter struct {
	bars  []roundRange
	color color.Color
	dx    vg.Length // drawn this far right of the points
}

func (b barsPlotter) Plot(c draw.Canvas, p *plot.Plot) {
	if len(b.bars) == 0 {
		return
	}
	trX, trY := p.Transforms(&c)
	sty := draw.LineStyle{Color: b.color, Width: vg.Points(barWidth)}
	capW := vg.Points(barCap)
	for _, bar := range b.bars {
		x, lo, hi := trX(bar.X)+b.dx, trY(bar.Lo), trY(bar.Hi)
		c.StrokeLine2(sty, x, lo, x, hi)
		c.StrokeLine2(sty, x-capW, lo, x+capW, lo)
		c.StrokeLine2(sty, x-capW, hi, x+capW, hi)
	}
}

// newLine makes the line and markers of one run of points.
func newLine(xys plotter.XYs, st style, dashed bool) (*plotter.Line, *plotter.Scatter, error) {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return nil, nil, err
	}
	pts, err := plotter.NewScatter(xys)
	if err != nil {
		return nil, nil, err
	}
	applyStyle(l, pts, st, dashed)
	return l, pts, nil
}

// thumb makes a legend sample of a style.
func thumb(st style, dashed bool) (*plotter.Line, *plotter.Scatter) {
	l := &plotter.Line{}
	pts := &plotter.Scatter{}
	applyStyle(l, pts, st, dashed)
	return l, pts
}

func applyStyle(l *plotter.Line, pts *plotter.Scatter, st style, dashed bool) {
	l.LineStyle = draw.LineStyle{Color: st.color, Width: vg.Points(lineWidth)}
	pts.GlyphStyle = draw.GlyphStyle{
		Color:  st.color,
		Radius: vg.Points(markerR),
		Shape:  marker{shape: st.shape},
	}
	if dashed {
		l.LineStyle.Width = vg.Points(dashWidth)
		l.LineStyle.Dashes = dashes
		pts.GlyphStyle.Radius = vg.Points(markerR - 0.5)
		pts.GlyphStyle.Shape = marker{shape: st.shape, hollow: true}
	}
}

// Marker shapes.
const (
	shapeCircle = iota
	shapeSquare
	shapeTriangle
	shapeDiamond
)

// marker draws a filled marker (a headline figure) or a hollow one
// with a white inside (a tail figure), so the two read apart where the
// lines cross.
type marker struct {
	shape  int
	hollow bool
}

func (g marker) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	r := sty.Radius
	var p vg.Path
	switch g.shape {
	case shapeSquare:
		s := r * 0.9
		p.Move(vg.Point{X: pt.X - s, Y: pt.Y - s})
		p.Line(vg.Point{X: pt.X + s, Y: pt.Y - s})
		p.Line(vg.Point{X: pt.X + s, Y: pt.Y + s})
		p.Line(vg.Point{X: pt.X - s, Y: pt.Y + s})
	case shapeTriangle:
		s := r * 1.25
		p.Move(vg.Point{X: pt.X, Y: pt.Y + s})
		p.Line(vg.Point{X: pt.X - s*0.866, Y: pt.Y - s*0.5})
		p.Line(vg.Point{X: pt.X + s*0.866, Y: pt.Y - s*0.5})
	case shapeDiamond:
		s := r * 1.25
		p.Move(vg.Point{X: pt.X, Y: pt.Y + s})
		p.Line(vg.Point{X: pt.X - s, Y: pt.Y})
		p.Line(vg.Point{X: pt.X, Y: pt.Y - s})
		p.Line(vg.Point{X: pt.X + s, Y: pt.Y})
	default:
		p.Move(vg.Point{X: pt.X + r, Y: pt.Y})
		p.Arc(pt, r, 0, 2*math.Pi)
	}
	p.Close()
	if g.hollow {
		c.SetColor(color.White)
		c.Fill(p)
		c.SetLineStyle(draw.LineStyle{Color: sty.Color, Width: vg.Points(1.2)})
		c.Stroke(p)
		return
	}
	c.SetColor(sty.Color)
	c.Fill(p)
}

// sizeLabel writes a byte count as 64, 1K, 4K, 1M: binary suffixes,
// exact (or to a quarter) or not at all.
func sizeLabel(n int) string {
	for _, u := range []struct {
		size   int
		suffix string
	}{{1 << 30, "G"}, {1 << 20, "M"}, {1 << 10, "K"}} {
		if n >= u.size && (n*4)%u.size == 0 {
			return strconv.FormatFloat(float64(n)/float64(u.size), 'f', -1, 64) + u.suffix
		}
	}
	return strconv.Itoa(n)
}

// sizeList names sizes compactly: runs of three or more consecutive
// sizes (in the chart's size list) become "16K–1M".
func sizeList(all, some []int) string {
	var parts []string
	for i := 0; i < len(all); {
		if !slices.Contains(some, all[i]) {
			i++
			continue
		}
		j := i
		for j+1 < len(all) && slices.Contains(some, all[j+1]) {
			j++
		}
		if j-i >= 2 {
			parts = append(parts, sizeLabel(all[i])+"–"+sizeLabel(all[j]))
		} else {
			for k := i; k <= j; k++ {
				parts = append(parts, sizeLabel(all[k]))
			}
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

// sizeTicks labels the sizes on the plot, leaving out (as minor ticks)
// those too close to the previous label to be read, and adds unlabelled
// ticks at the powers of two in between.
func sizeTicks(sizes []int, lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	if len(sizes) > 0 {
		span := math.Log2(hi) - math.Log2(lo)
		gap := max(0.9, span/10)
		last := math.Inf(-1)
		for _, s := range sizes {
			l := math.Log2(float64(s))
			if l-last >= gap-1e-9 {
				ticks = append(ticks, plot.Tick{Value: float64(s), Label: sizeLabel(s)})
				last = l
			} else {
				ticks = append(ticks, plot.Tick{Value: float64(s)})
			}
		}
	}
	for e := math.Ceil(math.Log2(lo)); e <= math.Floor(math.Log2(hi)); e++ {
		v := math.Exp2(e)
		if !slices.ContainsFunc(ticks, func(t plot.Tick) bool { return t.Value == v }) {
			ticks = append(ticks, plot.Tick{Value: v})
		}
	}
	slices.SortStableFunc(ticks, func(a, b plot.Tick) int {
		switch {
		case a.Value < b.Value:
			return -1
		case a.Value > b.Value:
			return 1
		}
		return 0
	})
	return ticks
}

// number writes a tick value in plain decimal: 0.5, 20, 1000, never 1e+03.
func number(v float64, decimals int) string {
	return strconv.FormatFloat(v, 'f', decimals, 64)
}

// decade returns m * 10^k without the rounding noise of 3 * 0.1.
func decade(m float64, k int) float64 {
	if k < 0 {
		return m / math.Pow10(-k)
	}
	return m * math.Pow10(k)
}

// logTicks labels a log axis at 1, 10, 100 when it spans decades, at
// 1, 2, 5 times those when it spans fewer, and falls back to evenly spaced
// labels when it is narrower still.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !valid(lo) || !valid(hi) || lo >= hi {
		return nil
	}
	const eps = 1e-9
	k0 := int(math.Floor(math.Log10(lo)))
	k1 := int(math.Ceil(math.Log10(hi)))
	in := func(v float64) bool { return v >= lo*(1-eps) && v <= hi*(1+eps) }
	for _, set := range [][]float64{{1}, {1, 2, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9}} {
		var labelled []float64
		for k := k0; k <= k1; k++ {
			for _, m := range set {
				if v := decade(m, k); in(v) {
					labelled = append(labelled, v)
				}
			}
		}
		if len(labelled) < 3 {
			continue
		}
		// Very wide ranges: label every n-th decade only.
		every := 1
		if len(set) == 1 && len(labelled) > 10 {
			every = (len(labelled) + 7) / 8
		}
		var ticks []plot.Tick
		for k := k0; k <= k1; k++ {
			for m := 1; m <= 9; m++ {
				v := decade(float64(m), k)
				if !in(v) {
					continue
				}
				t := plot.Tick{Value: v}
				if slices.Contains(set, float64(m)) && (m != 1 || (k-k0)%every == 0) {
					t.Label = number(v, max(0, -k))
				}
				ticks = append(ticks, t)
			}
		}
		return ticks
	}
	return linearTicks{}.Ticks(lo, hi)
}

// linearTicks labels a linear axis at steps of 1, 2 or 5 times a power
// of ten, about five labels in all.
type linearTicks struct{}

func (linearTicks) Ticks(lo, hi float64) []plot.Tick {
	if math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) || lo >= hi {
		return nil
	}
	raw := (hi - lo) / 5
	k := int(math.Floor(math.Log10(raw)))
	step := decade(1, k)
	for _, m := range []float64{2, 5, 10} {
		if step >= raw {
			break
		}
		step = decade(m, k)
	}
	if step >= 10*decade(1, k) {
		k++
	}
	decimals := max(0, -k)
	var ticks []plot.Tick
	for i := math.Ceil(lo / step); i*step <= hi*(1+1e-9); i++ {
		v := i * step
		ticks = append(ticks, plot.Tick{Value: v, Label: number(v, decimals)})
	}
	return ticks
}
