package view

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/perf/benchmath"

	"github.com/ipcbench/ipcbench/results"
	"github.com/ipcbench/ipcbench/verdict"
)

// compareRecord is one compared figure of one cell, or a cell with none
// (only in one file, failed, skipped), as -format json and csv carry it:
// for machines and CI, every cell with its medians, change, test and word.
type compareRecord struct {
	Mechanism string   `json:"mechanism"`
	Workload  string   `json:"workload"`
	SizeBytes int      `json:"size_bytes"`
	Clients   int      `json:"clients,omitempty"`
	Figure    string   `json:"figure,omitempty"` // "p50", "p99", "throughput", "requests/s", "connections/s"
	OldMedian *float64 `json:"old_median,omitempty"`
	NewMedian *float64 `json:"new_median,omitempty"`
	// DeltaPct is the change of the medians in percent of the old.
	DeltaPct *float64 `json:"delta_pct,omitempty"`
	// P is the Mann-Whitney U test's p-value, NOld and NNew its rounds.
	P    *float64 `json:"p,omitempty"`
	NOld int      `json:"n_old"`
	NNew int      `json:"n_new"`
	// Verdict is "better", "worse", "same" (not significant), "too few
	// rounds", or why there is no figure: "only in old", "only in new",
	// "old failed", "new failed", "both failed", "skipped", "n/a".
	Verdict string `json:"verdict"`
}

// compareDoc is -format json.
type compareDoc struct {
	Old       string  `json:"old"`
	New       string  `json:"new"`
	OldRounds int     `json:"old_rounds"`
	NewRounds int     `json:"new_rounds"`
	Alpha     float64 `json:"alpha"`
	// SetupDifferences are the facts of the runs' setups that differ.
	SetupDifferences []string        `json:"setup_differences,omitempty"`
	Cells            []compareRecord `json:"cells"`
	// VerdictChanges are the contexts whose verdicts differ.
	VerdictChanges []verdictChangeDoc `json:"verdict_changes"`
}

type verdictChangeDoc struct {
	Workload       string      `json:"workload"`
	SizeBytes      int         `json:"size_bytes"`
	Clients        int         `json:"clients,omitempty"`
	Old            string      `json:"old"` // the sentence, "" when the run has no verdict here
	New            string      `json:"new"`
	OldGroups      [][]string  `json:"old_groups,omitempty"`
	NewGroups      [][]string  `json:"new_groups,omitempty"`
	Contradictions [][2]string `json:"contradictions,omitempty"`
}

// compareRecords lays every cell of c out as records, in c's order.
func compareRecords(c *results.Comparison) []compareRecord {
	var out []compareRecord
	for i := range c.Cells {
		cc := &c.Cells[i]
		base := compareRecord{Mechanism: cc.Mechanism, Workload: cc.Workload, SizeBytes: cc.SizeBytes, Clients: cc.Clients}
		if cc.Old != nil {
			base.NOld = len(cc.Old.Rows)
		}
		if cc.New != nil {
			base.NNew = len(cc.New.Rows)
		}
		if len(cc.Figures) == 0 {
			base.Verdict = changeText(cc, "")
			out = append(out, base)
			continue
		}
		for j := range cc.Figures {
			fc := &cc.Figures[j]
			r := base
			r.Figure = fc.Name
			r.OldMedian, r.NewMedian = ptr(fc.Old.Median), ptr(fc.New.Median)
			r.DeltaPct, r.P = ptr(fc.DeltaPercent()), ptr(fc.Test.P)
			r.NOld, r.NNew = fc.Test.N1, fc.Test.N2
			r.Verdict = fc.Verdict()
			out = append(out, r)
		}
	}
	return out
}

func ptr(v float64) *float64 { return &v }

// verdictChangeDocs are c's verdict changes as sentences and tiers.
func verdictChangeDocs(c *results.Comparison) []verdictChangeDoc {
	out := []verdictChangeDoc{}
	for _, vc := range c.VerdictChanges {
		d := verdictChangeDoc{Workload: vc.Workload, SizeBytes: vc.SizeBytes, Clients: vc.Clients, Contradictions: vc.Contradictions}
		if vc.Old != nil {
			d.Old, d.OldGroups = verdict.Sentence(vc.Old), vc.Old.Groups
		}
		if vc.New != nil {
			d.New, d.NewGroups = verdict.Sentence(vc.New), vc.New.Groups
		}
		out = append(out, d)
	}
	return out
}

// WriteComparisonJSON writes c as one JSON object: every cell's compared
// figures with medians, change, p and rounds, and the verdicts that differ.
func WriteComparisonJSON(w io.Writer, c *results.Comparison) error {
	doc := compareDoc{
		Old: c.OldName, New: c.NewName, OldRounds: c.OldRounds, NewRounds: c.NewRounds,
		Alpha:            benchmath.DefaultThresholds.CompareAlpha,
		SetupDifferences: metaDifferences(&c.OldMeta, &c.NewMeta),
		Cells:            compareRecords(c),
		VerdictChanges:   verdictChangeDocs(c),
	}
	if doc.Cells == nil {
		doc.Cells = []compareRecord{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// compareCSVHeader names the columns of WriteComparisonCSV.
var compareCSVHeader = []string{"mechanism", "workload", "size_bytes", "clients", "figure",
	"old_median", "new_median", "delta_pct", "p", "n_old", "n_new", "verdict"}

// WriteComparisonCSV writes one line per compared figure of every cell (a
// cell without figures gets one line saying why), with a header.
func WriteComparisonCSV(w io.Writer, c *results.Comparison) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(compareCSVHeader); err != nil {
		return err
	}
	num := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'g', -1, 64)
	}
	for _, r := range compareRecords(c) {
		clients := ""
		if r.Clients > 0 {
			clients = strconv.Itoa(r.Clients)
		}
		if err := cw.Write([]string{r.Mechanism, r.Workload, strconv.Itoa(r.SizeBytes), clients, r.Figure,
			num(r.OldMedian), num(r.NewMedian), num(r.DeltaPct), num(r.P),
			strconv.Itoa(r.NOld), strconv.Itoa(r.NNew), r.Verdict}); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("csv: %w", err)
	}
	return nil
}

// verdictChangeLines are the lines that say where two runs' verdicts
// differ, for the table and Markdown: a heading line, then per context its
// old and new sentence and any contradiction. Nil when neither run has a
// verdict.
func verdictChangeLines(c *results.Comparison) (heading string, lines []string) {
	if len(c.VerdictChanges) == 0 {
		if !c.HasVerdicts {
			return "", nil
		}
		return "Verdicts: the runs' verdicts do not differ.", nil
	}
	heading = "Verdicts that differ between the runs (" + strconv.Itoa(len(c.VerdictChanges)) + "):"
	for i, d := range verdictChangeDocs(c) {
		vc := &c.VerdictChanges[i]
		v := vc.Old
		if v == nil {
			v = vc.New
		}
		text := func(s string) string {
			if s == "" {
				return verdict.Label(v) + ": no verdict"
			}
			return s
		}
		lines = append(lines, "old: "+text(d.Old), "new: "+text(d.New))
		for _, p := range d.Contradictions {
			lines = append(lines, "contradiction in "+verdict.Label(v)+": "+p[0]+" ranked above "+p[1]+" in the old run, below it in the new")
		}
	}
	return heading, lines
}

// indentAll is the lines, each after prefix.
func indentAll(prefix string, lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(prefix + l + "\n")
	}
	return b.String()
}
