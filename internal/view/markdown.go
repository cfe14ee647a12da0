package view

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ipcbench/ipcbench/results"
	"github.com/ipcbench/ipcbench/verdict"
)

// WriteMarkdown writes f as a results.md: a short header saying what was
// measured where and how, then the same tables as WriteTable in GitHub
// Markdown, each followed by its notes as a bullet list.
//
// The tables are built here rather than with tablewriter's Markdown renderer
// so that every cell is escaped and the layout stays byte-for-byte stable.
func WriteMarkdown(w io.Writer, f *results.File) error {
	v := buildLayout(f)
	ew := &errWriter{w: w}
	ew.printf("# ipcbench results\n\n")
	ew.printf("%s\n\n", "Two processes on one machine exchange messages through each IPC mechanism. "+
		"`pingpong` measures the round-trip time of a message and its same-size echo; "+
		"`stream` measures one-way throughput."+clientsIntro(f, "`"))
	if sum := verdict.Summarize(f); sum != nil {
		ew.printf("## Verdicts\n\n%s\n\n", mdEscape(sum.Intro))
		for _, line := range sum.Sentences {
			ew.printf("- %s\n", mdEscape(line))
		}
		if len(sum.Sentences) > 0 {
			ew.printf("\n")
		}
		if sum.Rounds != "" {
			ew.printf("%s\n\n", mdEscape(sum.Rounds))
		}
		ew.printf("## The run\n\n")
	}
	for _, line := range metaLines(&f.Meta, v.Rounds) {
		ew.printf("- %s\n", line)
	}
	if v.Incomplete {
		ew.printf("\n**Incomplete run:** it was interrupted before every cell ran; a cell it never reached shows -.\n")
	}
	if len(v.Tables) == 0 {
		ew.printf("\nNo results.\n")
	}
	writeMarkdownTables(ew, v.Tables)
	return ew.err
}

// writeMarkdownTables writes each table as a section: its title as a
// heading, the table, and its notes as a bullet list. WriteMarkdown and the
// comparison reporter share it.
func writeMarkdownTables(ew *errWriter, tables []viewTable) {
	for _, t := range tables {
		ew.printf("\n## %s\n\n", mdEscape(t.Title))
		writeMarkdownTable(ew, &t)
		if len(t.Notes) > 0 {
			ew.printf("\n")
		}
		for _, n := range t.Notes {
			if n.Marker != "" {
				ew.printf("- %s %s\n", mdEscape(n.Marker), mdEscape(n.Text))
			} else {
				ew.printf("- %s\n", mdEscape(n.Text))
			}
		}
	}
}

// metaLines are the header's facts, each a Markdown bullet's text.
func metaLines(m *results.Meta, rounds int) []string {
	var lines []string
	for _, f := range metaFacts(m, rounds) {
		text := mdEscape(f.Text)
		if f.Code {
			text = mdCode(f.Text)
		}
		lines = append(lines, f.Label+": "+text)
	}
	return lines
}

// metaFact is one line of what a report says about the machine and the
// run, as plain text: results.md and report.html each escape it their own
// way, so both always state the same facts.
type metaFact struct {
	Label string
	Text  string
	Code  bool // a command line, shown as code
}

// metaFacts are the facts a report starts with; a fact the file lacks is
// left out rather than shown empty.
func metaFacts(m *results.Meta, rounds int) []metaFact {
	var facts []metaFact
	if m.Command != "" {
		facts = append(facts, metaFact{Label: "Command", Text: m.Command, Code: true})
	}
	var machine []string
	if m.Host != "" {
		machine = append(machine, "host "+m.Host)
	}
	if m.Kernel != "" {
		machine = append(machine, "kernel "+m.Kernel)
	}
	if m.CPUModel != "" {
		cpu := "CPU " + m.CPUModel
		if m.NCPU > 0 {
			cpu += fmt.Sprintf(" (%d CPUs)", m.NCPU)
		}
		machine = append(machine, cpu)
	} else if m.NCPU > 0 {
		machine = append(machine, fmt.Sprintf("%d CPUs", m.NCPU))
	}
	if c := m.CPU; c != nil {
		machine = append(machine, fmt.Sprintf("%s family %d model %d, copy flags %s", c.Vendor, c.Family, c.Model, cpuCopyFlags(c)))
	}
	if m.Hypervisor != "" {
		machine = append(machine, "hypervisor "+m.Hypervisor)
	}
	if s := cpuIdleText(m.CPUIdle); s != "" {
		machine = append(machine, "cpuidle "+s)
	}
	if m.THP != "" {
		machine = append(machine, "transparent huge pages "+m.THP)
	}
	if len(machine) > 0 {
		facts = append(facts, metaFact{Label: "Machine", Text: strings.Join(machine, ", ")})
	}

	var setup []string
	if m.IO != "" {
		setup = append(setup, "io="+m.IO)
	}
	if len(m.CPUs) > 0 {
		cpus := make([]string, len(m.CPUs))
		for i, c := range m.CPUs {
			cpus[i] = strconv.Itoa(c)
		}
		setup = append(setup, "pinned to CPUs "+strings.Join(cpus, ",")+" (driver, peer)")
	} else {
		setup = append(setup, "not pinned")
	}
	switch {
	case len(m.Offsets) == 1 && m.Offsets[0] == 0:
		setup = append(setup, "payload page-aligned")
	case len(m.Offsets) > 0:
		setup = append(setup, "payload offsets "+ints(m.Offsets)+" B past a page")
	}
	if m.GoVersion != "" {
		setup = append(setup, m.GoVersion)
	}
	if m.GOMAXPROCS > 0 {
		setup = append(setup, fmt.Sprintf("GOMAXPROCS=%d", m.GOMAXPROCS))
	}
	facts = append(facts, metaFact{Label: "Setup", Text: strings.Join(setup, ", ")})

	var each []string
	switch {
	case m.DurationNS > 0:
		each = append(each, time.Duration(m.DurationNS).String()+" per cell")
	case m.Count > 0:
		each = append(each, strconv.FormatInt(m.Count, 10)+" messages per cell")
	}
	if m.WarmupNS > 0 {
		each = append(each, "after "+time.Duration(m.WarmupNS).String()+" of warm-up")
	}
	if a := m.RoundsAuto; a != nil {
		r := fmt.Sprintf("adaptive rounds in shuffled order, %d for every cell and up to %d for those still unresolved, within %s",
			a.Min, a.Max, time.Duration(a.BudgetNS))
		if m.Seed != 0 {
			r += fmt.Sprintf(" (seed %d)", m.Seed)
		}
		each = append(each, r)
	} else if rounds > 1 {
		r := strconv.Itoa(rounds) + " rounds in shuffled order"
		if m.Seed != 0 {
			r += fmt.Sprintf(" (seed %d)", m.Seed)
		}
		each = append(each, r)
	}
	if m.Pairs > 1 {
		each = append(each, fmt.Sprintf("%d driver/peer pairs at once", m.Pairs))
	}
	if len(each) > 0 {
		facts = append(facts, metaFact{Label: "Measured", Text: strings.Join(each, ", ")})
	}

	if len(m.Limits) > 0 {
		keys := make([]string, 0, len(m.Limits))
		for k := range m.Limits {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			keys[i] = k + "=" + strconv.FormatInt(m.Limits[k], 10)
		}
		facts = append(facts, metaFact{Label: "Limits", Text: strings.Join(keys, ", ")})
	}

	var when []string
	if !m.Started.IsZero() {
		when = append(when, m.Started.UTC().Format(time.RFC3339))
	}
	if m.Version != "" {
		when = append(when, "ipcbench "+m.Version)
	}
	if len(when) > 0 {
		facts = append(facts, metaFact{Label: "Started", Text: strings.Join(when, ", ")})
	}
	return facts
}

// writeMarkdownTable writes a GitHub Markdown table, columns padded so the
// source reads as a table too: labels (sizes, names) left-aligned, figures
// right-aligned.
func writeMarkdownTable(ew *errWriter, t *viewTable) {
	rows := make([][]string, 0, len(t.Rows)+1)
	rows = append(rows, slices.Clone(t.Header))
	for _, r := range t.Rows {
		row := make([]string, len(r))
		for i, c := range r {
			row[i] = c.String()
		}
		rows = append(rows, row)
	}
	widths := make([]int, len(t.Header))
	for r := range rows {
		for i := range rows[r] {
			rows[r][i] = mdEscape(rows[r][i])
			widths[i] = max(widths[i], utf8.RuneCountInString(rows[r][i]), 3)
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		b.WriteString("|")
		for i, c := range cells {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if i < t.labels() {
				b.WriteString(" " + c + pad + " |")
			} else {
				b.WriteString(" " + pad + c + " |")
			}
		}
		ew.printf("%s\n", b.String())
	}
	line(rows[0])
	seps := make([]string, len(widths))
	for i, wd := range widths {
		if i < t.labels() {
			seps[i] = ":" + strings.Repeat("-", wd-1)
		} else {
			seps[i] = strings.Repeat("-", wd-1) + ":"
		}
	}
	line(seps)
	for _, r := range rows[1:] {
		line(r)
	}
}

// mdEscape backslash-escapes the characters that would change meaning in
// Markdown text or break a table row.
func mdEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '`', '*', '_', '[', ']', '<', '>', '|', '~', '#':
			b.WriteByte('\\')
		case '\n', '\r':
			r = ' '
		}
		b.WriteRune(r)
	}
	return b.String()
}

// mdCode writes s as a code span, with a fence of backticks longer than any
// run inside it.
func mdCode(s string) string {
	s = strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}
