package main

import (
	"io"
	"slices"
	"strings"

	"github.com/ipcbench/ipcbench/results"

	"github.com/ipcbench/ipcbench/internal/view"
)

const compareUsage = `Usage: ipcbench compare [flags] OLD.json NEW.json

Shows two saved runs side by side, cell by cell (mechanism x workload x
size): the old and new p50 and p99 round trip (pingpong) or throughput
(stream), the change of the medians in percent, and whether it is
significant across the rounds: a Mann-Whitney U test as benchstat runs it,
p < 0.05. A change that is not significant shows as ~. Significance needs
rounds: with 3 against 3 the smallest possible p is 0.1, so run both with
-rounds 4 or more (benchstat advises 10). Cells that only one file has, or
that failed, are listed as such.

Examples:
  ipcbench run -rounds 5 -o old/
  ipcbench run -rounds 5 -o new/ -io go
  ipcbench compare old/results.json new/results.json
  ipcbench compare -format markdown old/results.json new/results.json > compare.md

For benchstat itself: ipcbench report -format bench FILE.json > FILE.txt

Flags:
`

func compareCmd(args []string, stdout, stderr io.Writer) int {
	var format string
	fs := newFlagSet("compare", compareUsage)
	fs.StringVar(&format, "format", "table", "what goes to stdout: "+strings.Join(view.CompareFormats, " or "))
	files, help, err := parseFlagsAndFiles(fs, args, stdout, "OLD.json NEW.json")
	if help {
		return exitOK
	}
	if err == nil && !slices.Contains(view.CompareFormats, format) {
		err = usagef("-format must be %s, not %q", strings.Join(view.CompareFormats, " or "), format)
	}
	if err == nil && files[0] == "-" && files[1] == "-" {
		err = usagef("only one of OLD.json and NEW.json can be standard input (-)")
	}
	if err != nil {
		return report(stderr, "compare", err)
	}
	old, err := loadResults(files[0])
	if err != nil {
		return report(stderr, "compare", err)
	}
	new, err := loadResults(files[1])
	if err != nil {
		return report(stderr, "compare", err)
	}
	c := results.Compare(old, new)
	c.OldName, c.NewName = files[0], files[1]
	if err := view.RenderComparison(stdout, format, c); err != nil && !outputClosed(err) {
		return report(stderr, "compare", err)
	}
	return exitOK
}
