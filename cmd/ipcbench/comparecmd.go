package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/ipcbench/ipcbench/results"
	"github.com/ipcbench/ipcbench/verdict"

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

It also says where the two runs' verdicts differ (which mechanisms each
run tells apart), naming any pair one run ranks above the other and the
other run below it.

For machines and CI, -format json or csv gives every cell: the old and new
medians, the change in percent, p, the rounds, and a verdict (better, worse,
same, too few rounds, ...). -fail-on PCT exits with status 1 when any figure
is significantly worse by more than PCT percent (slower round trips, lower
throughput), naming each on stderr.

Examples:
  ipcbench run -rounds 5 -o old/
  ipcbench run -rounds 5 -o new/ -io go
  ipcbench compare old/results.json new/results.json
  ipcbench compare -format markdown old/results.json new/results.json > compare.md
  ipcbench compare -format csv -fail-on 5% main/results.json branch/results.json

For benchstat itself: ipcbench report -format bench FILE.json > FILE.txt

Flags:
`

func compareCmd(args []string, stdout, stderr io.Writer) int {
	var format string
	var failOn percentValue
	fs := newFlagSet("compare", compareUsage)
	fs.StringVar(&format, "format", "table", "what goes to stdout: "+strings.Join(view.CompareFormats, ", "))
	fs.Var(&failOn, "fail-on", "exit with status 1 when any figure is significantly worse by more than this percentage, e.g. 5%")
	files, help, err := parseFlagsAndFiles(fs, args, stdout, "OLD.json NEW.json")
	if help {
		return exitOK
	}
	if err == nil && !slices.Contains(view.CompareFormats, format) {
		err = usagef("-format must be one of %s, not %q", strings.Join(view.CompareFormats, ", "), format)
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
	verdict.Annotate(c, old, new)
	if err := view.RenderComparison(stdout, format, c); err != nil && !outputClosed(err) {
		return report(stderr, "compare", err)
	}
	if !failOn.set {
		return exitOK
	}
	if regs := c.Regressions(failOn.pct); len(regs) > 0 {
		fmt.Fprintf(stderr, "ipcbench compare: %d %s significantly worse by more than %s: %s.\n",
			len(regs), plural(len(regs), "figure", "figures"), failOn.String(), strings.Join(regs, "; "))
		return exitFailure
	}
	if few, all := tooFewFigures(c); few > 0 {
		fmt.Fprintf(stderr, "ipcbench compare: -fail-on %s: %d of %d figures had too few rounds to show any change; "+
			"run both with -rounds 4 or more (or -rounds auto).\n", failOn.String(), few, all)
	}
	return exitOK
}

// percentValue is -fail-on: a percentage, "5%" or "5".
type percentValue struct {
	pct float64
	set bool
}

func (p *percentValue) String() string {
	if !p.set {
		return ""
	}
	return strconv.FormatFloat(p.pct, 'g', -1, 64) + "%"
}

func (p *percentValue) Set(s string) error {
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%")), 64)
	if err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return errors.New("give a percentage of at least 0, such as 5% or 2.5")
	}
	p.pct, p.set = v, true
	return nil
}

// tooFewFigures counts the compared figures whose rounds were too few for
// any change to be significant, and all compared figures.
func tooFewFigures(c *results.Comparison) (few, all int) {
	for i := range c.Cells {
		for j := range c.Cells[i].Figures {
			all++
			if c.Cells[i].Figures[j].TooFewRounds() {
				few++
			}
		}
	}
	return few, all
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
