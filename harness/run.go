package harness

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/ipcbench/ipcbench/internal/cacheline"
	"github.com/ipcbench/ipcbench/internal/host"
	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/results"
)

// Options is one whole run: which cells, how long each, and how.
type Options struct {
	Transports []ipc.Transport // in the order the user listed them
	// Known is every mechanism the program has, when not nil: the run
	// records the limits of all of them in meta.limits (see Limits).
	Known     []ipc.Transport
	Workloads []string // results.PingPong, results.Stream
	Sizes     []int
	// Offsets are the payload placements measured, each a dimension of the
	// matrix: where every message's payload starts past a page boundary in
	// both sides' buffers, 0 to the page size - 1 (nil: {0}, page-aligned).
	Offsets []int

	// Count, when set, is the number of messages per cell (per pair);
	// otherwise each cell is measured for Duration.
	Count    int64
	Duration time.Duration
	// Warmup runs the workload unmeasured before each cell.
	Warmup time.Duration
	// Rounds repeats the whole matrix, cells in a new shuffled order each
	// round, drawn from Seed (0: pick one and record it).
	Rounds int
	Seed   int64
	// Auto, when set, makes the rounds adaptive (-rounds auto): after the
	// Rounds every cell gets, more rounds of the cells that need them.
	Auto *AutoRounds

	IO ipc.IOMode
	// CPUs, when set, is {driver CPU, peer CPU}: each side's measuring
	// thread is pinned there. The same CPU twice is allowed.
	CPUs []int
	// Pairs is the number of driver/peer pairs run at once in every cell.
	Pairs int
	// Clients are the numbers of client processes that share one server
	// process in the server and connect workloads: a cell each (default:
	// 1).
	Clients []int
	// Rates, when set, make pingpong open-loop: a cell per offered load,
	// each sending on a fixed schedule (Poisson arrivals when Poisson is
	// set) whatever the echoes do. Only pingpong has them: a stream sends
	// as fast as the mechanism takes already, and a server's clients are
	// closed loops by definition.
	Rates   []Rate
	Poisson bool
	// Timeout bounds every wait on a peer: starting, joining, and any
	// stretch of the cell in which it makes no progress.
	Timeout time.Duration
	// Verify checks every payload byte, not just the header (slower).
	Verify bool
	// Remote, when set, is the HOST:PORT of an `ipcbench serve` peer: every
	// pair is a TCP session with it instead of a local peer process.
	// RemoteInfo is what the server said about itself (Run asks if nil).
	Remote     string
	RemoteInfo *ServerInfo

	// Progress, when not nil, is called as each cell starts (Result nil)
	// and as it ends. It is called between cells, never while one is
	// measured, so it may take its time. The harness only reports; how
	// progress is shown (a bar, plain lines, nothing) is the caller's choice.
	Progress func(CellProgress)
	// Command and Version go into the results' meta as they are.
	Command, Version string

	// runCellFunc and now stand in for measuring a cell and for the wall
	// clock in tests of the rounds (nil: the real ones).
	runCellFunc func(context.Context, cell) results.Result
	now         func() time.Time
}

// AutoRounds is how adaptive rounds go on after the first Options.Rounds:
// round after round of only the cells Unresolved names, each round shuffled,
// until Unresolved names none, a cell has had MaxRounds, or the next round
// would not end within Budget of the run's start. What is left unresolved
// the verdicts say.
type AutoRounds struct {
	// Budget bounds the whole run's wall time. The first Options.Rounds
	// always run; a further round starts only if it is expected to end in
	// time, by what the same cells took in their last round.
	Budget time.Duration
	// MaxRounds is the most rounds any cell gets.
	MaxRounds int
	// Growth is how the rounds grow from one look at the verdicts to the
	// next: the cells still unresolved are brought to Growth times the
	// rounds of the last look (1.5 when 0), so there are few looks.
	Growth float64
	// Unresolved names the cells of the results so far (rows' keys) that
	// another round could settle (verdict.Unresolved does).
	Unresolved func(*results.File) []results.Key
}

// Auto-round stop reasons, as meta.rounds_auto.stopped records them.
const (
	StopResolved    = "resolved"
	StopBudget      = "budget"
	StopMaxRounds   = "max rounds"
	StopInterrupted = "interrupted"
)

func (o *Options) check() error {
	switch {
	case len(o.Transports) == 0:
		return errors.New("no mechanism to measure")
	case len(o.Workloads) == 0:
		return errors.New("no workload to run")
	case len(o.Sizes) == 0:
		return errors.New("no message size to measure")
	case o.Count < 0:
		return errors.New("the message count must be at least 1")
	case o.Count == 0 && o.Duration <= 0:
		return errors.New("the duration must be positive")
	case o.Warmup < 0:
		return errors.New("the warm-up cannot be negative")
	case o.Rounds < 1:
		return errors.New("the number of rounds must be at least 1")
	case o.Auto != nil && (o.Auto.Budget <= 0 || o.Auto.Unresolved == nil):
		return errors.New("adaptive rounds need a positive budget and a rule for what is unresolved")
	case o.Auto != nil && o.Auto.MaxRounds < o.Rounds:
		return errors.New("adaptive rounds: the most rounds cannot be fewer than the first rounds")
	case o.Pairs < 1:
		return errors.New("the number of pairs must be at least 1")
	case o.Timeout <= 0:
		return errors.New("the timeout must be positive")
	case o.IO != ipc.IORaw && o.IO != ipc.IOGo:
		return fmt.Errorf("unknown io mode %q: use raw or go", o.IO)
	case len(o.CPUs) != 0 && len(o.CPUs) != 2:
		return errors.New("give two CPUs: the driver's and the peer's")
	}
	for _, w := range o.Workloads {
		switch w {
		case results.PingPong, results.Stream:
		case results.Server, results.Connect:
			if o.Remote != "" {
				return fmt.Errorf("-remote runs the pingpong and stream workloads, not %s: its clients would have to run on the other machine too", w)
			}
		default:
			return fmt.Errorf("unknown workload %q: use pingpong, stream, server or connect", w)
		}
	}
	for _, n := range o.Clients {
		if n < 1 || n > MaxClients {
			return fmt.Errorf("the number of clients must be 1 to %d (each is a process), not %d", MaxClients, n)
		}
	}
	for _, s := range o.Sizes {
		if err := checkSize(int64(s)); err != nil {
			return err
		}
	}
	for _, off := range o.Offsets {
		if err := CheckOffset(off); err != nil {
			return err
		}
	}
	// Each pair's driver holds two frames of the largest size: refuse a
	// run whose buffers alone would be too much, rather than be killed.
	largest := int64(slices.Max(o.Sizes))
	if need := int64(o.Pairs) * 2 * largest; need > MaxDriverBuffers {
		return fmt.Errorf("-pairs %d with %s messages needs %s of message buffers in the driver alone, more than the %s allowed: use fewer pairs or smaller messages",
			o.Pairs, sizeString(largest), sizeString(need), sizeString(int64(MaxDriverBuffers)))
	}
	if o.Seed < 0 || o.Seed > MaxSeed {
		return fmt.Errorf("-seed must be 1 to 2^53-1 (%d), so that JSON readers keep it exact, not %d", int64(MaxSeed), o.Seed)
	}
	if err := CheckFeasible(o); err != nil {
		return err
	}
	return host.CheckCPUs(o.CPUs)
}

// MaxSeed is the largest seed: 2^53-1, the largest integer a JSON reader
// that uses doubles (jq, JavaScript) keeps exact.
const MaxSeed = 1<<53 - 1

// Run measures every cell o asks for and returns the results. A cell that
// fails is a row with its error; Run's own error is for a run that could
// not start. When ctx is cancelled, Run stops within the current cell and
// returns what it has, marked incomplete.
func Run(ctx context.Context, o Options) (*results.File, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if o.Seed == 0 {
		// From the clock, below 2^53 (and never 0) so that it is recorded
		// exactly and -seed replays it.
		o.Seed = max(1, time.Now().UnixNano()&MaxSeed)
	}
	if o.Remote != "" && o.RemoteInfo == nil {
		info, err := ProbeRemote(o.Remote, o.Timeout)
		if err != nil {
			return nil, err
		}
		o.RemoteInfo = info
	}
	if o.IO == ipc.IOGo && len(o.CPUs) == 2 {
		restore, err := host.PinProcess(o.CPUs[0])
		if err != nil {
			return nil, err
		}
		defer restore()
	}
	f := &results.File{Schema: results.Schema, Meta: o.meta()}
	f.Meta.Remote = o.RemoteInfo
	start := o.clock() // the budget counts the floors' measuring too
	f.Meta.Floors = measureFloors(o.Sizes, f.Meta.Offsets, o.CPUs)
	if o.Remote == "" {
		// Between two local processes placed as the cells' sides are; a
		// cross-host run has no such floor.
		ns, err := cacheline.Measure(o.CPUs, o.Timeout)
		if err != nil {
			f.Meta.Floors.CacheLineError = err.Error()
		}
		f.Meta.Floors.CacheLineRTTNS = float64(ns)
	}
	var cells []cell
	for _, t := range o.Transports {
		for _, w := range o.Workloads {
			for _, s := range o.Sizes {
				for _, n := range o.clientsOf(w) {
					for _, rate := range o.ratesOf(w) {
						for _, off := range o.offsets() {
							cells = append(cells, cell{t: t, workload: w, size: s, clients: n, rate: rate, offset: off})
						}
					}
				}
			}
		}
	}
	r := &rounds{o: &o, f: f, ctx: ctx, total: len(cells) * o.Rounds,
		rng: rand.New(rand.NewPCG(uint64(o.Seed), 0x1bc)), took: map[results.Key]time.Duration{},
		byKey: map[results.Key]cell{}, count: map[results.Key]int{}}
	if o.Auto != nil {
		// Set before the first look: the verdicts' level depends on it.
		f.Meta.RoundsAuto = &results.AutoRounds{
			Min: o.Rounds, BudgetNS: int64(o.Auto.Budget), Max: o.Auto.MaxRounds,
		}
	}
	for round := 1; round <= o.Rounds; round++ {
		if !r.run(round, cells) {
			break
		}
	}
	if o.Auto != nil {
		f.Meta.RoundsAuto.Stopped = r.more(start)
		f.Meta.RoundsAuto.ElapsedNS = int64(o.clock().Sub(start))
		for _, n := range r.count {
			f.Meta.Rounds = max(f.Meta.Rounds, n)
		}
	}
	sortRows(f.Results, o)
	return f, nil
}

// rounds runs rounds of cells into a results file, and remembers what each
// cell took and how many rounds it has had.
type rounds struct {
	o           *Options
	f           *results.File
	ctx         context.Context
	rng         *rand.Rand
	done, total int
	took        map[results.Key]time.Duration // each cell's last round
	byKey       map[results.Key]cell          // the cell that made rows of a key
	count       map[results.Key]int           // rounds with a row
}

// run runs one round of the cells in a shuffled order and reports whether
// the run goes on (false once interrupted).
func (r *rounds) run(round int, cells []cell) bool {
	order := slices.Clone(cells)
	r.rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	for _, c := range order {
		if r.ctx.Err() != nil {
			r.f.Meta.Incomplete = true
			return false
		}
		c.round = round
		r.o.progress(r.done, r.total, c, nil)
		t0 := r.o.clock()
		res := r.o.cellRunner()(r.ctx, c)
		if r.ctx.Err() != nil {
			r.f.Meta.Incomplete = true // the cell was cut short: not a figure
			return false
		}
		if res.Workload == results.Stream && !res.Failed() && r.o.Remote == "" {
			res.CopyLimitFraction = copyLimitFraction(r.f.Meta.Floors, c.size, c.offset, res.BytesPerS)
		}
		k := res.Key()
		r.took[k] = r.o.clock().Sub(t0)
		r.byKey[k] = c
		r.count[k]++
		r.done++
		r.o.progress(r.done, r.total, c, &res)
		r.f.Results = append(r.f.Results, res)
	}
	return true
}

// more runs the adaptive rounds after the first ones and says why they
// stopped.
func (r *rounds) more(start time.Time) string {
	a := r.o.Auto
	growth := a.Growth
	if growth <= 1 {
		growth = 1.5
	}
	round, target := r.o.Rounds, r.o.Rounds
	for {
		if r.f.Meta.Incomplete {
			return StopInterrupted
		}
		// A look: which cells could another round help?
		keys := a.Unresolved(r.f)
		if len(keys) == 0 {
			return StopResolved
		}
		target = min(a.MaxRounds, max(target+1, int(math.Ceil(float64(target)*growth))))
		// Bring them all to target rounds, a shuffled round at a time,
		// without looking in between: the looks are what the verdicts'
		// level accounts for.
		for {
			var next []cell
			var expect time.Duration
			for _, k := range keys {
				c, ok := r.byKey[k]
				if !ok || r.count[k] >= target {
					continue
				}
				next = append(next, c)
				expect += r.took[k]
			}
			if len(next) == 0 {
				break
			}
			if r.o.clock().Sub(start)+expect > a.Budget {
				return StopBudget
			}
			round++
			r.total += len(next)
			if !r.run(round, next) {
				return StopInterrupted
			}
		}
		if target >= a.MaxRounds {
			if len(a.Unresolved(r.f)) == 0 {
				return StopResolved
			}
			return StopMaxRounds
		}
	}
}

func (o *Options) clock() time.Time {
	if o.now != nil {
		return o.now()
	}
	return time.Now()
}

func (o *Options) cellRunner() func(context.Context, cell) results.Result {
	if o.runCellFunc != nil {
		return o.runCellFunc
	}
	return o.runCell
}

// sortRows puts rows in a stable order that does not depend on the
// shuffle: round, then mechanism as listed, workload, size.
func sortRows(rows []results.Result, o Options) {
	rank := func(list []string, s string) int { return slices.Index(list, s) }
	var mechs []string
	for _, t := range o.Transports {
		mechs = append(mechs, t.Name())
	}
	slices.SortStableFunc(rows, func(a, b results.Result) int {
		switch {
		case a.Round != b.Round:
			return a.Round - b.Round
		case a.Mechanism != b.Mechanism:
			return rank(mechs, a.Mechanism) - rank(mechs, b.Mechanism)
		case a.Workload != b.Workload:
			return rank(o.Workloads, a.Workload) - rank(o.Workloads, b.Workload)
		case a.SizeBytes != b.SizeBytes:
			return a.SizeBytes - b.SizeBytes
		case a.Clients != b.Clients:
			return a.Clients - b.Clients
		case a.RatePercent != b.RatePercent:
			return cmp.Compare(a.RatePercent, b.RatePercent)
		case a.Rate != b.Rate:
			return cmp.Compare(a.Rate, b.Rate)
		}
		return a.PayloadOffset - b.PayloadOffset
	})
}

// offsets are the payload offsets the cells run at: Offsets, or 0 alone.
func (o *Options) offsets() []int {
	if len(o.Offsets) == 0 {
		return []int{0}
	}
	return o.Offsets
}

// ratesOf is the offered loads of a workload's cells: none (closed loop)
// but for pingpong with -rate.
func (o *Options) ratesOf(workload string) []Rate {
	if workload != results.PingPong || len(o.Rates) == 0 {
		return []Rate{{}}
	}
	return o.Rates
}

// clientsOf is the numbers of clients a workload's cells run with: 0 (no
// clients) for pingpong and stream.
func (o *Options) clientsOf(workload string) []int {
	switch {
	case !isServerWorkload(workload):
		return []int{0}
	case len(o.Clients) == 0:
		return []int{1}
	}
	return o.Clients
}

func (o *Options) progress(done, total int, c cell, r *results.Result) {
	if o.Progress == nil {
		return
	}
	p := CellProgress{Done: done, Total: total, Mechanism: c.t.Name(), Workload: c.workload, Size: c.size, Clients: c.clients, Offset: c.offset, Result: r}
	if o.Rounds > 1 || o.Auto != nil {
		p.Round = c.round
	}
	o.Progress(p)
}

// CellProgress is what Options.Progress learns about one cell.
type CellProgress struct {
	// Done is how many cells have ended, this one included once it has;
	// Total is how many the run has, rounds included.
	Done, Total int
	Mechanism   string
	Workload    string
	Size        int
	// Clients is the number of clients of a server or connect cell, else 0.
	Clients int
	// Offset is the cell's payload offset (-offset).
	Offset int
	// Round is the cell's round, or 0 when the run has only one.
	Round int
	// Result is nil as the cell starts, and its row once it has ended.
	Result *results.Result
}

// Name names the cell for a person: "pipe pingpong 64 B", with " round 2"
// when the run has several rounds.
func (p CellProgress) Name() string {
	name := p.Mechanism + " " + p.Workload + " " + sizeString(p.Size)
	if p.Clients > 0 {
		name += " " + clientsText(p.Clients)
	}
	if p.Offset != 0 {
		name += fmt.Sprintf(" offset %d", p.Offset)
	}
	if p.Round > 0 {
		name += fmt.Sprintf(" round %d", p.Round)
	}
	return name
}

// Line is an ended cell's progress as one plain line, columns aligned from
// cell to cell, for a log or a stderr that is not a terminal:
//
//	[ 3/40] pipe       pingpong     64 B round 2  round trip p50 12µs  p99 40µs
func (p CellProgress) Line() string {
	var what string
	switch r := p.Result; {
	case r == nil:
		what = "started"
	case r.Failed():
		what = "error: " + r.Error
	case r.IsSkipped():
		what = "skipped: " + r.Skipped
	case r.Workload == results.Connect && r.RTT != nil:
		what = fmt.Sprintf("%.0f conn/s  transaction p50 %v  connect p50 %v", r.ConnectionsPerS, time.Duration(r.RTT.P50), time.Duration(r.Connect.P50))
	case r.Workload == results.Server && r.RTT != nil:
		what = fmt.Sprintf("%.0f req/s  round trip p50 %v  p99 %v  fairness %.3f", r.MsgsPerS, time.Duration(r.RTT.P50), time.Duration(r.RTT.P99), r.Fairness)
	case r.RTT != nil:
		what = fmt.Sprintf("round trip p50 %v  p99 %v", time.Duration(r.RTT.P50), time.Duration(r.RTT.P99))
	default:
		what = fmt.Sprintf("%.1f MB/s  %.0f msg/s", r.BytesPerS/1e6, r.MsgsPerS)
	}
	round := ""
	if p.Clients > 0 {
		round = " " + clientsText(p.Clients)
	}
	if p.Offset != 0 {
		round += fmt.Sprintf(" offset %d", p.Offset)
	}
	if p.Round > 0 {
		round += fmt.Sprintf(" round %d", p.Round)
	}
	return fmt.Sprintf("[%*d/%d] %-10s %-8s %8s%s  %s", len(fmt.Sprint(p.Total)), p.Done, p.Total,
		p.Mechanism, p.Workload, sizeString(p.Size), round, what)
}

// clientsText is "1 client" or "N clients".
func clientsText(n int) string {
	if n == 1 {
		return "1 client"
	}
	return fmt.Sprintf("%d clients", n)
}
