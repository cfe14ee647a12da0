package view

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/ipcbench/ipcbench/results"
	"github.com/ipcbench/ipcbench/verdict"
)

// WriteTable writes f for a terminal: one table per workload with the
// mechanisms side by side and one row per message size, each followed by its
// notes. The output depends only on f: no colour, no terminal width.
func WriteTable(w io.Writer, f *results.File) error {
	v := buildLayout(f)
	ew := &errWriter{w: w}
	if v.Incomplete {
		ew.printf("Incomplete run: it was interrupted before every cell ran; a cell it never reached shows -.\n\n")
	}
	if len(v.Tables) == 0 {
		ew.printf("No results.\n")
	}
	writeTerminalTables(ew, v.Tables)
	if sum := verdict.Summarize(f); sum != nil {
		ew.printf("\nVerdicts: %s\n", sum.Intro)
		for _, line := range sum.Sentences {
			ew.printf("  %s\n", line)
		}
		if sum.Rounds != "" {
			ew.printf("%s\n", sum.Rounds)
		}
	}
	return ew.err
}

// writeTerminalTables writes each table under its title, a blank line
// between tables, and its notes below it, each after its marker ("-" for a
// plain note). WriteTable and the comparison reporter share it.
func writeTerminalTables(ew *errWriter, tables []viewTable) {
	for i, t := range tables {
		if i > 0 {
			ew.printf("\n")
		}
		ew.printf("%s\n", t.Title)
		if ew.err != nil {
			return
		}
		if err := renderTerminalTable(ew.w, &t); err != nil {
			ew.err = err
			return
		}
		for _, n := range t.Notes {
			marker := n.Marker
			if marker == "" {
				marker = "-"
			}
			ew.printf("%s %s\n", marker, n.Text)
		}
	}
}

func renderTerminalTable(w io.Writer, t *viewTable) error {
	// Labels (sizes, names) read left-aligned, figures right-aligned so
	// digits line up.
	aligns := make([]tw.Align, len(t.Header))
	for i := range aligns {
		aligns[i] = tw.AlignRight
		if i < t.labels() {
			aligns[i] = tw.AlignLeft
		}
	}

	table := tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Symbols: tw.NewSymbols(tw.StyleLight),
		})),
		// Keep "msgqueue" as it is: the default would print "MSGQUEUE".
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: aligns}),
		tablewriter.WithHeaderAlignmentConfig(tw.CellAlignment{PerColumn: aligns}),
		// Measure "µ" and "–" as one column whatever the locale says.
		tablewriter.WithEastAsian(tw.Off),
		// Keep the spaces that pad the markers.
		tablewriter.WithTrimSpace(tw.Off),
	)
	// Pad the markers of each column to one width, so that the figures of
	// marked and unmarked cells stay aligned on the right.
	marks := make([]int, len(t.Header))
	for _, row := range t.Rows {
		for i, c := range row {
			marks[i] = max(marks[i], utf8.RuneCountInString(c.Marks))
		}
	}
	table.Header(t.Header) // v1.1.5's Header returns nothing; errors surface in Render.
	for _, row := range t.Rows {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = c.Text
			if marks[i] > 0 {
				cells[i] += " " + c.Marks + strings.Repeat(" ", marks[i]-utf8.RuneCountInString(c.Marks))
			}
		}
		if err := table.Append(cells); err != nil {
			return fmt.Errorf("table: %w", err)
		}
	}
	if err := table.Render(); err != nil {
		return fmt.Errorf("table: %w", err)
	}
	return nil
}

// errWriter keeps the first write error so that a run of prints can be
// checked once (the pattern of bufio.Writer and text/tabwriter).
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err != nil {
		return
	}
	_, e.err = fmt.Fprintf(e.w, format, args...)
}
