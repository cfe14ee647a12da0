package verdict

import (
	"slices"
	"strconv"
	"strings"

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
	return label
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// allEquivalent reports whether every adjacent pair within the group was
// shown equivalent.
func allEquivalent(v *results.Verdict, g []string) bool {
	for i := 0; i+1 < len(g); i++ {
		if !slices.Contains(v.Equivalent, [2]string{g[i], g[i+1]}) {
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
