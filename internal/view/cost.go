package view

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ipcbench/ipcbench/internal/units"
	"github.com/ipcbench/ipcbench/results"
)

// costTable lays out what a message cost, for one closed-loop workload:
// both sides' CPU time, their system calls and how busy each side was,
// per mechanism and size. It is nil when no cell of the workload has cost
// figures (files from before they were measured, remote runs).
func buildCostTable(m *results.Matrix, meta *results.Meta, workload string, rounds int) *viewTable {
	per := "message"
	if workload == results.PingPong {
		per = "round trip"
	}
	t := &viewTable{Workload: workload,
		Title: fmt.Sprintf("CPU per %s (%s): driver + peer CPU time · syscalls driver/peer · CPU per wall time", per, workload)}
	if extra := titleExtras(meta, rounds); extra != "" {
		t.Title += ", " + extra
	}
	var mechs []string
	for _, mech := range m.Mechanisms {
		for _, size := range m.Sizes {
			if c := m.Cell(mech, workload, size); c != nil && hasCost(c) {
				mechs = append(mechs, mech)
				break
			}
		}
	}
	if len(mechs) == 0 {
		return nil
	}
	t.Header = append([]string{"size"}, mechs...)
	var spinning []string
	for _, size := range m.Sizes {
		row := []viewCell{{Text: units.Size(size)}}
		any := false
		for _, mech := range mechs {
			c := m.Cell(mech, workload, size)
			if c == nil || !hasCost(c) {
				row = append(row, viewCell{Text: "-"})
				continue
			}
			any = true
			row = append(row, viewCell{Text: costText(c)})
			if c.DriverCPUPerWall.Median > 0.9 || c.PeerCPUPerWall.Median > 0.9 {
				spinning = append(spinning, mech+" "+units.Size(size))
			}
		}
		if any {
			t.Rows = append(t.Rows, row)
		}
	}
	scope := "each side's measuring thread (getrusage RUSAGE_THREAD, /proc/thread-self/schedstat)"
	if meta.IO == "go" {
		scope = "each side's whole process, runtime included (getrusage RUSAGE_SELF): the poller's work moves between threads"
	}
	t.Notes = append(t.Notes, viewNote{Text: "counted over the measured window only, of " + scope +
		"; syscalls are those the mechanism's Conn made (\"?\" where it cannot see them: through the runtime poller)"})
	if len(spinning) > 0 {
		t.Notes = append(t.Notes, viewNote{Text: "a side that never sleeps (CPU per wall time above 0.9, it keeps a CPU busy while it waits): " + strings.Join(spinning, ", ")})
	}
	return t
}

// hasCost reports whether a cell has cost figures.
func hasCost(c *results.Cell) bool { return c.DriverCPU.N > 0 || c.PeerCPU.N > 0 }

// costText is a cost cell: "5.1 + 4.8 µs · 2/2 · 0.12/0.11".
func costText(c *results.Cell) string {
	cpu := units.Duration(c.DriverCPU.Median) + " + " + units.Duration(c.PeerCPU.Median)
	if c.PeerCPU.N == 0 {
		cpu = units.Duration(c.DriverCPU.Median) + " + ?"
	}
	return cpu + " · " + callsText(c.DriverSyscalls) + "/" + callsText(c.PeerSyscalls) +
		" · " + ratioText(c.DriverCPUPerWall) + "/" + ratioText(c.PeerCPUPerWall)
}

func callsText(s results.Summary) string {
	if s.N == 0 {
		return "?"
	}
	return strings.TrimSuffix(strconv.FormatFloat(s.Median, 'f', 1, 64), ".0")
}

func ratioText(s results.Summary) string {
	if s.N == 0 {
		return "?"
	}
	return strconv.FormatFloat(s.Median, 'f', 2, 64)
}

// buildLoadTable lays out the open-loop cells (-rate): for each size and
// offered load, each mechanism's p50 / p99 round trip from the intended
// send time, and the share of the load it achieved. Nil when the file has
// no open-loop cells.
func buildLoadTable(m *results.Matrix, meta *results.Meta, rounds int) *viewTable {
	rates := m.Rates()
	if len(rates) == 0 {
		return nil
	}
	t := &viewTable{Workload: results.PingPong, Labels: 2,
		Title: "Round trip under load (open-loop pingpong, -rate): p50 / p99 from each message's intended send time (corrected for coordinated omission)"}
	if extra := titleExtras(meta, rounds); extra != "" {
		t.Title += ", " + extra
	}
	var mechs []string
	for _, mech := range m.Mechanisms {
		for _, size := range m.Sizes {
			if m.CellAt(results.Key{Mechanism: mech, Workload: results.PingPong, SizeBytes: size, Rate: rates[0]}) != nil ||
				len(rates) > 1 && m.CellAt(results.Key{Mechanism: mech, Workload: results.PingPong, SizeBytes: size, Rate: rates[len(rates)-1]}) != nil {
				mechs = append(mechs, mech)
				break
			}
		}
	}
	t.Header = append([]string{"size", "offered"}, mechs...)
	var short []string
	for _, size := range m.Sizes {
		for _, rate := range rates {
			row := []viewCell{{Text: units.Size(size)}, {Text: rate}}
			any := false
			for _, mech := range mechs {
				c := m.CellAt(results.Key{Mechanism: mech, Workload: results.PingPong, SizeBytes: size, Rate: rate})
				switch {
				case c == nil:
					row = append(row, viewCell{Text: "-"})
					continue
				case c.Failed():
					row = append(row, viewCell{Text: "error", Marks: markFailed})
					any = true
					continue
				}
				any = true
				text := units.DurationPair(c.RTTCorrectedP50.Median, c.RTTCorrectedP99.Median, " / ")
				var marks string
				if c.Rate.N > 0 && c.MsgsPerS.Median < 0.95*c.Rate.Median {
					text += ", " + formatPercent(c.MsgsPerS.Median/c.Rate.Median) + " achieved"
					marks = markFailed
					short = append(short, fmt.Sprintf("%s %s at %s: offered %s/s, achieved %s/s", mech, units.Size(size), rate,
						units.Count(c.Rate.Median), units.Count(c.MsgsPerS.Median)))
				}
				row = append(row, viewCell{Text: text, Marks: marks})
			}
			if any {
				t.Rows = append(t.Rows, row)
			}
		}
	}
	t.Notes = append(t.Notes, viewNote{Text: "from the actual send time the same round trips look shorter: a sender held up (by a slow echo, a full buffer, the scheduler) sends late, and a closed loop never measures the wait; results.json has both (rtt_ns, rtt_corrected_ns)"})
	if len(short) > 0 {
		t.Notes = append(t.Notes, viewNote{Marker: markFailed, Text: "the load was not achieved, so the queue grew and the latencies with it: " + strings.Join(short, "; ")})
	}
	return t
}

// titleExtras are the run facts a table title ends with: io mode,
// placement, pairs, rounds.
func titleExtras(meta *results.Meta, rounds int) string {
	extra := runSetup(meta)
	if meta.Pairs > 1 {
		extra = append(extra, strconv.Itoa(meta.Pairs)+" pairs")
	}
	if rounds > 1 {
		extra = append(extra, "median of "+strconv.Itoa(rounds)+" rounds")
	}
	return strings.Join(extra, ", ")
}
