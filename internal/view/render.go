package view

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ipcbench/ipcbench/internal/units"
	"github.com/ipcbench/ipcbench/results"
)

// Markers flag a table cell whose figure needs a second look; a note below
// the table, starting with the same marker, says why.
const (
	markSplit  = "*" // each message went as several kernel messages (Cell.Pieces > 1)
	markFailed = "!" // the cell, or some of its rounds, could not run
	markNoisy  = "~" // the rounds disagree by more than NoisyThreshold
	markLost   = "#" // messages were lost (a lossy mechanism): the figures count delivered ones
)

// MostLost is the share of lost messages above which a cell's note says the
// mechanism lost most of what was sent, so that a dropping stream is never
// read as a fast one.
const MostLost = 0.5

// layout is a results file laid out for reading: one table per workload, with
// the mechanisms side by side. The terminal and Markdown reporters both draw
// it, so they always say the same thing.
type layout struct {
	Rounds     int // distinct rounds in the file
	Incomplete bool
	Tables     []viewTable
}

// viewTable is one workload's table.
type viewTable struct {
	Workload string
	Title    string
	Header   []string     // "size", then the mechanisms
	Rows     [][]viewCell // one per size; first column the size
	Notes    []viewNote
	// Labels is how many leading columns name the row rather than hold
	// figures (they align left); zero means the first one.
	Labels int
}

// labels is how many leading columns are labels: at least one.
func (t *viewTable) labels() int { return max(t.Labels, 1) }

// viewCell is a cell's text and its markers, kept apart so that the terminal
// table can line the figures up whether or not a cell is marked.
type viewCell struct {
	Text  string
	Marks string
}

// String is the cell as Markdown shows it: the figures, then any markers.
func (c viewCell) String() string {
	if c.Marks == "" {
		return c.Text
	}
	return c.Text + " " + c.Marks
}

// viewNote is one line below a table: a marker (or none, for a plain note)
// and its text.
type viewNote struct {
	Marker string
	Text   string
}

// buildLayout aggregates f and lays it out.
func buildLayout(f *results.File) *layout {
	m := results.Aggregate(f)
	v := &layout{Rounds: f.Rounds(), Incomplete: f.Meta.Incomplete}
	for _, wl := range m.Workloads {
		if hasClients(wl) {
			v.Tables = append(v.Tables, buildClientsTable(m, &f.Meta, wl, v.Rounds))
			continue
		}
		// One table per payload offset, each titled with its offset.
		for _, off := range m.Offsets {
			if t, ok := buildTable(m.At(off), &f.Meta, wl, v.Rounds); ok {
				v.Tables = append(v.Tables, t)
			}
		}
		if wl == results.Stream && len(m.Offsets) > 1 {
			v.Tables = append(v.Tables, offsetTable(m, &f.Meta, wl, v.Rounds))
		}
	}
	if t := buildLoadTable(m, &f.Meta, v.Rounds); t != nil {
		v.Tables = append(v.Tables, *t)
	}
	for _, wl := range []string{results.PingPong, results.Stream} {
		if t := buildCostTable(m, &f.Meta, wl, v.Rounds); t != nil {
			v.Tables = append(v.Tables, *t)
		}
	}
	return v
}

// buildTable lays out one workload at the matrix's offset; ok is false when
// the workload has no cell there.
func buildTable(m *results.Matrix, meta *results.Meta, workload string, rounds int) (t viewTable, ok bool) {
	t = viewTable{Workload: workload, Title: tableTitle(meta, workload, rounds, m.Offset)}

	// Only the mechanisms and sizes this workload has.
	var mechs []string
	for _, mech := range m.Mechanisms {
		for _, size := range m.Sizes {
			if m.Cell(mech, workload, size) != nil {
				mechs = append(mechs, mech)
				break
			}
		}
	}
	var sizes []int
	for _, size := range m.Sizes {
		for _, mech := range mechs {
			if m.Cell(mech, workload, size) != nil {
				sizes = append(sizes, size)
				break
			}
		}
	}

	t.Header = append([]string{"size"}, mechs...)
	for _, size := range sizes {
		row := []viewCell{{Text: units.Size(size)}}
		for _, mech := range mechs {
			row = append(row, viewCellOf(m.Cell(mech, workload, size)))
		}
		t.Rows = append(t.Rows, row)
	}
	t.Notes = tableNotes(m, workload, mechs, sizes)
	if n := floorNote(m, meta, workload, mechs, sizes); n != "" {
		t.Notes = append(t.Notes, viewNote{Text: n})
	}
	if workload == results.Stream {
		var limits []string
		for _, size := range sizes {
			if v := meta.Floors.Memcpy(size, m.Offset); v > 0 {
				limits = append(limits, units.Size(size)+" "+units.MBps(v/2))
			}
		}
		if len(limits) > 0 {
			t.Notes = append(t.Notes, viewNote{Text: "two-copy limit (half the memcpy bandwidth measured at the start of the run; " +
				"copy_limit_fraction in results.json): " + strings.Join(limits, ", ")})
		}
	}
	return t, len(sizes) > 0
}

// offsetTable is the stream's throughput against payload offset: one row
// per size and offset, the mechanisms side by side, so that what placement
// does to each mechanism reads down a column.
func offsetTable(m *results.Matrix, meta *results.Meta, workload string, rounds int) viewTable {
	t := viewTable{Workload: workload, Labels: 2,
		Title: titleWith("Throughput against payload offset (stream): payload one way, MB/s (10^6 B/s)", meta, workload, rounds, 0)}
	var mechs []string
	for _, mech := range m.Mechanisms {
		for _, size := range m.Sizes {
			for _, off := range m.Offsets {
				if m.At(off).Cell(mech, workload, size) != nil && !slices.Contains(mechs, mech) {
					mechs = append(mechs, mech)
				}
			}
		}
	}
	t.Header = append([]string{"size", "offset"}, mechs...)
	for _, size := range m.Sizes {
		for _, off := range m.Offsets {
			row := []viewCell{{Text: units.Size(size)}, {Text: offsetText(off)}}
			any := false
			for _, mech := range mechs {
				c := m.At(off).Cell(mech, workload, size)
				any = any || c != nil
				vc := viewCellOf(c)
				if c != nil && !c.Failed() {
					vc.Text = units.MBps(c.BytesPerS.Median)
				}
				row = append(row, vc)
			}
			if any {
				t.Rows = append(t.Rows, row)
			}
		}
	}
	t.Notes = []viewNote{{Text: "offset: where each message's payload starts past a page boundary, in both sides' buffers (-offset); the tables above have the notes of each cell"}}
	return t
}

// floorNote reads a pingpong table against the cache-line floor of the run
// (meta.floors.cacheline_rtt_ns): what it is, and how many times it each
// mechanism's p50 is at the smallest size, where a round trip comes closest
// to it. It is "" when the run has no floor.
func floorNote(m *results.Matrix, meta *results.Meta, workload string, mechs []string, sizes []int) string {
	if workload != results.PingPong || meta.Floors == nil || meta.Floors.CacheLineRTTNS <= 0 || len(sizes) == 0 {
		return ""
	}
	floor := meta.Floors.CacheLineRTTNS
	text := "floor: one cache line's round trip between the two sides' CPUs takes " + units.Duration(floor)
	var times []string
	for _, mech := range mechs {
		c := m.Cell(mech, workload, sizes[0])
		if c == nil || c.Failed() || c.RTTP50.N == 0 {
			continue
		}
		times = append(times, fmt.Sprintf("%s %s", mech, timesText(c.RTTP50.Median/floor)))
	}
	if len(times) > 0 {
		text += "; p50 at " + units.Size(sizes[0]) + " in floors: " + strings.Join(times, ", ")
	}
	return text
}

// timesText writes a ratio as "2.7x", "41x", "1200x".
func timesText(r float64) string {
	if r < 10 {
		return strconv.FormatFloat(r, 'f', 1, 64) + "x"
	}
	return strconv.FormatFloat(r, 'f', 0, 64) + "x"
}

func tableTitle(meta *results.Meta, workload string, rounds int, offset int) string {
	var title string
	switch workload {
	case results.PingPong:
		title = "Round-trip time (pingpong): p50 / p99"
	case results.Stream:
		title = "Throughput (stream): payload one way, MB/s (10^6 B/s) and messages/s"
	default:
		title = "Workload " + workload
	}
	return titleWith(title, meta, workload, rounds, offset)
}

// titleWith is a table's title followed by what shapes its figures: io
// mode, placement, payload offset, pairs, rounds.
func titleWith(title string, meta *results.Meta, workload string, rounds int, offset int) string {
	extra := runSetup(meta)
	if offset != 0 {
		extra = append(extra, "payload "+strconv.Itoa(offset)+" B past a page")
	}
	if meta.Pairs > 1 {
		if workload == results.Stream {
			extra = append(extra, strconv.Itoa(meta.Pairs)+" pairs, summed")
		} else {
			extra = append(extra, strconv.Itoa(meta.Pairs)+" pairs, round trip per pair")
		}
	}
	if rounds > 1 {
		extra = append(extra, "median of "+strconv.Itoa(rounds)+" rounds")
	}
	if len(extra) > 0 {
		title += ", " + strings.Join(extra, ", ")
	}
	return title
}

// viewCellOf is what a table shows for a cell: its figures (the median of
// the rounds) and its markers, "error" when no round ran, "-" when it is
// absent.
func viewCellOf(c *results.Cell) viewCell {
	if c == nil {
		return viewCell{Text: "-"}
	}
	if c.Failed() {
		return viewCell{Text: "error", Marks: cellMarkers(c)}
	}
	return viewCell{Text: cellFigures(c), Marks: cellMarkers(c)}
}

func cellFigures(c *results.Cell) string {
	if c.Workload == results.PingPong || (c.Workload != results.Stream && c.RTTP50.N > 0) {
		if c.RTTP50.N == 0 {
			return "n/a"
		}
		return units.DurationPair(c.RTTP50.Median, c.RTTP99.Median, " / ") + lostText(c)
	}
	if c.BytesPerS.N == 0 && c.MsgsPerS.N == 0 {
		return "n/a"
	}
	return units.MBps(c.BytesPerS.Median) + ", " + units.Count(c.MsgsPerS.Median) + " msg/s" + lostText(c)
}

// lostText is what a cell that lost messages adds to its figures: the
// median share lost, so that the delivered rate is read with it.
func lostText(c *results.Cell) string {
	if c.Lost == 0 {
		return ""
	}
	return ", " + formatPercent(c.LostFraction.Median) + " lost"
}

// formatPercent writes a share as a percentage, with a decimal below 10%
// and never rounded to 0% or 100% when it is neither.
func formatPercent(f float64) string {
	p := 100 * f
	switch {
	case p > 0 && p < 0.1:
		return "<0.1%"
	case p < 10:
		return strconv.FormatFloat(p, 'f', 1, 64) + "%"
	case p > 99 && p < 100:
		return ">99%"
	}
	return strconv.FormatFloat(p, 'f', 0, 64) + "%"
}

// lostNote says how many messages a lossy cell lost and had reordered.
func lostNote(name string, c *results.Cell) string {
	var sent int64
	for _, r := range c.Rows {
		sent += r.Messages
	}
	text := fmt.Sprintf("%s: %d of %d messages lost (%s, median of rounds), %d reordered; figures count delivered messages only",
		name, c.Lost, sent, formatPercent(c.LostFraction.Median), c.Reordered)
	if c.LostFraction.Median > MostLost {
		text += "; it lost most of what was sent: a dropping mechanism, not a fast one"
	}
	return text
}

func cellMarkers(c *results.Cell) string {
	var marks string
	if c.Pieces > 1 {
		marks += markSplit
	}
	if len(c.Errors) > 0 {
		marks += markFailed
	}
	if !c.Failed() && c.Noisy() {
		marks += markNoisy
	}
	if c.Lost > 0 || c.Reordered > 0 {
		marks += markLost
	}
	return marks
}

// tableNotes lists, in this order: split cells, failed cells, noisy cells,
// cells that lost messages, other per-cell notes, then the notes a mechanism has for every size (said
// once rather than on every row).
func tableNotes(m *results.Matrix, workload string, mechs []string, sizes []int) []viewNote {
	var split, failed, noisy, lost, cellNotes, mechNotes []viewNote
	for _, mech := range mechs {
		common := commonNote(m, mech, workload, sizes)
		if common != "" {
			mechNotes = append(mechNotes, viewNote{Text: mech + ": " + common})
		}
		for _, size := range sizes {
			c := m.Cell(mech, workload, size)
			if c == nil {
				continue
			}
			name := mech + " " + units.Size(size)
			note := c.Note
			if note == common {
				note = ""
			}
			if c.Pieces > 1 {
				// The mechanism's own note says how it split, when it has one.
				text := fmt.Sprintf("%s: split, each message sent as %d kernel messages", name, c.Pieces)
				if note != "" {
					text = name + ": " + note
				}
				split = append(split, viewNote{markSplit, text})
				note = ""
			}
			if len(c.Errors) > 0 {
				text := name + ": failed: " + strings.Join(c.Errors, "; ")
				if !c.Failed() {
					text = fmt.Sprintf("%s: failed in some rounds, figures from %d: %s",
						name, len(c.Rows), strings.Join(c.Errors, "; "))
				}
				failed = append(failed, viewNote{markFailed, text})
			}
			if !c.Failed() && c.Noisy() {
				noisy = append(noisy, viewNote{markNoisy, noisyText(name, c)})
			}
			if c.Lost > 0 || c.Reordered > 0 {
				lost = append(lost, viewNote{markLost, lostNote(name, c)})
			}
			if note != "" {
				cellNotes = append(cellNotes, viewNote{Text: name + ": " + note})
			}
		}
	}
	return slices.Concat(split, failed, noisy, lost, cellNotes, mechNotes)
}

// commonNote is the note every cell of the mechanism that ran shares, or ""
// when they differ. A failed cell may lack it without breaking the rule.
func commonNote(m *results.Matrix, mech, workload string, sizes []int) string {
	common, ran := "", 0
	for _, size := range sizes {
		c := m.Cell(mech, workload, size)
		if c == nil || c.Failed() {
			continue
		}
		if ran == 0 {
			common = c.Note
		} else if c.Note != common {
			return ""
		}
		ran++
	}
	if ran == 0 {
		return ""
	}
	for _, size := range sizes {
		if c := m.Cell(mech, workload, size); c != nil && c.Failed() && c.Note != "" && c.Note != common {
			return ""
		}
	}
	return common
}

func noisyText(name string, c *results.Cell) string {
	if c.Workload == results.PingPong || (c.Workload != results.Stream && c.RTTP50.N > 0) {
		s := c.RTTP50
		return fmt.Sprintf("%s: noisy, p50 round trip ranges %s across %d rounds",
			name, units.DurationPair(s.Min, s.Max, "–"), s.N)
	}
	s := c.BytesPerS
	lo, hi := units.MBps(s.Min), units.MBps(s.Max)
	return fmt.Sprintf("%s: noisy, throughput ranges %s–%s across %d rounds",
		name, strings.TrimSuffix(lo, " MB/s"), hi, s.N)
}

// runSetup is what every table title starts its facts with: the io mode
// and where the two sides ran, which change every figure.
func runSetup(meta *results.Meta) []string {
	var extra []string
	if meta.IO != "" {
		extra = append(extra, "io="+meta.IO)
	}
	switch {
	case len(meta.CPUs) != 2:
		extra = append(extra, "not pinned")
	case meta.CPUs[0] == meta.CPUs[1]:
		extra = append(extra, "both sides on CPU "+strconv.Itoa(meta.CPUs[0]))
	default:
		extra = append(extra, fmt.Sprintf("driver on CPU %d, peer on CPU %d", meta.CPUs[0], meta.CPUs[1]))
	}
	return extra
}
