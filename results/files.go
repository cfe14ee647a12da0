package results

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// WriteFiles writes everything a run leaves in its output directory:
// results.json, results.csv, results.md, results.bench.txt (Go benchmark
// format, for benchstat), the plots and report.html, which inlines the same
// drawings as the plot files. `run -o` and `report -o` both come through
// here, so the same results always give the same files. It returns the
// paths it wrote.
func WriteFiles(dir string, f *File) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create the output directory: %w", err)
	}
	var written []string
	for _, out := range []struct {
		name   string
		render func(*bytes.Buffer, *File) error
	}{
		{"results.json", func(b *bytes.Buffer, f *File) error { return Write(b, f) }},
		{"results.csv", func(b *bytes.Buffer, f *File) error { return WriteCSV(b, f) }},
		{"results.md", func(b *bytes.Buffer, f *File) error { return WriteMarkdown(b, f) }},
		{"results.bench.txt", func(b *bytes.Buffer, f *File) error { return WriteBench(b, f) }},
	} {
		var b bytes.Buffer
		if err := out.render(&b, f); err != nil {
			return written, fmt.Errorf("rendering %s: %w", out.name, err)
		}
		path := filepath.Join(dir, out.name)
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			return written, err
		}
		written = append(written, path)
	}
	charts, err := renderPlots(f)
	if err != nil {
		return written, err
	}
	plots, err := writePlotFiles(dir, charts)
	written = append(written, plots...)
	if err != nil {
		return written, err
	}
	var b bytes.Buffer
	if err := writeHTML(&b, f, charts); err != nil {
		return written, fmt.Errorf("rendering report.html: %w", err)
	}
	path := filepath.Join(dir, "report.html")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return written, err
	}
	return append(written, path), nil
}
