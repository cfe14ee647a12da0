package results

import (
	"fmt"

	"github.com/ipcbench/ipcbench/internal/units"
)

// LowerBetter reports whether a compared figure improves by going down:
// the round-trip percentiles do, throughput and rates go up.
func (fc *FigureChange) LowerBetter() bool { return fc.Name == "p50" || fc.Name == "p99" }

// DeltaPercent is the change of the medians from old to new in percent of
// the old (+12.5 for 12.5% more); 0 when the old median is 0.
func (fc *FigureChange) DeltaPercent() float64 {
	if fc.Old.Median == 0 {
		return 0
	}
	return (fc.New.Median - fc.Old.Median) / fc.Old.Median * 100
}

// Verdict is the change in a word: "better" or "worse" where the test finds
// it significant, "same" where it does not, "too few rounds" where no
// change could be significant.
func (fc *FigureChange) Verdict() string {
	switch {
	case fc.TooFewRounds():
		return "too few rounds"
	case !fc.Significant() || fc.New.Median == fc.Old.Median:
		return "same"
	case (fc.New.Median > fc.Old.Median) == fc.LowerBetter():
		return "worse"
	}
	return "better"
}

// WorseBy reports whether the figure is significantly worse in the new run
// by more than pct percent: slower round trips or lower throughput.
func (fc *FigureChange) WorseBy(pct float64) bool {
	if fc.Verdict() != "worse" {
		return false
	}
	d := fc.DeltaPercent()
	if !fc.LowerBetter() {
		d = -d
	}
	return d > pct
}

// Regressions are the figures of c significantly worse by more than pct
// percent, each named for a person: "pipe pingpong 64 B p50 +12.3% (p=0.008)".
func (c *Comparison) Regressions(pct float64) []string {
	var out []string
	for i := range c.Cells {
		cc := &c.Cells[i]
		for j := range cc.Figures {
			fc := &cc.Figures[j]
			if fc.WorseBy(pct) {
				out = append(out, fmt.Sprintf("%s %s%s %s %+.1f%% (p=%.3f)",
					cc.Mechanism, cc.Workload, cellContext(cc.Key), fc.Name, fc.DeltaPercent(), fc.Test.P))
			}
		}
	}
	return out
}

// cellContext is " 64 B" or " 64 B, 8 clients".
func cellContext(k Key) string {
	s := " " + units.Size(k.SizeBytes)
	if k.Clients > 0 {
		s += fmt.Sprintf(", %d clients", k.Clients)
	}
	return s
}
