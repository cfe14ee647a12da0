package verdict

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ipcbench/ipcbench/results"

	"github.com/ipcbench/ipcbench/internal/units"
)

// Sentence says a verdict in words, for the terminal, results.md and
// report.html:
//
//	64 B round trip: pipe ≈ msgqueue (no significant difference), 1.5x faster than unixsocket, 2.3x faster than tcpsocket.
//
// Each later tier is compared with the best mechanism (the ratio of their
// medians); "≈" joins mechanisms the rounds do not tell apart, "(within
// ±5%)" when they were shown equivalent.
func Sentence(v *results.Verdict) string {
	var b strings.Builder
	b.WriteString(Label(v))
	b.WriteString(": ")
	switch {
	case len(v.Groups) == 0:
		b.WriteString("no mechanism to rank")
	case v.TooFewRounds:
		b.WriteString("not enough rounds to rank ")
		b.WriteString(strings.Join(slices.Concat(v.Groups...), ", "))
		if why, ok := strings.CutPrefix(firstNote(v.Note), "not enough rounds: "); ok {
			b.WriteString(" (" + why + ")")
		}
	default:
		lead := v.Groups[0][0]
		for i, g := range v.Groups {
			if i > 0 {
				r := ratio(v.Medians[lead], v.Medians[g[0]], v.Better == "lower")
				if r > 0 {
					b.WriteString(", " + formatRatio(r) + " faster than ")
				} else {
					b.WriteString(", faster than ")
				}
			}
			b.WriteString(strings.Join(g, " ≈ "))
			if len(g) > 1 {
				if allEquivalent(v, g) {
					b.WriteString(" (within ±" + strconv.Itoa(int(Margin*100)) + "%)")
				} else {
					b.WriteString(" (no significant difference)")
				}
			}
		}
	}
	if v.Placement == results.MixedCPU {
		b.WriteString("; the rounds mixed CPU placements")
	}
	if len(v.Failed) > 0 {
		b.WriteString("; " + strings.Join(v.Failed, ", ") + " failed")
	}
	b.WriteString(".")
	return b.String()
}

// Sentences are the sentences of every verdict of f: those it carries, or,
// for a file from before verdicts, those its rows give.
func Sentences(f *results.File) []string {
	vs := f.Verdicts
	if vs == nil {
		vs = Compute(f)
	}
	var out []string
	for i := range vs {
		out = append(out, Sentence(&vs[i]))
	}
	return out
}

// Label names a verdict's context: "64 B round trip", "64 KiB stream".
func Label(v *results.Verdict) string {
	what := v.Workload
	switch v.Workload {
	case results.PingPong:
		what = "round trip"
	case results.Stream:
		what = "stream"
	}
	label := units.Size(v.SizeBytes) + " " + what
	if v.PayloadOffset != 0 {
		label += ", payload " + strconv.Itoa(v.PayloadOffset) + " B past a page"
	}
	if v.Clients > 0 {
		label += ", " + strconv.Itoa(v.Clients) + " " + plural(v.Clients, "client", "clients")
	}
	if v.Rate != "" {
		label += " at " + v.Rate
	}
	return label
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// allEquivalent reports whether every mechanism of the group was shown
// equivalent to its best, the one each was compared with.
func allEquivalent(v *results.Verdict, g []string) bool {
	for i := 1; i < len(g); i++ {
		if !slices.Contains(v.Equivalent, [2]string{g[0], g[i]}) {
			return false
		}
	}
	return true
}

// formatRatio prints "1.04x" below 1.1, "2.3x" below 10, "15x" above.
func formatRatio(r float64) string {
	switch {
	case r < 1.1:
		return strconv.FormatFloat(r, 'f', 2, 64) + "x"
	case r < 9.95:
		return strconv.FormatFloat(r, 'f', 1, 64) + "x"
	}
	return strconv.FormatFloat(r, 'f', 0, 64) + "x"
}

func firstNote(note string) string {
	first, _, _ := strings.Cut(note, "; ")
	return first
}

// Summary is what a report says about the verdicts of a file: a line on
// how they were reached, a sentence per verdict, and how adaptive rounds
// ended.
type Summary struct {
	// Intro is how to read the sentences, or, when no verdict could rank
	// anything for want of rounds, that alone (and Sentences is empty).
	Intro     string
	Sentences []string
	// Rounds says how adaptive rounds went and which pairs they left
	// unresolved; empty for a fixed number of rounds.
	Rounds string
}

// Summarize is the summary of f's verdicts (those it carries; for a file
// from before verdicts, those its rows give), nil when f has none: no
// context with two mechanisms to rank.
func Summarize(f *results.File) *Summary {
	vs := f.Verdicts
	if vs == nil {
		vs = Compute(f)
	}
	if len(vs) == 0 {
		return nil
	}
	level := "alpha " + strconv.FormatFloat(Alpha, 'g', -1, 64)
	if f.Meta.RoundsAuto != nil {
		level = "alpha " + strconv.FormatFloat(AutoAlpha, 'g', -1, 64) + " at each look of the adaptive rounds, " +
			strconv.FormatFloat(Alpha, 'g', -1, 64) + " over all of them"
	}
	s := &Summary{Intro: "Mechanisms ranked by their median across rounds; ≈ joins those a Mann-Whitney U test " +
		"(Holm-corrected across each line's comparisons, " + level + ") does not tell apart, and each ratio is of the medians."}
	allFew := true
	for i := range vs {
		allFew = allFew && vs[i].TooFewRounds
	}
	if allFew {
		s.Intro = "Not enough rounds to rank any mechanism: " + tooFewAll(vs) + "."
	} else {
		for i := range vs {
			s.Sentences = append(s.Sentences, Sentence(&vs[i]))
		}
	}
	if a := f.Meta.RoundsAuto; a != nil {
		s.Rounds = roundsText(a, vs)
	}
	return s
}

// tooFewAll says why no verdict could rank: the rounds there were, the
// smallest p they allow, and the rounds that would do.
func tooFewAll(vs []results.Verdict) string {
	lo, hi, mechs := -1, 0, 0
	for i := range vs {
		for _, n := range vs[i].N {
			if lo < 0 || n < lo {
				lo = n
			}
			hi = max(hi, n)
		}
		mechs = max(mechs, len(vs[i].N))
	}
	need := strconv.Itoa(mechs) + " mechanisms need -rounds " + strconv.Itoa(RoundsNeeded(mechs)) + " or more (or -rounds auto)"
	if vs[0].Alpha != 0 && vs[0].Alpha < Alpha {
		need = strconv.Itoa(mechs) + " mechanisms need " + strconv.Itoa(FirstRounds(mechs)) + " rounds each or more"
	}
	if hi <= 1 {
		return "one round of each mechanism allows no test; " + need
	}
	n := strconv.Itoa(lo)
	if hi != lo {
		n += " to " + strconv.Itoa(hi)
	}
	return "with " + n + " rounds of each mechanism no p-value can be small enough; " + need
}

// roundsText is how adaptive rounds ended.
func roundsText(a *results.AutoRounds, vs []results.Verdict) string {
	lo, hi := -1, 0
	var open []string
	count := 0
	for i := range vs {
		for _, n := range vs[i].N {
			if lo < 0 || n < lo {
				lo = n
			}
			hi = max(hi, n)
		}
		if len(vs[i].Unresolved) == 0 {
			continue
		}
		var pairs []string
		for _, p := range vs[i].Unresolved {
			pairs = append(pairs, p[0]+"–"+p[1])
		}
		count += len(pairs)
		open = append(open, Label(&vs[i])+" "+strings.Join(pairs, ", "))
	}
	n := strconv.Itoa(lo)
	if hi != lo {
		n += " to " + strconv.Itoa(hi)
	}
	s := "Adaptive rounds: " + n + " rounds per cell in " + seconds(a.ElapsedNS) + " (budget " + seconds(a.BudgetNS) + ")"
	left := ""
	if count > 0 {
		left = " with " + strconv.Itoa(count) + " " + plural(count, "pair", "pairs") +
			" neither told apart nor shown within ±" + strconv.Itoa(int(Margin*100)) + "%: " + strings.Join(open, "; ")
	}
	switch a.Stopped {
	case "resolved":
		if count == 0 {
			return s + "; every adjacent pair was told apart or shown within ±" + strconv.Itoa(int(Margin*100)) + "%."
		}
		return s + "; stopped" + left + "."
	case "budget":
		return s + "; the budget ran out" + left + "."
	case "max rounds":
		return s + "; stopped at " + strconv.Itoa(a.Max) + " rounds" + left + "."
	case "interrupted":
		return s + "; interrupted" + left + "."
	}
	return s + left + "."
}

// seconds is a wall time to a tenth of a second: "52.3s".
func seconds(ns int64) string { return time.Duration(ns).Round(time.Second / 10).String() }
