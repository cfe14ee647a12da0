package results

import (
	"math"
	"slices"
	"sort"
)

// NoisyThreshold is the spread across rounds, as a fraction of the median,
// above which a cell is marked noisy.
const NoisyThreshold = 0.10

// Cell is one mechanism x workload x size over all its rounds: what a table
// row or a plot point shows.
type Cell struct {
	Key
	// Rows are the rounds that produced figures, in round order.
	Rows []*Result
	// Errors are the distinct errors of the rounds that did not.
	Errors []string
	// Pieces and Note come from the rows (they are the same every round).
	Pieces int
	Note   string
	// Skipped says why the cell does not apply to its mechanism, when its
	// rows say so: it then has neither Rows nor Errors.
	Skipped string

	RTTP50, RTTP99      Summary // pingpong: per-round p50 and p99 round trip, ns
	OneWayP50           Summary // pingpong: per-round p50 one-way delay, ns
	MsgsPerS, BytesPerS Summary // per-round throughput
	// Server and connect: Jain's fairness index, connections/s and the p50
	// of connect(2) alone, per round.
	Fairness, ConnectionsPerS, ConnectP50 Summary
	// Lossy is set when the rows carry loss counts (a lossy mechanism);
	// LostFraction is then the per-round share of messages lost, and Lost
	// and Reordered the totals over the rounds.
	Lossy           bool
	LostFraction    Summary
	Lost, Reordered int64
	// Open loop (-rate): the offered load and the per-round p50 and p99
	// round trip from the intended send time.
	Rate                             Summary
	RTTCorrectedP50, RTTCorrectedP99 Summary
	// Cost per message of each side, per round: CPU (user+sys) ns,
	// syscalls (none when the Conn does not count them), CPU per wall
	// time. Rows from before cost was measured have none.
	DriverCPU, PeerCPU               Summary
	DriverSyscalls, PeerSyscalls     Summary
	DriverCPUPerWall, PeerCPUPerWall Summary
}

// Summary is one figure across rounds: the median of the rounds and their
// range. Honest about noise: the range is shown, never averaged away.
type Summary struct {
	N                int
	Median, Min, Max float64
}

// Spread is the range of the rounds as a fraction of their median.
func (s Summary) Spread() float64 {
	if s.N < 2 || s.Median == 0 {
		return 0
	}
	return (s.Max - s.Min) / s.Median
}

// Noisy reports whether the rounds disagree by more than NoisyThreshold.
func (s Summary) Noisy() bool { return s.Spread() > NoisyThreshold }

// Failed reports whether no round of the cell produced figures. A skipped
// cell has none either: ask IsSkipped first where the two read differently.
func (c *Cell) Failed() bool { return len(c.Rows) == 0 }

// IsSkipped reports whether the cell does not apply to its mechanism: its
// rows say why (Skipped), and it has no figures and no errors.
func (c *Cell) IsSkipped() bool { return c.Skipped != "" && len(c.Rows) == 0 && len(c.Errors) == 0 }

// Noisy reports whether the cell's headline figure varies too much across
// rounds: the p50 round trip for pingpong, bytes/s for stream, requests/s
// for server, connections/s for connect.
func (c *Cell) Noisy() bool {
	switch c.Workload {
	case PingPong:
		return c.RTTP50.Noisy()
	case Server:
		return c.MsgsPerS.Noisy()
	case Connect:
		return c.ConnectionsPerS.Noisy()
	}
	return c.BytesPerS.Noisy()
}

// Summarize computes a Summary of the values (NaNs are skipped).
func Summarize(values []float64) Summary {
	v := make([]float64, 0, len(values))
	for _, x := range values {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return Summary{}
	}
	sort.Float64s(v)
	med := v[len(v)/2]
	if len(v)%2 == 0 {
		med = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return Summary{N: len(v), Median: med, Min: v[0], Max: v[len(v)-1]}
}

// Matrix is a results file grouped into cells, with the axes in the order a
// table or plot shows them.
type Matrix struct {
	Mechanisms []string // in order of first appearance in the file
	Workloads  []string // pingpong before stream, then any other
	Sizes      []int    // ascending
	// Clients are the numbers of clients of the server and connect cells,
	// ascending (none when the file has no such cells).
	Clients []int
	// Offsets are the payload offsets of the rows, ascending; Offset is the
	// one Cell looks up (the first; see At).
	Offsets []int
	Offset  int
	Cells   map[Key]*Cell
}

// CellAt returns the cell for the key, or nil when the file has none.
func (m *Matrix) CellAt(k Key) *Cell { return m.Cells[k] }

// Cell returns the cell for the key at the matrix's offset, or nil when the
// file has none.
func (m *Matrix) Cell(mech, workload string, size int) *Cell {
	return m.Cells[Key{Mechanism: mech, Workload: workload, SizeBytes: size, Offset: m.Offset}]
}

// At is the matrix seen at one payload offset: its Cell looks up that
// offset's cells. It shares the cells with m.
func (m *Matrix) At(offset int) *Matrix {
	at := *m
	at.Offset = offset
	return &at
}

// workloadRank puts pingpong before stream before any other workload, the
// order tables and comparisons show them in.
func workloadRank(w string) int {
	switch w {
	case PingPong:
		return 0
	case Stream:
		return 1
	}
	return 2
}

// Aggregate groups the file's rows into cells.
func Aggregate(f *File) *Matrix {
	m := &Matrix{Cells: map[Key]*Cell{}}
	for i := range f.Results {
		r := &f.Results[i]
		if !slices.Contains(m.Mechanisms, r.Mechanism) {
			m.Mechanisms = append(m.Mechanisms, r.Mechanism)
		}
		if !slices.Contains(m.Workloads, r.Workload) {
			m.Workloads = append(m.Workloads, r.Workload)
		}
		if !slices.Contains(m.Sizes, r.SizeBytes) {
			m.Sizes = append(m.Sizes, r.SizeBytes)
		}
		if !slices.Contains(m.Offsets, r.PayloadOffset) {
			m.Offsets = append(m.Offsets, r.PayloadOffset)
		}
		if r.Clients > 0 && !slices.Contains(m.Clients, r.Clients) {
			m.Clients = append(m.Clients, r.Clients)
		}
		c := m.Cells[r.Key()]
		if c == nil {
			c = &Cell{Key: r.Key()}
			m.Cells[r.Key()] = c
		}
		if r.Pieces != 0 {
			c.Pieces = r.Pieces
		}
		if r.Note != "" {
			c.Note = r.Note
		}
		if r.IsSkipped() {
			c.Skipped = r.Skipped
			continue
		}
		if r.Failed() {
			if !slices.Contains(c.Errors, r.Error) {
				c.Errors = append(c.Errors, r.Error)
			}
			continue
		}
		c.Rows = append(c.Rows, r)
	}
	sort.Ints(m.Sizes)
	sort.Ints(m.Offsets)
	if len(m.Offsets) > 0 {
		m.Offset = m.Offsets[0]
	}
	sort.Ints(m.Clients)
	sort.SliceStable(m.Workloads, func(i, j int) bool { return workloadRank(m.Workloads[i]) < workloadRank(m.Workloads[j]) })
	for _, c := range m.Cells {
		sort.SliceStable(c.Rows, func(i, j int) bool { return c.Rows[i].Round < c.Rows[j].Round })
		c.RTTP50 = summarizeRows(c.Rows, func(r *Result) float64 { return statOf(r.RTT, func(s *Stats) int64 { return s.P50 }) })
		c.RTTP99 = summarizeRows(c.Rows, func(r *Result) float64 { return statOf(r.RTT, func(s *Stats) int64 { return s.P99 }) })
		c.OneWayP50 = summarizeRows(c.Rows, func(r *Result) float64 { return statOf(r.OneWay, func(s *Stats) int64 { return s.P50 }) })
		c.MsgsPerS = summarizeRows(c.Rows, func(r *Result) float64 { return r.MsgsPerS })
		c.BytesPerS = summarizeRows(c.Rows, func(r *Result) float64 { return r.BytesPerS })
		c.Fairness = summarizeRows(c.Rows, func(r *Result) float64 { return nanIfZero(r.Fairness) })
		c.ConnectionsPerS = summarizeRows(c.Rows, func(r *Result) float64 { return nanIfZero(r.ConnectionsPerS) })
		c.ConnectP50 = summarizeRows(c.Rows, func(r *Result) float64 { return statOf(r.Connect, func(s *Stats) int64 { return s.P50 }) })
		for _, r := range c.Rows {
			if r.Lost != nil {
				c.Lossy = true
				c.Lost += *r.Lost
			}
			if r.Reordered != nil {
				c.Lossy = true
				c.Reordered += *r.Reordered
			}
		}
		if c.Lossy {
			c.LostFraction = summarizeRows(c.Rows, (*Result).LostFraction)
		}
		c.Rate = summarizeRows(c.Rows, func(r *Result) float64 { return nanIfZero(r.Rate) })
		c.RTTCorrectedP50 = summarizeRows(c.Rows, func(r *Result) float64 { return statOf(r.RTTCorrected, func(s *Stats) int64 { return s.P50 }) })
		c.RTTCorrectedP99 = summarizeRows(c.Rows, func(r *Result) float64 { return statOf(r.RTTCorrected, func(s *Stats) int64 { return s.P99 }) })
		side := func(peer bool, get func(*SideCost) float64) Summary {
			return summarizeRows(c.Rows, func(r *Result) float64 {
				if r.Cost == nil {
					return math.NaN()
				}
				sc := r.Cost.Driver
				if peer {
					sc = r.Cost.Peer
				}
				if sc == nil {
					return math.NaN()
				}
				return get(sc)
			})
		}
		syscalls := func(sc *SideCost) float64 {
			if sc.Syscalls == nil {
				return math.NaN()
			}
			return *sc.Syscalls
		}
		c.DriverCPU, c.PeerCPU = side(false, (*SideCost).CPUNS), side(true, (*SideCost).CPUNS)
		c.DriverSyscalls, c.PeerSyscalls = side(false, syscalls), side(true, syscalls)
		perWall := func(sc *SideCost) float64 { return sc.CPUPerWall }
		c.DriverCPUPerWall, c.PeerCPUPerWall = side(false, perWall), side(true, perWall)
	}
	return m
}

// Rates are the open-loop loads the file's rows were asked for, as
// Result.RateText gives them, lowest first (numbers before percentages).
func (m *Matrix) Rates() []string {
	type rate struct {
		text    string
		percent bool
		v       float64
	}
	var rs []rate
	for k, c := range m.Cells {
		if k.Rate == "" || slices.ContainsFunc(rs, func(r rate) bool { return r.text == k.Rate }) {
			continue
		}
		r := rate{text: k.Rate}
		if len(c.Rows) > 0 {
			r.percent = c.Rows[0].RatePercent > 0
			r.v = c.Rows[0].RatePercent
			if !r.percent {
				r.v = c.Rows[0].Rate
			}
		}
		rs = append(rs, r)
	}
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].percent != rs[j].percent {
			return !rs[i].percent
		}
		if rs[i].v != rs[j].v {
			return rs[i].v < rs[j].v
		}
		return rs[i].text < rs[j].text
	})
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.text
	}
	return out
}

func summarizeRows(rows []*Result, get func(*Result) float64) Summary {
	v := make([]float64, 0, len(rows))
	for _, r := range rows {
		v = append(v, get(r))
	}
	return Summarize(v)
}

// nanIfZero is v, or NaN when it is 0: a figure results.json omits when
// the row has none.
func nanIfZero(v float64) float64 {
	if v == 0 {
		return math.NaN()
	}
	return v
}

// statOf reads one figure of optional stats; NaN when there are none.
func statOf(s *Stats, get func(*Stats) int64) float64 {
	if s == nil {
		return math.NaN()
	}
	return float64(get(s))
}

// Rounds is how many distinct rounds the rows come from: what the
// medians are taken over, whatever the run asked for.
func (f *File) Rounds() int {
	var seen []int
	for i := range f.Results {
		if r := f.Results[i].Round; !slices.Contains(seen, r) {
			seen = append(seen, r)
		}
	}
	return len(seen)
}
