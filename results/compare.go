package results

import (
	"math"
	"slices"

	"golang.org/x/perf/benchmath"
)

// Comparison is two results files cell by cell: what changed from the old
// run to the new one, and whether the rounds say the change is more than
// noise. Every cell of either file has a place in it.
type Comparison struct {
	// OldName and NewName say where the files came from (their paths);
	// the caller sets them, Compare leaves them empty.
	OldName, NewName string
	OldMeta, NewMeta Meta
	// OldRounds and NewRounds are how many distinct rounds each file has.
	OldRounds, NewRounds int
	// Workloads are the workloads of either file, in table order.
	Workloads []string
	// Cells are every cell of either file: by workload, then mechanism
	// (the old file's order, then any new ones), then size.
	Cells []CellChange
	// VerdictChanges are the contexts whose verdicts differ between the
	// runs; package verdict fills them (verdict.Diff), Compare does not.
	VerdictChanges []VerdictChange
	// HasVerdicts is set (with VerdictChanges) when either run has a
	// verdict, so that no change can be told from nothing to compare.
	HasVerdicts bool
}

// CellChange is one cell in both files.
type CellChange struct {
	Key
	// Old and New are the cell in each file; nil when that file lacks it.
	Old, New *Cell
	// Figures are the compared figures: p50 and p99 round trip for
	// pingpong, throughput for stream. A figure is here only when both
	// files have it for the cell.
	Figures []FigureChange
}

// FigureChange is one figure of a cell, old against new.
type FigureChange struct {
	Name     string  // "p50", "p99" or "throughput"
	Old, New Summary // across each file's rounds
	// Test is the Mann-Whitney U test of the old rounds against the new,
	// as benchstat runs it (benchmath.AssumeNothing, alpha 0.05).
	Test benchmath.Comparison
	// MinP is the smallest p-value the test can give with these numbers of
	// rounds, whatever the figures: above the alpha, no change can be
	// significant.
	MinP float64
}

// Significant reports whether the test rejects "no change", by benchstat's
// rule.
func (fc *FigureChange) Significant() bool { return !(fc.Test.P > fc.Test.Alpha) }

// TooFewRounds reports whether the rounds are too few for any change to be
// significant.
func (fc *FigureChange) TooFewRounds() bool { return fc.MinP > fc.Test.Alpha }

// Delta is the change of the medians in percent, as benchstat prints it
// ("-12.34%"), or "~" when the change is not significant.
func (fc *FigureChange) Delta() string { return fc.Test.FormatDelta(fc.Old.Median, fc.New.Median) }

// Compare lines up the cells of two results files and tests every figure
// that both have.
func Compare(old, new *File) *Comparison {
	mo, mn := Aggregate(old), Aggregate(new)
	c := &Comparison{
		OldMeta: old.Meta, NewMeta: new.Meta,
		OldRounds: old.Rounds(), NewRounds: new.Rounds(),
	}
	both := &Matrix{
		Mechanisms: slices.Clone(mo.Mechanisms),
		Workloads:  slices.Clone(mo.Workloads),
	}
	for _, m := range mn.Mechanisms {
		if !slices.Contains(both.Mechanisms, m) {
			both.Mechanisms = append(both.Mechanisms, m)
		}
	}
	for _, w := range mn.Workloads {
		if !slices.Contains(both.Workloads, w) {
			both.Workloads = append(both.Workloads, w)
		}
	}
	// The same order as Aggregate gives a single file.
	slices.SortStableFunc(both.Workloads, func(a, b string) int { return workloadRank(a) - workloadRank(b) })
	both.Sizes = slices.Concat(mo.Sizes, mn.Sizes)
	slices.Sort(both.Sizes)
	both.Sizes = slices.Compact(both.Sizes)
	// Cells compare at the same payload offset only: placement changes
	// the figures (see README, "Payload placement").
	both.Offsets = slices.Concat(mo.Offsets, mn.Offsets)
	slices.Sort(both.Offsets)
	both.Offsets = slices.Compact(both.Offsets)

	clients := slices.Concat(mo.Clients, mn.Clients)
	slices.Sort(clients)
	clients = slices.Compact(clients)

	c.Workloads = both.Workloads
	for _, wl := range both.Workloads {
		counts := []int{0}
		if HasClients(wl) {
			counts = clients
		}
		for _, mech := range both.Mechanisms {
			for _, size := range both.Sizes {
				for _, k := range cellKeys(mech, wl, size, counts, both.Offsets) {
					o, n := mo.CellAt(k), mn.CellAt(k)
					if o == nil && n == nil {
						continue
					}
					cc := CellChange{Key: k, Old: o, New: n}
					if o != nil && n != nil && !o.Failed() && !n.Failed() {
						cc.Figures = compareFigures(wl, o, n)
					}
					c.Cells = append(c.Cells, cc)
				}
			}
		}
	}
	return c
}

// HasClients says whether a workload's cells have a number of clients
// (server, connect).
func HasClients(workload string) bool { return workload == Server || workload == Connect }

// ByLatency reports whether a workload is compared by its round trip
// (pingpong, or an unknown workload with round trips) rather than its
// throughput, as the tables show it.
func ByLatency(workload string, cells ...*Cell) bool {
	switch workload {
	case PingPong:
		return true
	case Stream, Server, Connect:
		return false
	}
	for _, c := range cells {
		if c != nil && c.RTTP50.N > 0 {
			return true
		}
	}
	return false
}

// A comparedFigure is one figure a comparison tests: its name, its summary
// in a cell, and its value in a row.
type comparedFigure struct {
	name    string
	summary func(*Cell) Summary
	value   func(*Result) float64
}

var (
	figureP50 = comparedFigure{"p50", func(c *Cell) Summary { return c.RTTP50 },
		func(r *Result) float64 { return statOf(r.RTT, func(s *Stats) int64 { return s.P50 }) }}
	figureP99 = comparedFigure{"p99", func(c *Cell) Summary { return c.RTTP99 },
		func(r *Result) float64 { return statOf(r.RTT, func(s *Stats) int64 { return s.P99 }) }}
	figureThroughput = comparedFigure{"throughput", func(c *Cell) Summary { return c.BytesPerS },
		func(r *Result) float64 { return r.BytesPerS }}
	// The server's requests/s and connect's connections/s.
	figureRequests = comparedFigure{"requests/s", func(c *Cell) Summary { return c.MsgsPerS },
		func(r *Result) float64 { return r.MsgsPerS }}
	figureConnections = comparedFigure{"connections/s", func(c *Cell) Summary { return c.ConnectionsPerS },
		func(r *Result) float64 { return nanIfZero(r.ConnectionsPerS) }}
)

// CompareFigureNames are the figures Compare tests for a workload, in the
// order a comparison table shows them.
func CompareFigureNames(workload string, cells ...*Cell) []string {
	var names []string
	for _, f := range comparedFigures(workload, cells...) {
		names = append(names, f.name)
	}
	return names
}

func comparedFigures(workload string, cells ...*Cell) []comparedFigure {
	switch {
	case workload == Server:
		return []comparedFigure{figureRequests, figureP99}
	case workload == Connect:
		return []comparedFigure{figureConnections, figureP50}
	case ByLatency(workload, cells...):
		return []comparedFigure{figureP50, figureP99}
	}
	return []comparedFigure{figureThroughput}
}

func compareFigures(workload string, o, n *Cell) []FigureChange {
	figs := comparedFigures(workload, o, n)
	var out []FigureChange
	for _, fig := range figs {
		so, sn := figureSample(o, fig), figureSample(n, fig)
		if len(so.Values) == 0 || len(sn.Values) == 0 {
			continue // rows without the figure: nothing to test
		}
		out = append(out, FigureChange{
			Name: fig.name, Old: fig.summary(o), New: fig.summary(n),
			Test: benchmath.AssumeNothing.Compare(so, sn),
			MinP: MinUTestP(len(so.Values), len(sn.Values)),
		})
	}
	return out
}

// figureSample is the figure's value in each round of the cell that has one.
func figureSample(c *Cell, fig comparedFigure) *benchmath.Sample {
	var v []float64
	for _, r := range c.Rows {
		if x := fig.value(r); !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	return benchmath.NewSample(v, &benchmath.DefaultThresholds)
}

// MinUTestP is the smallest two-sided p-value of the Mann-Whitney U test
// for samples of n1 and n2 values: both tails of the one most extreme
// ordering out of the C(n1+n2, n1) equally likely ones. It is 0.1 for 3
// against 3 and 0.029 for 4 against 4.
func MinUTestP(n1, n2 int) float64 {
	orderings := 1.0
	for i := 1; i <= n1; i++ {
		orderings = orderings * float64(n2+i) / float64(i)
	}
	return min(1, 2/orderings)
}

// cellKeys are the keys of a mechanism, workload and size at every number
// of clients and payload offset, clients first.
func cellKeys(mech, workload string, size int, clients, offsets []int) []Key {
	var keys []Key
	for _, nc := range clients {
		for _, off := range offsets {
			keys = append(keys, Key{Mechanism: mech, Workload: workload, SizeBytes: size, Clients: nc, Offset: off})
		}
	}
	return keys
}
