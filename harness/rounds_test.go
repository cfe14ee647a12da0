package harness

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/results"
	"github.com/ipcbench/ipcbench/verdict"
)

// fakeRun is a run whose cells are not measured: each cell "takes" perCell
// of a fake clock and gives a p50 round trip drawn around its mechanism's
// center with the given relative noise. It records every cell run.
type fakeRun struct {
	clock   time.Time
	perCell time.Duration
	center  map[string]float64
	noise   map[string]float64
	rng     *rand.Rand
	ran     []cell
}

func (fr *fakeRun) now() time.Time { return fr.clock }

func (fr *fakeRun) cell(_ context.Context, c cell) results.Result {
	fr.clock = fr.clock.Add(fr.perCell)
	fr.ran = append(fr.ran, c)
	m := c.t.Name()
	v := fr.center[m] * (1 + fr.noise[m]*(2*fr.rng.Float64()-1))
	return results.Result{Mechanism: m, Workload: c.workload, SizeBytes: c.size, Round: c.round,
		Messages: 1000, RTT: &results.Stats{P50: int64(v)}}
}

func (fr *fakeRun) options(budget time.Duration, max int, mechs ...string) Options {
	var ts []ipc.Transport
	for _, m := range mechs {
		ts = append(ts, namedTransport(m))
	}
	return Options{
		Transports: ts, Workloads: []string{results.PingPong}, Sizes: []int{64},
		Duration: time.Second, Rounds: verdict.FirstRounds(len(mechs)), Seed: 7, IO: ipc.IORaw, Pairs: 1, Timeout: time.Second,
		Auto:        &AutoRounds{Budget: budget, MaxRounds: max, Unresolved: verdict.Unresolved},
		runCellFunc: fr.cell, now: fr.now,
	}
}

func newFake(center, noise map[string]float64) *fakeRun {
	return &fakeRun{clock: time.Unix(1e9, 0), perCell: time.Second, center: center, noise: noise, rng: rand.New(rand.NewPCG(1, 2))}
}

// roundsOf counts the rows of each mechanism.
func roundsOf(f *results.File) map[string]int {
	n := map[string]int{}
	for _, r := range f.Results {
		n[r.Mechanism]++
	}
	return n
}

// TestAutoRoundsStopWhenResolved: mechanisms far apart with little noise
// are told apart by the first six rounds (what three mechanisms need at
// the adaptive level); no round is added.
func TestAutoRoundsStopWhenResolved(t *testing.T) {
	fr := newFake(map[string]float64{"a": 1000, "b": 5000, "c": 20000}, map[string]float64{"a": 0.01, "b": 0.01, "c": 0.01})
	f, err := Run(context.Background(), fr.options(time.Hour, 30, "a", "b", "c"))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Meta.RoundsAuto; got == nil || got.Stopped != StopResolved || got.Min != 6 {
		t.Fatalf("rounds_auto %+v, want stopped resolved after 6", got)
	}
	if n := len(fr.ran); n != 18 || f.Meta.Rounds != 6 {
		t.Errorf("%d cells run, meta.rounds %d: want 18 and 6", n, f.Meta.Rounds)
	}
}

// TestAutoRoundsOnlyForUnresolvedPairs: a and b differ by 10% under ±15%
// noise, c is far away. Only a and b get more rounds, shuffled, until
// their pair is told apart; the budget is ample.
func TestAutoRoundsOnlyForUnresolvedPairs(t *testing.T) {
	fr := newFake(map[string]float64{"a": 1000, "b": 1100, "c": 20000}, map[string]float64{"a": 0.15, "b": 0.15, "c": 0.01})
	f, err := Run(context.Background(), fr.options(time.Hour, 60, "a", "b", "c"))
	if err != nil {
		t.Fatal(err)
	}
	n := roundsOf(f)
	if n["c"] != 6 || n["a"] <= 6 || n["a"] != n["b"] {
		t.Errorf("rounds per mechanism %v: want c 6, a = b > 6", n)
	}
	// The looks come at 6, 9, 14, 21 and 30 rounds: a and b end at one.
	if !slices.Contains([]int{9, 14, 21, 30}, n["a"]) {
		t.Errorf("a and b have %d rounds, not a number of rounds a look comes at", n["a"])
	}
	if got := f.Meta.RoundsAuto.Stopped; got != StopResolved {
		t.Errorf("stopped %q, want %q", got, StopResolved)
	}
	vs := verdict.Compute(f)
	if len(vs) != 1 || len(vs[0].Unresolved) != 0 {
		t.Errorf("verdicts %+v: nothing should be left unresolved", vs)
	}
	// Every extra round is a and b, and their order is not always the same.
	extra := fr.ran[18:]
	orders := map[string]bool{}
	for i := 0; i+1 < len(extra); i += 2 {
		pair := []string{extra[i].t.Name(), extra[i+1].t.Name()}
		if extra[i].round != extra[i+1].round || !slices.Contains(pair, "a") || !slices.Contains(pair, "b") {
			t.Fatalf("extra round %v", pair)
		}
		orders[pair[0]] = true
	}
	if len(extra) >= 10 && len(orders) != 2 {
		t.Errorf("extra rounds always ran in the same order")
	}
}

// TestAutoRoundsBudget: a and b are the same under noise, never told apart
// nor shown equivalent (±30%). With a cell taking 1 s of the fake clock, 3
// cells x 6 rounds take 18 s; a 21 s budget leaves room for one more round
// of a and b (2 s), not two (4 s), though the next look is at 9 rounds.
func TestAutoRoundsBudget(t *testing.T) {
	fr := newFake(map[string]float64{"a": 1000, "b": 1000, "c": 20000}, map[string]float64{"a": 0.3, "b": 0.3, "c": 0.01})
	f, err := Run(context.Background(), fr.options(21*time.Second, 30, "a", "b", "c"))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Meta.RoundsAuto; got.Stopped != StopBudget || got.ElapsedNS != int64(20*time.Second) {
		t.Errorf("rounds_auto %+v: want stopped by the budget after 20 s", got)
	}
	if n := roundsOf(f); n["a"] != 7 || n["b"] != 7 || n["c"] != 6 || f.Meta.Rounds != 7 {
		t.Errorf("rounds %v, meta.rounds %d: want a and b 7, c 6", n, f.Meta.Rounds)
	}
	vs := verdict.Compute(f)
	if len(vs) != 1 || len(vs[0].Unresolved) != 1 || vs[0].Unresolved[0] != [2]string{"a", "b"} && vs[0].Unresolved[0] != [2]string{"b", "a"} {
		t.Errorf("verdict %+v: a-b should be left unresolved", vs)
	}
}

// TestAutoRoundsMax: with all the time in the world, the same noisy tie
// stops at the most rounds allowed.
func TestAutoRoundsMax(t *testing.T) {
	fr := newFake(map[string]float64{"a": 1000, "b": 1000}, map[string]float64{"a": 0.5, "b": 0.5})
	f, err := Run(context.Background(), fr.options(24*time.Hour, 12, "a", "b"))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Meta.RoundsAuto.Stopped; got != StopMaxRounds {
		t.Errorf("stopped %q, want %q", got, StopMaxRounds)
	}
	if n := roundsOf(f); n["a"] != 12 || n["b"] != 12 {
		t.Errorf("rounds %v, want 12 each", n)
	}
}

// TestAutoRoundsInterrupted: an interrupt during the extra rounds keeps
// what was measured and says so.
func TestAutoRoundsInterrupted(t *testing.T) {
	fr := newFake(map[string]float64{"a": 1000, "b": 1000}, map[string]float64{"a": 0.5, "b": 0.5})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := fr.options(24*time.Hour, 30, "a", "b")
	inner := o.runCellFunc
	o.runCellFunc = func(ctx context.Context, c cell) results.Result {
		if len(fr.ran) == 13 {
			cancel()
		}
		return inner(ctx, c)
	}
	f, err := Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Meta.Incomplete || f.Meta.RoundsAuto.Stopped != StopInterrupted || len(f.Results) != 13 {
		t.Errorf("incomplete %v stopped %q rows %d: want interrupted with 13 rows", f.Meta.Incomplete, f.Meta.RoundsAuto.Stopped, len(f.Results))
	}
}
