// Package verdict says which mechanism wins, only where the rounds say so.
//
// For each cell context (a workload and a message size, with any other
// dimension the rows carry) it ranks the mechanisms by the median of their
// headline figure across rounds and tests each adjacent pair with the
// Mann-Whitney U test (golang.org/x/perf/benchmath, as benchstat), Holm-
// corrected across the pairs of the context. Adjacent mechanisms whose
// difference is not significant share a tier. A pair can also be shown
// equivalent (within ±Margin, by two one-sided tests); a pair that is neither
// is unresolved, and more rounds of its two cells may settle it, which is what
// adaptive rounds (`-rounds auto`) do.
//
// The package reads only the data model (package results) and knows nothing
// of how the figures were measured.
package verdict

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/aclements/go-moremath/stats"
	"golang.org/x/perf/benchmath"

	"github.com/ipcbench/ipcbench/results"
)

const (
	// Alpha is the family-wise significance level of a verdict.
	Alpha = 0.05
	// AutoAlpha is the level of each look of adaptive rounds. Looking
	// again after more rounds, and stopping where a pair first looks
	// separated, would make false separations far likelier than Alpha:
	// simulated, one look per round from 6 to 30 rounds separates two
	// identical mechanisms 19% of the time at 0.05. Adaptive rounds look
	// at most five times (6, 9, 14, 21, 30 rounds: each look brings the
	// unresolved cells to 1.5 times the rounds of the last), and at 0.015
	// per look, as Pocock's boundary for five looks has it, identical
	// mechanisms come out separated 4.3% of the time (simulated), within
	// Alpha.
	AutoAlpha = 0.015
	// Growth is how adaptive rounds grow between looks.
	Growth = 1.5
	// Margin is the equivalence margin: two mechanisms within ±5% of each
	// other (as a ratio, 1/1.05 to 1.05) may be shown equivalent.
	Margin = 0.05
	// MinRounds is the fewest rounds adaptive rounds start with.
	MinRounds = 5
)

// Figure is what a context's mechanisms are ranked by.
type Figure struct {
	Name        string // as in results.json: "rtt_p50", "bytes_per_s"
	LowerBetter bool
	// Value is the figure of one row, NaN when the row lacks it.
	Value func(*results.Result) float64
}

var (
	figRTTP50 = Figure{"rtt_p50", true, func(r *results.Result) float64 {
		if r.RTT == nil {
			return math.NaN()
		}
		return float64(r.RTT.P50)
	}}
	figBytesPerS = Figure{"bytes_per_s", false, func(r *results.Result) float64 {
		if r.BytesPerS == 0 && r.MsgsPerS == 0 {
			return math.NaN()
		}
		return r.BytesPerS
	}}
	figMsgsPerS = Figure{"msgs_per_s", false, func(r *results.Result) float64 {
		if r.MsgsPerS == 0 {
			return math.NaN()
		}
		return r.MsgsPerS
	}}
	figRTTCorrectedP50 = Figure{"rtt_corrected_p50", true, func(r *results.Result) float64 {
		if r.RTTCorrected == nil {
			return math.NaN()
		}
		return float64(r.RTTCorrected.P50)
	}}
	figConnectionsPerS = Figure{"connections_per_s", false, func(r *results.Result) float64 {
		if r.ConnectionsPerS == 0 {
			return math.NaN()
		}
		return r.ConnectionsPerS
	}}
)

// FigureOf is the headline figure of a workload: the p50 round trip for
// pingpong, payload bytes/s for stream, requests (messages) per second that
// the server answered for server, transactions per second for connect. For
// another workload it is the p50 round trip when its rows have one, else
// bytes/s, else messages/s.
func FigureOf(workload string, rows []*results.Result) Figure {
	// An open-loop cell (-rate) is judged by its round trips counted from
	// when each message was due, which include the queueing a late
	// mechanism causes.
	for _, r := range rows {
		if r.RTTCorrected != nil {
			return figRTTCorrectedP50
		}
	}
	switch workload {
	case results.PingPong:
		return figRTTP50
	case results.Stream:
		return figBytesPerS
	case results.Server:
		return figMsgsPerS
	case results.Connect:
		return figConnectionsPerS
	}
	for _, fig := range []Figure{figRTTP50, figBytesPerS, figMsgsPerS} {
		for _, r := range rows {
			if !math.IsNaN(fig.Value(r)) {
				return fig
			}
		}
	}
	return figRTTP50
}

// Entry is one mechanism in a context: its rounds' figures.
type Entry struct {
	Mechanism string
	Values    []float64 // ascending
	Median    float64
	Rows      []*results.Result
}

// Pair is the comparison of a mechanism with the best of the tier it
// would join (the one before it in the ranking, when that starts a tier).
type Pair struct {
	Better, Worse string
	// P is the U test's p-value, PHolm the Holm-corrected one.
	P, PHolm float64
	// MinP is the smallest p the U test can give with these rounds.
	MinP float64
	// Ratio is how many times better Better's median is (at least 1; 0
	// when a median is zero); CI95 and CI90 are its distribution-free
	// confidence intervals, nil when the rounds are too few for one.
	Ratio      float64
	CI95, CI90 *[2]float64
	// Separated: the corrected test tells them apart. Equivalent: the 90%
	// interval lies within ±Margin (two one-sided tests at 5%).
	Separated, Equivalent bool
}

// Resolved reports whether more rounds are not needed for the pair.
func (p *Pair) Resolved() bool { return p.Separated || p.Equivalent }

// Analysis is a context's mechanisms ranked and compared.
type Analysis struct {
	// Context is the key of the context's cells, Mechanism empty.
	Context results.Key
	Figure  Figure
	Ranked  []Entry // best median first
	// Pairs[i] compares Ranked[i+1] with the leader of its tier, or of the
	// tier before when it starts one.
	Pairs []Pair
	// Failed are the context's mechanisms without figures.
	Failed []string
	// TooFew: no pair could be significant after the correction, whatever
	// the figures, with the rounds there were.
	TooFew bool
	// Placements counts the ranked rows by placement ("" unrecorded).
	Placements map[string]int
	// Alpha is the level the corrected tests are held to: Alpha, or
	// AutoAlpha for a run with adaptive rounds.
	Alpha  float64
	auto   bool
	family [][2]int // the indexes in Ranked of each pair of Pairs
}

// AlphaOf is the level f's verdicts are held to: AutoAlpha when its rounds
// were adaptive (it has meta.rounds_auto), Alpha otherwise.
func AlphaOf(f *results.File) float64 {
	if f.Meta.RoundsAuto != nil {
		return AutoAlpha
	}
	return Alpha
}

// Analyze ranks and compares the mechanisms of every context in f, in the
// order tables show them: pingpong, stream, then other workloads; sizes
// ascending. Contexts with fewer than two mechanisms with figures are left
// out: there is nothing to rank.
func Analyze(f *results.File) []*Analysis {
	type group struct {
		ctx   results.Key
		mechs []string
		rows  map[string][]*results.Result
	}
	var order []*group
	byCtx := map[results.Key]*group{}
	for i := range f.Results {
		r := &f.Results[i]
		ctx := r.Key()
		ctx.Mechanism = ""
		g := byCtx[ctx]
		if g == nil {
			g = &group{ctx: ctx, rows: map[string][]*results.Result{}}
			byCtx[ctx] = g
			order = append(order, g)
		}
		if !slices.Contains(g.mechs, r.Mechanism) {
			g.mechs = append(g.mechs, r.Mechanism)
		}
		g.rows[r.Mechanism] = append(g.rows[r.Mechanism], r)
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := order[i].ctx, order[j].ctx
		if ra, rb := workloadRank(a.Workload), workloadRank(b.Workload); ra != rb {
			return ra < rb
		}
		if a.Workload != b.Workload {
			return false // keep first appearance
		}
		if a.SizeBytes != b.SizeBytes {
			return a.SizeBytes < b.SizeBytes
		}
		if a.Clients != b.Clients {
			return a.Clients < b.Clients
		}
		if a.Rate != b.Rate {
			return a.Rate == "" && b.Rate != "" // closed loop first, then rates as they came
		}
		return a.Offset < b.Offset
	})
	var out []*Analysis
	for _, g := range order {
		var all []*results.Result
		for _, m := range g.mechs {
			all = append(all, g.rows[m]...)
		}
		a := &Analysis{Context: g.ctx, Figure: FigureOf(g.ctx.Workload, all), Placements: map[string]int{},
			Alpha: AlphaOf(f), auto: f.Meta.RoundsAuto != nil}
		for _, m := range g.mechs {
			e := Entry{Mechanism: m}
			skipped := 0
			for _, r := range g.rows[m] {
				if r.IsSkipped() {
					skipped++
					continue
				}
				if r.Failed() {
					continue
				}
				if v := a.Figure.Value(r); !math.IsNaN(v) {
					e.Values = append(e.Values, v)
					e.Rows = append(e.Rows, r)
				}
			}
			if len(e.Values) == 0 {
				// A cell that does not apply to the mechanism (connect on
				// a pipe) is no failure: it is simply not ranked.
				if skipped < len(g.rows[m]) {
					a.Failed = append(a.Failed, m)
				}
				continue
			}
			sort.Float64s(e.Values)
			e.Median = median(e.Values)
			a.Ranked = append(a.Ranked, e)
		}
		if len(a.Ranked) < 2 {
			continue
		}
		a.rank()
		out = append(out, a)
	}
	return out
}

// rank orders the entries by median, compares each adjacent pair and
// corrects the p-values.
func (a *Analysis) rank() {
	sort.SliceStable(a.Ranked, func(i, j int) bool {
		if a.Figure.LowerBetter {
			return a.Ranked[i].Median < a.Ranked[j].Median
		}
		return a.Ranked[i].Median > a.Ranked[j].Median
	})
	for _, e := range a.Ranked {
		for _, r := range e.Rows {
			a.Placements[r.Placement]++
		}
	}
	// Each mechanism after the first is compared with the best of the
	// tier it would join, its leader: a new tier starts where the
	// corrected test separates the two. Comparing with the leader, not
	// with the neighbour, keeps a chain of small steps from joining
	// mechanisms far apart into one tier. Which pairs are compared
	// depends on the tiers, and the tiers on the corrected tests of those
	// pairs (Holm across the m-1 of them), so both are worked out again
	// until they agree, starting from neighbours.
	n := len(a.Ranked)
	cache := map[[2]int]Pair{}
	pairOf := func(i, j int) Pair {
		k := [2]int{i, j}
		if p, ok := cache[k]; ok {
			return p
		}
		p := a.compare(i, j)
		cache[k] = p
		return p
	}
	family := make([][2]int, n-1)
	for j := 1; j < n; j++ {
		family[j-1] = [2]int{j - 1, j}
	}
	var pairs []Pair
	for iter := 0; ; iter++ {
		pairs = make([]Pair, len(family))
		ps := make([]float64, len(family))
		for i, k := range family {
			pairs[i] = pairOf(k[0], k[1])
			ps[i] = pairs[i].P
		}
		adj := Holm(ps)
		separated := map[[2]int]bool{}
		for i, k := range family {
			pairs[i].PHolm = adj[i]
			// Benchstat's rule: significant unless p > alpha.
			pairs[i].Separated = !(adj[i] > a.Alpha)
			separated[k] = pairs[i].Separated
		}
		// The tiers these decisions give, and the pairs they compare; a
		// pair outside the family is judged as Bonferroni would.
		next := make([][2]int, 0, n-1)
		leader := 0
		for j := 1; j < n; j++ {
			k := [2]int{leader, j}
			next = append(next, k)
			sep, ok := separated[k]
			if !ok {
				sep = !(pairOf(leader, j).P*float64(n-1) > a.Alpha)
			}
			if sep {
				leader = j
			}
		}
		if slices.Equal(next, family) || iter >= n {
			break
		}
		family = next
	}
	a.Pairs = pairs
	a.family = family
	smallest := math.Inf(1)
	for i := range a.Pairs {
		smallest = min(smallest, a.Pairs[i].MinP)
	}
	a.TooFew = smallest*float64(len(a.Pairs)) > a.Alpha
}

// compare tests Ranked[i] (the better) against Ranked[j].
func (a *Analysis) compare(i, j int) Pair {
	b, w := &a.Ranked[i], &a.Ranked[j]
	p := Pair{Better: b.Mechanism, Worse: w.Mechanism}
	cmp := benchmath.AssumeNothing.Compare(
		benchmath.NewSample(slices.Clone(b.Values), &benchmath.DefaultThresholds),
		benchmath.NewSample(slices.Clone(w.Values), &benchmath.DefaultThresholds))
	p.P = cmp.P
	p.MinP = MinP(len(b.Values), len(w.Values))
	p.Ratio = ratio(b.Median, w.Median, a.Figure.LowerBetter)
	p.CI95 = ratioCI(b.Values, w.Values, a.Figure.LowerBetter, 0.95)
	p.CI90 = ratioCI(b.Values, w.Values, a.Figure.LowerBetter, 0.90)
	p.Equivalent = p.CI90 != nil && p.CI90[0] >= 1/(1+Margin) && p.CI90[1] <= 1+Margin
	return p
}

// Holm adjusts p-values for the number of comparisons by Holm's step-down
// method: the i-th smallest of m is multiplied by m-i+1, and an adjusted
// value is never below that of a smaller p. Rejecting where the adjusted
// p is at most alpha keeps the chance of any false rejection at alpha.
func Holm(p []float64) []float64 {
	m := len(p)
	idx := make([]int, m)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return p[idx[i]] < p[idx[j]] })
	adj := make([]float64, m)
	running := 0.0
	for rank, i := range idx {
		v := min(1, float64(m-rank)*p[i])
		running = max(running, v)
		adj[i] = running
	}
	return adj
}

// MinP is the smallest two-sided p-value of the Mann-Whitney U test for
// samples of n1 and n2 values: both tails of the one most extreme ordering
// of the C(n1+n2, n1) equally likely ones. It is 0.1 for 3 against 3,
// 0.029 for 4 against 4, 0.0079 for 5 against 5.
func MinP(n1, n2 int) float64 {
	if n1 < 1 || n2 < 1 {
		return 1
	}
	return results.MinUTestP(n1, n2)
}

// RoundsNeeded is the fewest rounds per mechanism (the same for all) with
// which a context of m mechanisms can show a difference at all: the smallest
// p of one pair, times the m-1 comparisons Holm corrects for, at most Alpha.
func RoundsNeeded(m int) int { return roundsNeededAt(m, Alpha) }

// FirstRounds is how many rounds adaptive rounds start with for m
// mechanisms: at least MinRounds, and enough for a first look at AutoAlpha
// to show a difference at all: 5 for 2 mechanisms, 6 for 3 to 7, 7 for 8
// to 26.
func FirstRounds(m int) int { return max(MinRounds, roundsNeededAt(m, AutoAlpha)) }

func roundsNeededAt(m int, alpha float64) int {
	k := max(m-1, 1)
	n := 2
	for MinP(n, n)*float64(k) > alpha {
		n++
	}
	return n
}

// ratio is how many times better b is than w.
func ratio(b, w float64, lowerBetter bool) float64 {
	num, den := w, b
	if !lowerBetter {
		num, den = b, w
	}
	if den <= 0 || num <= 0 {
		return 0
	}
	return num / den
}

// ratioCI is the distribution-free confidence interval of the ratio of
// better to worse (as ratio defines it) that goes with the U test: the
// order statistics k and N+1-k of the N = n1·n2 ratios of one value from
// each sample, k from the exact null distribution of U (Bauer 1972, on the
// logarithms: a shift there is a ratio here). Nil when a value is not
// positive or the rounds are too few for the confidence asked.
func ratioCI(better, worse []float64, lowerBetter bool, conf float64) *[2]float64 {
	d := make([]float64, 0, len(better)*len(worse))
	for _, b := range better {
		for _, w := range worse {
			r := ratio(b, w, lowerBetter)
			if r == 0 {
				return nil
			}
			d = append(d, r)
		}
	}
	k := uCritical(len(better), len(worse), (1-conf)/2)
	if k < 1 {
		return nil
	}
	sort.Float64s(d)
	return &[2]float64{d[k-1], d[len(d)-k]}
}

// uCritical is the largest k with P(U ≤ k-1) ≤ tail under the null
// hypothesis, for samples of n1 and n2 values without ties: exact (and
// remembered) for up to 30 values in all, from the normal approximation
// with continuity correction above, where the exact distribution gets slow
// and the approximation is good.
func uCritical(n1, n2 int, tail float64) int {
	key := [3]float64{float64(n1), float64(n2), tail}
	if k, ok := criticalCache.Load(key); ok {
		return k.(int)
	}
	k := 0
	if n1+n2 <= 30 {
		dist := stats.UDist{N1: n1, N2: n2}
		for k < n1*n2/2 && dist.CDF(float64(k)) <= tail {
			k++
		}
	} else {
		mean := float64(n1*n2) / 2
		sd := math.Sqrt(float64(n1*n2*(n1+n2+1)) / 12)
		z := stats.StdNormal.InvCDF(tail)
		// P(U ≤ k-1) ≈ Φ((k-1+0.5-mean)/sd) ≤ tail.
		k = max(0, int(math.Floor(mean+z*sd+0.5)))
	}
	criticalCache.Store(key, k)
	return k
}

var criticalCache sync.Map

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

func workloadRank(w string) int {
	switch w {
	case results.PingPong:
		return 0
	case results.Stream:
		return 1
	}
	return 2
}

// Unresolved are the cells (mechanism and context) of f that another round
// could help: both cells of every adjacent pair that is neither told apart
// nor shown equivalent, in the order of the analyses.
func Unresolved(f *results.File) []results.Key {
	var out []results.Key
	for _, a := range Analyze(f) {
		for i := range a.Pairs {
			if a.Pairs[i].Resolved() {
				continue
			}
			for _, m := range []string{a.Pairs[i].Better, a.Pairs[i].Worse} {
				k := a.Context
				k.Mechanism = m
				if !slices.Contains(out, k) {
					out = append(out, k)
				}
			}
		}
	}
	return out
}

// Compute is the verdicts of every context of f.
func Compute(f *results.File) []results.Verdict {
	var out []results.Verdict
	for _, a := range Analyze(f) {
		out = append(out, a.Verdict())
	}
	return out
}

// Verdict is the analysis as results.json carries it.
func (a *Analysis) Verdict() results.Verdict {
	v := results.Verdict{
		Workload: a.Context.Workload, SizeBytes: a.Context.SizeBytes, Clients: a.Context.Clients, Rate: a.Context.Rate, PayloadOffset: a.Context.Offset,
		Figure: a.Figure.Name, Better: "higher",
		Medians: map[string]float64{}, N: map[string]int{},
		TooFewRounds: a.TooFew, Failed: a.Failed, Alpha: a.Alpha,
		Steps: []results.Step{},
	}
	if a.Figure.LowerBetter {
		v.Better = "lower"
	}
	for _, e := range a.Ranked {
		v.Medians[e.Mechanism] = e.Median
		v.N[e.Mechanism] = len(e.Values)
	}
	group := []string{a.Ranked[0].Mechanism}
	for i := range a.Pairs {
		p := &a.Pairs[i]
		if p.Equivalent {
			v.Equivalent = append(v.Equivalent, [2]string{p.Better, p.Worse})
		} else if !p.Separated {
			v.Unresolved = append(v.Unresolved, [2]string{p.Better, p.Worse})
		}
		if p.Separated && !a.TooFew {
			v.Groups = append(v.Groups, group)
			group = nil
			v.Steps = append(v.Steps, results.Step{Between: [2]string{p.Better, p.Worse}, Ratio: p.Ratio, CI: p.CI95, P: p.PHolm})
		}
		group = append(group, p.Worse)
	}
	v.Groups = append(v.Groups, group)
	v.Placement = a.placement()

	var notes []string
	if a.TooFew {
		notes = append(notes, a.tooFewText())
	}
	if v.Placement == results.MixedCPU {
		notes = append(notes, a.placementText())
	}
	if len(a.Failed) > 0 {
		notes = append(notes, "no figures from "+strings.Join(a.Failed, ", ")+" (failed)")
	}
	v.Note = strings.Join(notes, "; ")
	return v
}

// placement sums up the ranked rows' placements.
func (a *Analysis) placement() string {
	var kinds []string
	for k := range a.Placements {
		if k != "" {
			kinds = append(kinds, k)
		}
	}
	switch {
	case len(kinds) == 0:
		return ""
	case len(kinds) == 1 && kinds[0] != results.MixedCPU:
		return kinds[0]
	}
	return results.MixedCPU
}

func (a *Analysis) placementText() string {
	total := 0
	for _, n := range a.Placements {
		total += n
	}
	var parts []string
	for _, k := range []struct{ kind, text string }{
		{results.SameCPU, "both sides on one CPU"},
		{results.CrossCPU, "on different CPUs"},
		{results.MixedCPU, "moving between CPUs"},
		{"", "not recorded"},
	} {
		if n := a.Placements[k.kind]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s in %d", k.text, n))
		}
	}
	return fmt.Sprintf("the rounds mixed CPU placements (of %d: %s)", total, strings.Join(parts, ", "))
}

// tooFewText says why no difference can be significant, and how many
// rounds would do.
func (a *Analysis) tooFewText() string {
	lo, hi := len(a.Ranked[0].Values), len(a.Ranked[0].Values)
	smallest := 1.0
	for _, e := range a.Ranked {
		lo, hi = min(lo, len(e.Values)), max(hi, len(e.Values))
	}
	for i := range a.Pairs {
		smallest = min(smallest, a.Pairs[i].MinP)
	}
	n := "n=" + strconv.Itoa(lo)
	if hi != lo {
		n = fmt.Sprintf("n=%d to %d", lo, hi)
	}
	need := fmt.Sprintf("-rounds %d or more", RoundsNeeded(len(a.Ranked)))
	if a.auto {
		need = fmt.Sprintf("%d rounds each or more", FirstRounds(len(a.Ranked)))
	}
	if len(a.Pairs) == 1 {
		return fmt.Sprintf("not enough rounds: %s can give no p below %s (%s)", n, formatP(smallest), need)
	}
	return fmt.Sprintf("not enough rounds: %s can give no p below %s, and %d comparisons need one of %s or less (%s)",
		n, formatP(smallest), len(a.Pairs), formatP(a.Alpha/float64(len(a.Pairs))), need)
}

// formatP prints a p-value with two significant digits: 0.1, 0.0079.
func formatP(p float64) string { return strconv.FormatFloat(p, 'g', 2, 64) }
