package view

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/perf/benchmath"

	"github.com/ipcbench/ipcbench/internal/units"
	"github.com/ipcbench/ipcbench/results"
)

// CompareFormats are the names RenderComparison accepts.
var CompareFormats = []string{"table", "markdown", "json", "csv"}

// compareReporters maps each of CompareFormats to the function that writes
// it, as reporters does for a single file.
var compareReporters = map[string]func(io.Writer, *results.Comparison) error{
	"table":    WriteComparisonTable,
	"markdown": WriteComparisonMarkdown,
	"json":     WriteComparisonJSON,
	"csv":      WriteComparisonCSV,
}

// RenderComparison writes c to w in the named format, "table" or
// "markdown". An unknown name is an error that lists the formats there are.
func RenderComparison(w io.Writer, format string, c *results.Comparison) error {
	rep, ok := compareReporters[format]
	if !ok {
		return fmt.Errorf("unknown format %q: the formats are %s", format, strings.Join(CompareFormats, ", "))
	}
	if c == nil {
		return fmt.Errorf("no comparison to write as %s", format)
	}
	return rep(w, c)
}

// compareView lays a comparison out as tables, one per workload, with an
// introduction: the two files, how their setups differ, how to read the
// change column, and whether the rounds allow any significance at all.
type compareView struct {
	Intro  []string
	Tables []viewTable
}

func buildCompareView(c *results.Comparison) *compareView {
	v := &compareView{}
	v.Intro = append(v.Intro,
		"Old: "+compareFileText(c.OldName, &c.OldMeta, c.OldRounds),
		"New: "+compareFileText(c.NewName, &c.NewMeta, c.NewRounds))
	if diff := metaDifferences(&c.OldMeta, &c.NewMeta); len(diff) > 0 {
		v.Intro = append(v.Intro, "The runs differ in "+strings.Join(diff, "; ")+".")
	}
	alpha := benchmath.DefaultThresholds.CompareAlpha
	v.Intro = append(v.Intro, fmt.Sprintf("Change: the new median against the old, shown where a Mann-Whitney U test "+
		"across the rounds finds it significant (p < %s, as benchstat); ~ means no significant change.", strconv.FormatFloat(alpha, 'g', -1, 64)))
	if s := tooFewText(c, alpha); s != "" {
		v.Intro = append(v.Intro, s)
	}
	for _, wl := range c.Workloads {
		v.Tables = append(v.Tables, compareTable(c, wl))
	}
	return v
}

// compareFileText is "PATH, 4 rounds, started 2026-11-22T10:00:00Z".
func compareFileText(name string, m *results.Meta, rounds int) string {
	parts := []string{}
	if name != "" {
		parts = append(parts, name)
	}
	if rounds == 1 {
		parts = append(parts, "1 round")
	} else {
		parts = append(parts, strconv.Itoa(rounds)+" rounds")
	}
	if !m.Started.IsZero() {
		parts = append(parts, "started "+m.Started.UTC().Format(time.RFC3339))
	}
	return strings.Join(parts, ", ")
}

// peerOf says where a run's peer was: a local process, or an ipcbench
// serve on another host (a loopback run and a cross-host run compare).
func peerOf(m *results.Meta) string {
	if m.Remote == nil {
		return "local process"
	}
	return "ipcbench serve at " + m.Remote.Address + " (" + m.Remote.Host + ")"
}

// metaDifferences lists the facts of the setup that differ between the two
// runs ("io raw → go"): a change in them may explain a change in the
// figures. What always differs (start time, seed, command) is left out.
func metaDifferences(o, n *results.Meta) []string {
	var out []string
	add := func(name, a, b string) {
		if a != b {
			if a == "" {
				a = "(not recorded)"
			}
			if b == "" {
				b = "(not recorded)"
			}
			out = append(out, name+" "+a+" → "+b)
		}
	}
	num := func(v int64) string {
		if v == 0 {
			return ""
		}
		return strconv.FormatInt(v, 10)
	}
	dur := func(ns int64) string {
		if ns == 0 {
			return ""
		}
		return time.Duration(ns).String()
	}
	cpus := func(c []int) string {
		if len(c) == 0 {
			return "not pinned"
		}
		s := make([]string, len(c))
		for i, x := range c {
			s[i] = strconv.Itoa(x)
		}
		return strings.Join(s, ",")
	}
	add("ipcbench", o.Version, n.Version)
	add("host", o.Host, n.Host)
	add("kernel", o.Kernel, n.Kernel)
	add("CPU", o.CPUModel, n.CPUModel)
	add("CPUs online", num(int64(o.NCPU)), num(int64(n.NCPU)))
	add("Go", o.GoVersion, n.GoVersion)
	add("GOMAXPROCS", num(int64(o.GOMAXPROCS)), num(int64(n.GOMAXPROCS)))
	add("io", o.IO, n.IO)
	add("payload offsets", ints(o.Offsets), ints(n.Offsets))
	add("hypervisor", o.Hypervisor, n.Hypervisor)
	add("CPU copy flags", cpuCopyFlags(o.CPU), cpuCopyFlags(n.CPU))
	add("cpuidle", cpuIdleText(o.CPUIdle), cpuIdleText(n.CPUIdle))
	add("transparent huge pages", o.THP, n.THP)
	add("peer", peerOf(o), peerOf(n))
	add("placement", cpus(o.CPUs), cpus(n.CPUs))
	add("pairs", num(int64(max(o.Pairs, 1))), num(int64(max(n.Pairs, 1))))
	add("duration per cell", dur(o.DurationNS), dur(n.DurationNS))
	add("messages per cell", num(o.Count), num(n.Count))
	add("warm-up", dur(o.WarmupNS), dur(n.WarmupNS))
	var keys []string
	for k := range o.Limits {
		keys = append(keys, k)
	}
	for k := range n.Limits {
		if _, ok := o.Limits[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		a, aok := o.Limits[k]
		b, bok := n.Limits[k]
		if aok != bok || a != b {
			sa, sb := "", ""
			if aok {
				sa = strconv.FormatInt(a, 10)
			}
			if bok {
				sb = strconv.FormatInt(b, 10)
			}
			add(k, sa, sb)
		}
	}
	return out
}

// tooFewText says plainly when the rounds are too few for a change to be
// significant: for every cell, or for some (a round that failed leaves a
// cell fewer). It returns "" when every test could find a change.
func tooFewText(c *results.Comparison, alpha float64) string {
	type pair struct{ n1, n2 int }
	var pairs []pair
	tested, few := 0, 0
	for i := range c.Cells {
		for j := range c.Cells[i].Figures {
			fc := &c.Cells[i].Figures[j]
			tested++
			if !fc.TooFewRounds() {
				continue
			}
			few++
			if p := (pair{fc.Test.N1, fc.Test.N2}); !slices.Contains(pairs, p) {
				pairs = append(pairs, p)
			}
		}
	}
	if few == 0 {
		return ""
	}
	var smallest []string
	for _, p := range pairs {
		smallest = append(smallest, fmt.Sprintf("with %d %s against %d the smallest possible p is %.3f",
			p.n1, plural(p.n1, "round", "rounds"), p.n2, results.MinUTestP(p.n1, p.n2)))
	}
	a := strconv.FormatFloat(alpha, 'g', -1, 64)
	if few == tested {
		return fmt.Sprintf("Too few rounds for any change to be significant: %s, not below %s, so every change shows as ~ "+
			"however large. Run both with -rounds 4 or more (4 against 4 can reach p = 0.029; benchstat advises 10).",
			strings.Join(smallest, "; "), a)
	}
	return fmt.Sprintf("Too few rounds in %d of %d comparisons for a change to be significant: %s, not below %s, "+
		"so those show ~ however large the change.", few, tested, strings.Join(smallest, "; "), a)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// compareTable is one workload's cells: mechanism and size, then for each
// figure the old and new value and the change.
func compareTable(c *results.Comparison, workload string) viewTable {
	var cells []*results.CellChange
	for i := range c.Cells {
		if c.Cells[i].Workload == workload {
			cells = append(cells, &c.Cells[i])
		}
	}
	var olds, news []*results.Cell
	for _, cc := range cells {
		olds, news = append(olds, cc.Old), append(news, cc.New)
	}
	latency := results.ByLatency(workload, slices.Concat(olds, news)...)

	t := viewTable{Workload: workload, Labels: 2, Header: []string{"mechanism", "size"}}
	// An offset column when any cell is placed other than page-aligned.
	offsets := slices.ContainsFunc(cells, func(cc *results.CellChange) bool { return cc.Offset != 0 })
	if offsets {
		t.Labels, t.Header = 3, append(t.Header, "offset")
	}
	figs := []string{"throughput"}
	clients := results.HasClients(workload)
	switch {
	case clients:
		figs = results.CompareFigureNames(workload)
		t.Labels++
		t.Header = append(t.Header, "clients")
		short := map[string]string{"requests/s": "req/s", "connections/s": "conn/s", "p50": "p50", "p99": "p99"}
		for _, f := range figs {
			t.Header = append(t.Header, short[f]+" old", short[f]+" new", short[f]+" change")
		}
		t.Title = "Many clients, one server (server): requests/s, higher is better, and round trip p99, lower is better"
		if workload == results.Connect {
			t.Title = "Connection setup (connect): connections/s, higher is better, and transaction p50, lower is better"
		}
	case latency:
		t.Title = "Round-trip time (" + workload + "): p50 and p99, lower is better"
		figs = []string{"p50", "p99"}
		t.Header = append(t.Header, "p50 old", "p50 new", "p50 change", "p99 old", "p99 new", "p99 change")
	case workload == results.Stream:
		t.Title = "Throughput (stream): payload one way, MB/s (10^6 B/s) and messages/s, higher is better"
		t.Header = append(t.Header, "old", "new", "change")
	default:
		t.Title = "Workload " + workload + ": throughput, higher is better"
		t.Header = append(t.Header, "old", "new", "change")
	}

	var failed []viewNote
	for _, cc := range cells {
		row := []viewCell{{Text: cc.Mechanism}, {Text: units.Size(cc.SizeBytes)}}
		name := cc.Mechanism + " " + units.Size(cc.SizeBytes)
		if offsets {
			row = append(row, viewCell{Text: offsetText(cc.Offset)})
			name += " at offset " + strconv.Itoa(cc.Offset)
		}
		if clients {
			row = append(row, viewCell{Text: strconv.Itoa(cc.Clients)})
			name += " " + ClientsText(cc.Clients)
		}
		for _, fig := range figs {
			oldText, oldMark := compareFigureText(cc.Old, fig, latency || clients)
			newText, newMark := compareFigureText(cc.New, fig, latency || clients)
			row = append(row, viewCell{Text: oldText, Marks: oldMark}, viewCell{Text: newText, Marks: newMark},
				viewCell{Text: changeText(cc, fig)})
		}
		t.Rows = append(t.Rows, row)
		for _, side := range []struct {
			label string
			c     *results.Cell
		}{{"old", cc.Old}, {"new", cc.New}} {
			if side.c == nil || len(side.c.Errors) == 0 {
				continue
			}
			text := fmt.Sprintf("%s: %s failed: %s", name, side.label, strings.Join(side.c.Errors, "; "))
			if !side.c.Failed() {
				text = fmt.Sprintf("%s: %s failed in some rounds, figures from %d: %s",
					name, side.label, len(side.c.Rows), strings.Join(side.c.Errors, "; "))
			}
			failed = append(failed, viewNote{markFailed, text})
		}
	}
	t.Notes = failed
	return t
}

// compareFigureText is what a side shows for a figure: the median of its
// rounds, "error" (marked) when no round ran, "-" when the file lacks the
// cell; a cell that failed in some rounds is marked too.
func compareFigureText(c *results.Cell, fig string, latency bool) (text, marks string) {
	if c == nil {
		return "-", ""
	}
	if len(c.Errors) > 0 {
		marks = markFailed
	}
	if c.IsSkipped() {
		return "skipped", ""
	}
	if c.Failed() {
		return "error", marks
	}
	switch {
	case fig == "requests/s":
		return summaryText(c.MsgsPerS, func(v float64) string { return units.Count(v) + " req/s" }), marks
	case fig == "connections/s":
		return summaryText(c.ConnectionsPerS, func(v float64) string { return units.Count(v) + "/s" }), marks
	case fig == "p50" && latency:
		return summaryText(c.RTTP50, units.Duration), marks
	case fig == "p99" && latency:
		return summaryText(c.RTTP99, units.Duration), marks
	case c.BytesPerS.N == 0 && c.MsgsPerS.N == 0:
		return "n/a", marks
	}
	return units.MBps(c.BytesPerS.Median) + ", " + units.Count(c.MsgsPerS.Median) + " msg/s", marks
}

// summaryText formats a summary's median, or "n/a" when no round has it.
func summaryText(s results.Summary, format func(float64) string) string {
	if s.N == 0 {
		return "n/a"
	}
	return format(s.Median)
}

// changeText is a figure's change column: benchstat's delta and test, or
// why there is none.
func changeText(cc *results.CellChange, fig string) string {
	switch {
	case cc.Old == nil:
		return "only in new"
	case cc.New == nil:
		return "only in old"
	case cc.Old.IsSkipped() || cc.New.IsSkipped():
		return "skipped"
	case cc.Old.Failed() && cc.New.Failed():
		return "both failed"
	case cc.Old.Failed():
		return "old failed"
	case cc.New.Failed():
		return "new failed"
	}
	for i := range cc.Figures {
		if fc := &cc.Figures[i]; fc.Name == fig {
			return fc.Delta() + " (" + fc.Test.String() + ")"
		}
	}
	return "n/a"
}

// WriteComparisonTable writes c for a terminal: the introduction, then one
// table per workload with its notes.
func WriteComparisonTable(w io.Writer, c *results.Comparison) error {
	v := buildCompareView(c)
	ew := &errWriter{w: w}
	for _, line := range v.Intro {
		ew.printf("%s\n", line)
	}
	if len(v.Tables) == 0 {
		ew.printf("\nNo results in either file.\n")
		return ew.err
	}
	ew.printf("\n")
	writeTerminalTables(ew, v.Tables)
	if heading, lines := verdictChangeLines(c); heading != "" {
		ew.printf("\n%s\n%s", heading, indentAll("  ", lines))
	}
	return ew.err
}

// WriteComparisonMarkdown writes c as GitHub Markdown: a heading, the
// introduction as a list, then one section per workload.
func WriteComparisonMarkdown(w io.Writer, c *results.Comparison) error {
	v := buildCompareView(c)
	ew := &errWriter{w: w}
	ew.printf("# ipcbench comparison\n\n")
	for _, line := range v.Intro {
		ew.printf("- %s\n", mdEscape(line))
	}
	if len(v.Tables) == 0 {
		ew.printf("\nNo results in either file.\n")
	}
	writeMarkdownTables(ew, v.Tables)
	if heading, lines := verdictChangeLines(c); heading != "" {
		ew.printf("\n## %s\n\n", mdEscape(strings.TrimSuffix(heading, ":")))
		for _, l := range lines {
			ew.printf("- %s\n", mdEscape(l))
		}
	}
	return ew.err
}

// offsetText is a payload offset for a table: "0 B" (page-aligned) or "8 B".
func offsetText(off int) string { return strconv.Itoa(off) + " B" }

// ints is a list of numbers as the command line takes it, "" for none.
func ints(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

// cpuCopyFlags is the CPU's copy flags as a list, "" when not recorded.
func cpuCopyFlags(c *results.CPU) string {
	if c == nil {
		return ""
	}
	if len(c.CopyFlags) == 0 {
		return "none"
	}
	return strings.Join(c.CopyFlags, " ")
}

// cpuIdleText is "driver haltpoll, governor haltpoll", "" when not recorded.
func cpuIdleText(c *results.CPUIdle) string {
	if c == nil {
		return ""
	}
	var parts []string
	if c.Driver != "" {
		parts = append(parts, "driver "+c.Driver)
	}
	if c.Governor != "" {
		parts = append(parts, "governor "+c.Governor)
	}
	if c.FreqGovernor != "" {
		parts = append(parts, "cpufreq "+c.FreqGovernor)
	}
	return strings.Join(parts, ", ")
}
