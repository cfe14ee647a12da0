package chart

import (
	"fmt"
	"math"

	"github.com/ipcbench/ipcbench/internal/units"
	"github.com/ipcbench/ipcbench/results"
)

// The server workload's charts: for each message size, the server's
// requests per second against the number of clients, and the round trip's
// p50 (solid) and p99 (dashed) against the number of clients, one line per
// mechanism. The clients go on the x axis where the other charts have the
// message size.

// clientsAxes returns, for one workload and size, the mechanisms with a
// cell and the numbers of clients that some mechanism has.
func clientsAxes(m *results.Matrix, workload string, size int) (mechs []string, clients []int) {
	for _, n := range m.Clients {
		for _, mech := range m.Mechanisms {
			if clientsCell(m, mech, workload, size, n) != nil {
				clients = append(clients, n)
				break
			}
		}
	}
	for _, mech := range m.Mechanisms {
		for _, n := range clients {
			if c := clientsCell(m, mech, workload, size, n); c != nil && !c.IsSkipped() {
				mechs = append(mechs, mech)
				break
			}
		}
	}
	return mechs, clients
}

func clientsCell(m *results.Matrix, mech, workload string, size, clients int) *results.Cell {
	return m.CellAt(results.Key{Mechanism: mech, Workload: workload, SizeBytes: size, Clients: clients})
}

// serverCharts describes the server charts of every size, rate first.
func serverCharts(m *results.Matrix) []*figure {
	var out []*figure
	for _, size := range m.Sizes {
		mechs, clients := clientsAxes(m, results.Server, size)
		if len(mechs) == 0 {
			continue
		}
		if ch := serverRateChart(m, size, mechs, clients); ch != nil {
			out = append(out, ch)
		}
		if ch := serverLatencyChart(m, size, mechs, clients); ch != nil {
			out = append(out, ch)
		}
	}
	return out
}

func serverRateChart(m *results.Matrix, size int, mechs []string, clients []int) *figure {
	ch := &figure{
		name:   "server-requests-" + sizeLabel(size),
		title:  fmt.Sprintf("Requests per second vs clients (server, %s messages)", units.Size(size)),
		xLabel: "clients (processes, one server)",
		yLabel: "requests per second, thousands (all clients)",
	}
	get := func(c *results.Cell) results.Summary { return c.MsgsPerS }
	styles := assignStyles(m.Mechanisms)
	var missing []string
	bars := false
	for _, mech := range mechs {
		cell := func(n int) *results.Cell { return clientsCell(m, mech, results.Server, size, n) }
		solid, miss := segments(clients, func(n int) float64 { return medianOf(cell(n), get) }, 1e3)
		if len(solid) == 0 {
			missing = append(missing, mech+": no data")
			continue
		}
		if len(miss) > 0 {
			missing = append(missing, mech+": "+sizeList(clients, miss)+" clients")
		}
		s := series{mech: mech, style: styles[mech], solid: solid, solidBars: spreadBars(clients, cell, get, 1e3)}
		bars = bars || len(s.solidBars) > 0
		ch.series = append(ch.series, s)
	}
	if len(ch.series) == 0 {
		return nil
	}
	head := []string{clientsRoundsText(m, mechs, clients, size, get)}
	if bars {
		head = append(head, barsNote)
	}
	ch.notes = chartNotes(head, missing)
	ch.finishY()
	ch.sizeAxis(clients)
	return ch
}

func serverLatencyChart(m *results.Matrix, size int, mechs []string, clients []int) *figure {
	p50 := func(c *results.Cell) results.Summary { return c.RTTP50 }
	p99 := func(c *results.Cell) results.Summary { return c.RTTP99 }
	lo := math.Inf(1)
	for _, mech := range mechs {
		for _, n := range clients {
			for _, get := range []func(*results.Cell) results.Summary{p50, p99} {
				if v := medianOf(clientsCell(m, mech, results.Server, size, n), get); valid(v) {
					lo = min(lo, v)
				}
			}
		}
	}
	unit, scale := durationUnit(lo)
	ch := &figure{
		name:      "server-latency-" + sizeLabel(size),
		title:     fmt.Sprintf("Round-trip time vs clients (server, %s messages)", units.Size(size)),
		xLabel:    "clients (processes, one server)",
		yLabel:    "round-trip time (" + unit + "), over all clients",
		logY:      true,
		dashed:    true,
		solidKey:  "p50",
		dashedKey: "p99",
	}
	styles := assignStyles(m.Mechanisms)
	var missing []string
	bars := false
	for _, mech := range mechs {
		cell := func(n int) *results.Cell { return clientsCell(m, mech, results.Server, size, n) }
		solid, miss := segments(clients, func(n int) float64 { return medianOf(cell(n), p50) }, scale)
		dashed, _ := segments(clients, func(n int) float64 { return medianOf(cell(n), p99) }, scale)
		if len(solid) == 0 && len(dashed) == 0 {
			missing = append(missing, mech+": no data")
			continue
		}
		if len(miss) > 0 {
			missing = append(missing, mech+": "+sizeList(clients, miss)+" clients")
		}
		s := series{mech: mech, style: styles[mech], solid: solid, dashed: dashed,
			solidBars:  spreadBars(clients, cell, p50, scale),
			dashedBars: spreadBars(clients, cell, p99, scale),
		}
		bars = bars || len(s.solidBars) > 0 || len(s.dashedBars) > 0
		ch.series = append(ch.series, s)
	}
	if len(ch.series) == 0 {
		return nil
	}
	head := []string{clientsRoundsText(m, mechs, clients, size, p50)}
	if bars {
		head = append(head, barsNote)
	}
	ch.notes = chartNotes(head, missing)
	ch.finishY()
	ch.sizeAxis(clients)
	return ch
}

// clientsRoundsText describes how many rounds each point is the median of.
func clientsRoundsText(m *results.Matrix, mechs []string, clients []int, size int, get func(*results.Cell) results.Summary) string {
	lo, hi := 0, 0
	for _, mech := range mechs {
		for _, n := range clients {
			c := clientsCell(m, mech, results.Server, size, n)
			if c == nil || c.Failed() || get(c).N == 0 {
				continue
			}
			k := get(c).N
			if lo == 0 || k < lo {
				lo = k
			}
			hi = max(hi, k)
		}
	}
	switch {
	case hi == 0:
		return ""
	case hi == 1:
		return "points: 1 round each"
	case lo == hi:
		return fmt.Sprintf("points: median of %d rounds", hi)
	}
	return fmt.Sprintf("points: median of %d to %d rounds", lo, hi)
}
