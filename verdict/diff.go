package verdict

import (
	"cmp"
	"reflect"
	"slices"

	"github.com/ipcbench/ipcbench/results"
)

// Diff lists the contexts of two files whose verdicts differ: tiers (or
// whether there were enough rounds to rank) not the same, or a context only
// one of them ranks. Each file's own verdicts are used, or, for a file
// from before verdicts, those its rows give.
func Diff(old, new *results.File) []results.VerdictChange {
	ov, nv := verdictsOf(old), verdictsOf(new)
	type ctx struct {
		workload    string
		size, nclnt int
		rate        string
	}
	keyOf := func(v *results.Verdict) ctx { return ctx{v.Workload, v.SizeBytes, v.Clients, v.Rate} }
	var order []ctx
	pairs := map[ctx]*results.VerdictChange{}
	add := func(vs []results.Verdict, isOld bool) {
		for i := range vs {
			v := &vs[i]
			k := keyOf(v)
			c := pairs[k]
			if c == nil {
				c = &results.VerdictChange{Workload: v.Workload, SizeBytes: v.SizeBytes, Clients: v.Clients, Rate: v.Rate}
				pairs[k] = c
				order = append(order, k)
			}
			if isOld {
				c.Old = v
			} else {
				c.New = v
			}
		}
	}
	add(ov, true)
	add(nv, false)
	var out []results.VerdictChange
	for _, k := range order {
		c := pairs[k]
		if c.Old != nil && c.New != nil && sameTiers(c.Old, c.New) {
			continue
		}
		if c.Old != nil && c.New != nil {
			c.Contradictions = Contradictions(c.Old, c.New)
		}
		out = append(out, *c)
	}
	return out
}

// Annotate fills in c, the comparison of old and new, with where their
// verdicts differ.
func Annotate(c *results.Comparison, old, new *results.File) {
	c.VerdictChanges = Diff(old, new)
	c.HasVerdicts = len(verdictsOf(old)) > 0 || len(verdictsOf(new)) > 0
}

func verdictsOf(f *results.File) []results.Verdict {
	if f.Verdicts != nil {
		return f.Verdicts
	}
	return Compute(f)
}

// sameTiers: the same tiers, or too few rounds in both (which ranks
// nothing, whatever order the medians came in).
func sameTiers(a, b *results.Verdict) bool {
	if a.TooFewRounds || b.TooFewRounds {
		return a.TooFewRounds == b.TooFewRounds
	}
	return reflect.DeepEqual(a.Groups, b.Groups)
}

// Contradictions are the pairs {A, B} that a ranks significantly above
// each other one way (A in a better tier than B) and b the other way. A
// verdict with too few rounds ranks nothing, so it contradicts nothing.
func Contradictions(a, b *results.Verdict) [][2]string {
	ta, tb := tiers(a), tiers(b)
	var out [][2]string
	for _, g := range a.Groups {
		for _, x := range g {
			for y, ty := range ta {
				if ta[x] >= ty {
					continue // x is not ranked above y in a
				}
				bx, okx := tb[x]
				by, oky := tb[y]
				if okx && oky && by < bx {
					out = append(out, [2]string{x, y})
				}
			}
		}
	}
	// The map's order is random: sort by a's ranking of both.
	sortPairs(out, ta)
	return out
}

// tiers maps each mechanism a verdict ranks to its tier's index; empty
// when the verdict ranks nothing.
func tiers(v *results.Verdict) map[string]int {
	t := map[string]int{}
	if v.TooFewRounds {
		return t
	}
	for i, g := range v.Groups {
		for _, m := range g {
			t[m] = i
		}
	}
	return t
}

func sortPairs(p [][2]string, tier map[string]int) {
	slices.SortFunc(p, func(a, b [2]string) int {
		return cmp.Or(cmp.Compare(tier[a[0]], tier[b[0]]), cmp.Compare(a[0], b[0]),
			cmp.Compare(tier[a[1]], tier[b[1]]), cmp.Compare(a[1], b[1]))
	})
}
