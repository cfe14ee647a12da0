// Package view lays results out for people and for other tools: the table
// for a terminal, Markdown, CSV, the Go benchmark format, report.html, and
// comparisons of two runs. Outputs is the one list of them, which -format,
// -o and `report` all use.
package view

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ipcbench/ipcbench/internal/chart"
	"github.com/ipcbench/ipcbench/results"
)

// An Output is one way to write a results file: to stdout under a -format
// name, to a file of a run's output directory, or both. Outputs is the one
// list of them: -format's choices and its usage text, the files `run -o` and
// `report -o` write, and Render all come from it, so adding a format is one
// line there.
type Output struct {
	Format string // the -format name; "" when it is only a file
	File   string // the file it is written to under -o; "" when only stdout
	write  func(w io.Writer, f *results.File, d *drawings) error
}

// Outputs are every output, in the order usage lists the formats and the
// output directory gets its files.
var Outputs = []Output{
	{"table", "", plain(WriteTable)},
	{"markdown", "results.md", plain(WriteMarkdown)},
	{"csv", "results.csv", plain(WriteCSV)},
	{"json", "results.json", plain(results.Write)},
	{"jsonl", "", plain(WriteJSONL)},
	{"bench", "results.bench.txt", plain(WriteBench)},
	{"", "report.html", func(w io.Writer, f *results.File, d *drawings) error {
		charts, err := d.get(f)
		if err != nil {
			return err
		}
		return writeHTML(w, f, charts)
	}},
}

// plain is an output that draws no chart.
func plain(write func(io.Writer, *results.File) error) func(io.Writer, *results.File, *drawings) error {
	return func(w io.Writer, f *results.File, _ *drawings) error { return write(w, f) }
}

// drawings draws the charts once for everything that shows them: the chart
// files and report.html.
type drawings struct {
	done   bool
	charts []chart.Drawing
	err    error
}

func (d *drawings) get(f *results.File) ([]chart.Drawing, error) {
	if !d.done {
		d.charts, d.err = chart.Draw(f)
		d.done = true
	}
	return d.charts, d.err
}

// Formats are the -format names, in the order usage text lists them.
var Formats = formatNames()

func formatNames() []string {
	var names []string
	for _, o := range Outputs {
		if o.Format != "" {
			names = append(names, o.Format)
		}
	}
	return names
}

// Render writes f to w in the named format (one of Formats). An unknown
// name is an error that lists the formats there are.
func Render(w io.Writer, format string, f *results.File) error {
	for _, o := range Outputs {
		if o.Format == format && format != "" {
			if f == nil {
				return fmt.Errorf("no results to write as %s", format)
			}
			return o.write(w, f, &drawings{})
		}
	}
	return fmt.Errorf("unknown format %q: the formats are %s", format, strings.Join(Formats, ", "))
}

// WriteFiles writes everything a run leaves in its output directory: the
// file of every output (results.json, results.csv, results.md,
// results.bench.txt for benchstat, report.html) and the charts, as SVG and
// PNG, which report.html inlines. `run -o` and `report -o` both come through
// here, so the same results always give the same files. It returns the
// paths it wrote.
func WriteFiles(dir string, f *results.File) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create the output directory: %w", err)
	}
	var written []string
	d := &drawings{}
	for _, o := range Outputs {
		if o.File == "" {
			continue
		}
		var b bytes.Buffer
		if err := o.write(&b, f, d); err != nil {
			return written, fmt.Errorf("rendering %s: %w", o.File, err)
		}
		path := filepath.Join(dir, o.File)
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			return written, err
		}
		written = append(written, path)
	}
	charts, err := d.get(f)
	if err != nil {
		return written, err
	}
	plots, err := chart.WriteFiles(dir, charts)
	return append(written, plots...), err
}
