package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/ipcbench/ipcbench/results"

	"github.com/ipcbench/ipcbench/internal/view"
)

const reportUsage = `Usage: ipcbench report [flags] RESULTS.json

Re-renders the results a run saved: prints them (a table by default) and,
with -o, writes the same files 'run -o' writes (results.json, results.csv,
results.md, results.bench.txt, plots), byte for byte, from the saved file
alone. Running and reporting are separate steps: measure once, render again.
RESULTS.json "-" reads the results from standard input.

Examples:
  ipcbench report out/results.json
  ipcbench report -format markdown out/results.json > results.md
  ipcbench report -o again/ out/results.json
  ipcbench report -format bench out/results.json > new.txt
  ipcbench run -format json -q | ipcbench report -format markdown -

Flags:
`

func reportCmd(args []string, stdout, stderr io.Writer) int {
	var (
		dir, format string
		quiet       bool
	)
	fs := newFlagSet("report", reportUsage)
	fs.StringVar(&dir, "o", "", "also write the files a run writes to this directory")
	fs.StringVar(&format, "format", "table", "what goes to stdout: "+strings.Join(view.Formats, ", "))
	fs.BoolVar(&quiet, "q", false, "do not list the files written")
	files, help, err := parseFlagsAndFiles(fs, args, stdout, "RESULTS.json")
	if help {
		return exitOK
	}
	if err == nil && !slices.Contains(view.Formats, format) {
		err = usagef("-format must be one of %s, not %q", strings.Join(view.Formats, ", "), format)
	}
	if err != nil {
		return report(stderr, "report", err)
	}
	f, err := loadResults(files[0])
	if err != nil {
		return report(stderr, "report", err)
	}
	// The files first, as run does: a closed stdout ends the output only.
	if dir != "" {
		written, err := view.WriteFiles(dir, f)
		if err != nil {
			return report(stderr, "report", fmt.Errorf("writing to %s: %w", dir, err))
		}
		if !quiet {
			fmt.Fprintf(stderr, "wrote %s\n", strings.Join(written, ", "))
		}
	}
	if err := view.Render(stdout, format, f); err != nil && !outputClosed(err) {
		return report(stderr, "report", err)
	}
	return exitOK
}

// parseFlagsAndFiles parses a subcommand whose arguments are files, named
// by the words of synopsis ("OLD.json NEW.json"), with its flags before,
// between or after them: `report out/results.json -o again/` works as well
// as the usual order. Everything after "--" is a file.
func parseFlagsAndFiles(fs *flag.FlagSet, args []string, stdout io.Writer, synopsis string) (files []string, help bool, err error) {
	fs.SetOutput(io.Discard)
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(stdout)
				fs.Usage()
				return nil, true, nil
			}
			return nil, false, usagef("%v (see 'ipcbench %s -h')", err, fs.Name())
		}
		if used := len(args) - fs.NArg(); used > 0 && args[used-1] == "--" {
			files = append(files, fs.Args()...)
			break
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	names := strings.Fields(synopsis)
	switch {
	case len(files) < len(names):
		return nil, false, usagef("missing %s: the usage is 'ipcbench %s [flags] %s'",
			strings.Join(names[len(files):], " and "), fs.Name(), synopsis)
	case len(files) > len(names):
		return nil, false, usagef("unexpected argument %q: the usage is 'ipcbench %s [flags] %s'",
			files[len(names)], fs.Name(), synopsis)
	}
	return files, false, nil
}

// loadResults reads a results file, or standard input for "-". A file that is missing, truncated,
// corrupt or from a newer ipcbench is bad input (exit status 2), as the
// contract says; results.Load marks those with results.ErrInput.
func loadResults(path string) (*results.File, error) {
	var f *results.File
	var err error
	if path == "-" {
		f, err = results.Read(stdin)
		if err != nil {
			err = fmt.Errorf("standard input: %w", err)
		}
	} else {
		f, err = results.Load(path)
	}
	if errors.Is(err, results.ErrInput) {
		return nil, usagef("%v", err)
	}
	return f, err
}
