package results

// Verdict says, for one cell context (a workload and message size, with any
// other dimension the rows have), which mechanisms the rounds tell apart: the
// mechanisms in tiers, best first, where a tier holds mechanisms whose
// differences the rounds do not show to be real. Package verdict computes it;
// here it is data, as results.json carries it.
type Verdict struct {
	Workload  string `json:"workload"`
	SizeBytes int    `json:"size_bytes"`
	// Clients is the number of clients of a server or connect context.
	Clients int `json:"clients,omitempty"`
	// Rate is an open-loop context's offered load as asked for ("2000/s",
	// "50%"); empty for closed loop.
	Rate string `json:"rate,omitempty"`
	// PayloadOffset is the context's payload placement (-offset), when not 0.
	PayloadOffset int `json:"payload_offset,omitempty"`
	// Figure is the figure the mechanisms are ranked by: "rtt_p50" (lower
	// is better) or "bytes_per_s" (higher is better), or the workload's
	// own headline figure.
	Figure string `json:"figure"`
	// Better is "lower" or "higher": which way the figure improves.
	Better string `json:"better"`
	// Alpha is the level the Holm-corrected tests were held to: 0.05, or
	// less for adaptive rounds, which look at the figures several times.
	Alpha float64 `json:"alpha,omitempty"`
	// Groups are the tiers, best first; in a tier, the better median first.
	Groups [][]string `json:"groups"`
	// Steps are the differences between adjacent groups: Steps[i] is from
	// Groups[i] to Groups[i+1].
	Steps []Step `json:"steps"`
	// Note says in one sentence what limits the verdict (too few rounds,
	// mixed CPU placements, pairs left unresolved); empty when nothing does.
	Note string `json:"note,omitempty"`

	// Medians and N are each ranked mechanism's median of the figure over
	// its rounds and how many rounds it had.
	Medians map[string]float64 `json:"medians,omitempty"`
	N       map[string]int     `json:"n,omitempty"`
	// TooFewRounds is set when no comparison could be significant with the
	// rounds there were: the groups are then one tier in median order, not
	// a ranking.
	TooFewRounds bool `json:"too_few_rounds,omitempty"`
	// Equivalent are the adjacent pairs shown to be within the equivalence
	// margin (±5%, two one-sided tests at alpha 0.05); Unresolved are the
	// adjacent pairs neither told apart nor shown equivalent: more rounds
	// would help them.
	Equivalent [][2]string `json:"equivalent,omitempty"`
	Unresolved [][2]string `json:"unresolved,omitempty"`
	// Placement is "same-cpu" or "cross-cpu" when every ranked row had
	// that placement, "mixed" when they differed (or a row's sides moved),
	// empty when none was recorded.
	Placement string `json:"placement,omitempty"`
	// Failed are the mechanisms of this context without figures (every
	// round failed), which the verdict cannot place.
	Failed []string `json:"failed,omitempty"`
}

// Step is the difference between two adjacent tiers, measured on the pair of
// mechanisms at their boundary: the last of the better tier and the first of
// the worse.
type Step struct {
	// Between is that pair, better first.
	Between [2]string `json:"between"`
	// Ratio is how many times better the better one is (at least 1): the
	// ratio of the medians, worse over better for a figure where lower is
	// better, better over worse otherwise.
	Ratio float64 `json:"ratio"`
	// CI is the 95% confidence interval of the ratio (the distribution-free
	// interval that goes with the Mann-Whitney U test); absent when the
	// rounds are too few for one.
	CI *[2]float64 `json:"ci,omitempty"`
	// P is the Holm-corrected p-value of the U test of the pair.
	P float64 `json:"p"`
}

// Placement values of a row: where the scheduler ran the two sides of a cell
// that was not pinned, from samples of each side's CPU.
const (
	SameCPU  = "same-cpu"  // driver and peer were always seen on one CPU
	CrossCPU = "cross-cpu" // always on different CPUs
	MixedCPU = "mixed"     // a side moved, or they shared a CPU only some of the time
)

// VerdictChange is a context whose verdict differs between two runs: its
// tiers (not merely the ratios) are not the same.
type VerdictChange struct {
	Workload  string `json:"workload"`
	SizeBytes int    `json:"size_bytes"`
	Clients   int    `json:"clients,omitempty"`
	Rate      string `json:"rate,omitempty"`
	// Old and New are the context's verdict in each run, nil when a run
	// has none (fewer than two mechanisms with figures).
	Old *Verdict `json:"old"`
	New *Verdict `json:"new"`
	// Contradictions are the pairs {A, B} that the old run ranks A above B
	// and the new run B above A, each significantly: they cannot both be
	// right, so the runs measured different things (or one was unlucky).
	Contradictions [][2]string `json:"contradictions,omitempty"`
}
