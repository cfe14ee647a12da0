package chart

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"

	"github.com/ipcbench/ipcbench/internal/units"
	"github.com/ipcbench/ipcbench/results"
)

// The cost charts: for each closed-loop workload, the CPU time one message
// costs both sides together against the message size (solid) and how busy
// the busier side was, CPU per wall time (dashed, on the same log axis as a
// share: 1 is a side that never sleeps), one line per mechanism. And the
// load charts: for each size, the round trip from the intended send time
// against the offered load (open loop, -rate), p50 solid and p99 dashed.

// costCharts describes the cost chart of each workload that has cost
// figures.
func costCharts(m *results.Matrix, io string) []*figure {
	var out []*figure
	for _, wl := range []string{results.PingPong, results.Stream} {
		if ch := costChart(m, wl, io); ch != nil {
			out = append(out, ch)
		}
	}
	return out
}

func costChart(m *results.Matrix, workload, io string) *figure {
	mechs, sizes := workloadAxes(m, workload)
	cpu := func(c *results.Cell) results.Summary {
		if c.DriverCPU.N == 0 || c.PeerCPU.N == 0 {
			return results.Summary{}
		}
		// The median of the sum is not the sum of the medians; the rows
		// have both sides, so sum them per round.
		var v []float64
		for _, r := range c.Rows {
			if r.Cost != nil && r.Cost.Driver != nil && r.Cost.Peer != nil {
				v = append(v, r.Cost.Driver.CPUNS()+r.Cost.Peer.CPUNS())
			}
		}
		return results.Summarize(v)
	}
	lo := math.Inf(1)
	for _, mech := range mechs {
		for _, s := range sizes {
			if v := medianOf(m.Cell(mech, workload, s), cpu); valid(v) {
				lo = min(lo, v)
			}
		}
	}
	if math.IsInf(lo, 1) {
		return nil
	}
	unit, scale := durationUnit(lo)
	per := "message"
	if workload == results.PingPong {
		per = "round trip"
	}
	ch := &figure{
		name:   "cost-" + workload,
		title:  fmt.Sprintf("CPU time per %s vs message size (%s), both sides", per, workload),
		xLabel: "message size (bytes)",
		yLabel: "CPU time, user + system, driver + peer (" + unit + ")",
		logY:   true,
	}
	styles := assignStyles(m.Mechanisms)
	var missing, busy []string
	for _, mech := range mechs {
		cell := func(s int) *results.Cell { return m.Cell(mech, workload, s) }
		solid, miss := segments(sizes, func(s int) float64 { return medianOf(cell(s), cpu) }, scale)
		if len(solid) == 0 {
			missing = append(missing, mech+": no cost figures")
			continue
		}
		if len(miss) > 0 {
			missing = append(missing, mech+": "+sizeList(sizes, miss))
		}
		ch.series = append(ch.series, series{mech: mech, style: styles[mech], solid: solid,
			solidBars: spreadBars(sizes, cell, cpu, scale)})
		for _, s := range sizes {
			if c := cell(s); c != nil && (c.DriverCPUPerWall.Median > 0.9 || c.PeerCPUPerWall.Median > 0.9) {
				busy = append(busy, mech)
				break
			}
		}
	}
	if len(ch.series) == 0 {
		return nil
	}
	scope := "each side's measuring thread"
	if io == "go" {
		scope = "each side's whole process (io=go)"
	}
	head := []string{roundsText(m, mechs, sizes, workload, cpu), "measured window only, " + scope}
	if len(busy) > 0 {
		head = append(head, "never sleeps (a side busy > 90% of the time): "+strings.Join(busy, ", "))
	}
	ch.notes = chartNotes(head, missing)
	ch.finishY()
	ch.sizeAxis(sizes)
	return ch
}

// loadCharts describes, for each size with open-loop cells, the round trip
// against the offered load.
func loadCharts(m *results.Matrix) []*figure {
	rates := m.Rates()
	if len(rates) == 0 {
		return nil
	}
	var out []*figure
	for _, size := range m.Sizes {
		if ch := loadChart(m, size, rates); ch != nil {
			out = append(out, ch)
		}
	}
	return out
}

func loadChart(m *results.Matrix, size int, rates []string) *figure {
	type point struct{ x, p50, p99 float64 }
	byMech := map[string][]point{}
	var mechs []string
	lo, xlo, xhi := math.Inf(1), math.Inf(1), math.Inf(-1)
	for _, mech := range m.Mechanisms {
		for _, rate := range rates {
			c := m.CellAt(results.Key{Mechanism: mech, Workload: results.PingPong, SizeBytes: size, Rate: rate})
			if c == nil || c.Failed() || !valid(c.Rate.Median) || !valid(c.RTTCorrectedP50.Median) || !valid(c.RTTCorrectedP99.Median) {
				continue
			}
			if !slices.Contains(mechs, mech) {
				mechs = append(mechs, mech)
			}
			p := point{c.Rate.Median, c.RTTCorrectedP50.Median, c.RTTCorrectedP99.Median}
			byMech[mech] = append(byMech[mech], p)
			lo = min(lo, p.p50)
			xlo, xhi = min(xlo, p.x), max(xhi, p.x)
		}
	}
	if len(mechs) == 0 {
		return nil
	}
	unit, scale := durationUnit(lo)
	ch := &figure{
		name:      "load-" + sizeLabel(size),
		title:     fmt.Sprintf("Round trip vs offered load (open loop, %s)", units.Size(size)),
		xLabel:    "offered load (round trips per second)",
		yLabel:    "round-trip time from the intended send (" + unit + ")",
		logY:      true,
		dashed:    true,
		solidKey:  "p50",
		dashedKey: "p99",
	}
	styles := assignStyles(m.Mechanisms)
	for _, mech := range mechs {
		pts := byMech[mech]
		slices.SortFunc(pts, func(a, b point) int {
			switch {
			case a.x < b.x:
				return -1
			case a.x > b.x:
				return 1
			}
			return 0
		})
		var solid, dashed plotter.XYs
		for _, p := range pts {
			solid = append(solid, plotter.XY{X: p.x, Y: p.p50 / scale})
			dashed = append(dashed, plotter.XY{X: p.x, Y: p.p99 / scale})
		}
		ch.series = append(ch.series, series{mech: mech, style: styles[mech], solid: []plotter.XYs{solid}, dashed: []plotter.XYs{dashed}})
	}
	ch.notes = chartNotes([]string{"corrected for coordinated omission: a message waits from the time it was due, sent or not"}, nil)
	ch.finishY()
	if xlo == xhi {
		xlo, xhi = xlo/2, xhi*2
	}
	ch.xMin, ch.xMax = margin(xlo, xhi)
	ch.xTicks = plot.ConstantTicks(rateTicks(ch.xMin, ch.xMax))
	return ch
}

// rateTicks marks 1, 2 and 5 times the powers of ten between lo and hi,
// labelling ("1k", "20k") only the powers of ten over a wide range.
func rateTicks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		d := math.Pow(10, e)
		for _, k := range []float64{1, 2, 5} {
			v := k * d
			if v < lo || v > hi {
				continue
			}
			t := plot.Tick{Value: v}
			if k == 1 || hi/lo < 100 {
				t.Label = strings.Replace(units.Count(v), ".0", "", 1)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}
