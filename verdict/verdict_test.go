package verdict

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/results"
)

// rows makes one row per value: the p50 round trip for pingpong, bytes/s
// for stream, rounds numbered from 1.
func rows(mech, workload string, size int, values ...float64) []results.Result {
	var out []results.Result
	for i, v := range values {
		r := results.Result{Mechanism: mech, Workload: workload, SizeBytes: size, Round: i + 1, Messages: 1000, ElapsedNS: 1e9}
		if workload == results.PingPong {
			r.RTT = &results.Stats{P50: int64(v), Min: int64(v), Max: int64(v)}
		} else {
			r.BytesPerS, r.MsgsPerS = v, v/float64(size)
		}
		out = append(out, r)
	}
	return out
}

func file(rs ...[]results.Result) *results.File {
	return &results.File{Schema: results.Schema, Results: slices.Concat(rs...)}
}

// spread returns n values around center, each a different small step away.
func spread(center float64, n int, step float64) []float64 {
	var v []float64
	for i := 0; i < n; i++ {
		v = append(v, center+step*float64(i-n/2))
	}
	return v
}

func only(t *testing.T, f *results.File) results.Verdict {
	t.Helper()
	vs := Compute(f)
	if len(vs) != 1 {
		t.Fatalf("got %d verdicts, want 1: %+v", len(vs), vs)
	}
	return vs[0]
}

func TestClearWin(t *testing.T) {
	v := only(t, file(
		rows("tcpsocket", results.PingPong, 64, spread(50000, 5, 300)...),
		rows("pipe", results.PingPong, 64, spread(10000, 5, 100)...),
	))
	if want := [][]string{{"pipe"}, {"tcpsocket"}}; !reflect.DeepEqual(v.Groups, want) {
		t.Fatalf("groups %v, want %v", v.Groups, want)
	}
	if v.Figure != "rtt_p50" || v.Better != "lower" || v.TooFewRounds {
		t.Errorf("figure %q better %q too few %v", v.Figure, v.Better, v.TooFewRounds)
	}
	if len(v.Steps) != 1 {
		t.Fatalf("steps %+v, want one", v.Steps)
	}
	s := v.Steps[0]
	if s.Between != [2]string{"pipe", "tcpsocket"} || math.Abs(s.Ratio-5) > 1e-9 || s.P > Alpha {
		t.Errorf("step %+v, want pipe to tcpsocket, ratio 5, p ≤ 0.05", s)
	}
	if s.CI == nil || !(s.CI[0] > 1 && s.CI[0] <= s.Ratio && s.Ratio <= s.CI[1]) {
		t.Errorf("CI %v should hold the ratio %v and lie above 1", s.CI, s.Ratio)
	}
	if got, want := Sentence(&v), "64 B round trip: pipe, 5.0x faster than tcpsocket."; got != want {
		t.Errorf("sentence %q, want %q", got, want)
	}
}

func TestTie(t *testing.T) {
	// Interleaved rounds: no test tells these apart.
	v := only(t, file(
		rows("pipe", results.PingPong, 64, 100, 130, 90, 160, 110, 95),
		rows("msgqueue", results.PingPong, 64, 105, 85, 150, 120, 98, 140),
	))
	if len(v.Groups) != 1 || len(v.Groups[0]) != 2 || len(v.Steps) != 0 {
		t.Fatalf("groups %v steps %v, want one tier of two", v.Groups, v.Steps)
	}
	if len(v.Unresolved) != 1 || len(v.Equivalent) != 0 {
		t.Errorf("unresolved %v equivalent %v: a noisy tie is unresolved", v.Unresolved, v.Equivalent)
	}
	if got := Sentence(&v); !strings.Contains(got, " ≈ ") || !strings.Contains(got, "(no significant difference)") {
		t.Errorf("sentence %q", got)
	}
}

func TestEquivalent(t *testing.T) {
	// Within 1% of each other, interleaved, over ten rounds: shown equivalent.
	v := only(t, file(
		rows("pipe", results.Stream, 4096, spread(1000e6, 10, 1e6)...),
		rows("unixsocket", results.Stream, 4096, spread(1001e6, 10, 1e6)...),
	))
	if len(v.Groups) != 1 || len(v.Equivalent) != 1 || len(v.Unresolved) != 0 {
		t.Fatalf("groups %v equivalent %v unresolved %v", v.Groups, v.Equivalent, v.Unresolved)
	}
	if got, want := Sentence(&v), "4 KiB stream: unixsocket ≈ pipe (within ±5%)."; got != want {
		t.Errorf("sentence %q, want %q", got, want)
	}
}

func TestThreeTiers(t *testing.T) {
	v := only(t, file(
		rows("msgqueue", results.Stream, 65536, spread(400e6, 6, 5e6)...),
		rows("pipe", results.Stream, 65536, spread(1700e6, 6, 10e6)...),
		rows("tcpsocket", results.Stream, 65536, spread(1720e6, 6, 10e6)...),
		rows("unixsocket", results.Stream, 65536, spread(3500e6, 6, 20e6)...),
	))
	want := [][]string{{"unixsocket"}, {"tcpsocket", "pipe"}, {"msgqueue"}}
	if !reflect.DeepEqual(v.Groups, want) {
		t.Fatalf("groups %v, want %v", v.Groups, want)
	}
	if v.Better != "higher" || v.Figure != "bytes_per_s" || len(v.Steps) != 2 {
		t.Fatalf("better %q figure %q steps %+v", v.Better, v.Figure, v.Steps)
	}
	if v.Steps[0].Between != [2]string{"unixsocket", "tcpsocket"} || v.Steps[1].Between != [2]string{"tcpsocket", "msgqueue"} {
		t.Errorf("steps between %v and %v", v.Steps[0].Between, v.Steps[1].Between)
	}
	got := Sentence(&v)
	wantS := "64 KiB stream: unixsocket, 2.0x faster than tcpsocket ≈ pipe (within ±5%), 8.8x faster than msgqueue."
	if got != wantS {
		t.Errorf("sentence\n%q, want\n%q", got, wantS)
	}
}

func TestTooFewRounds(t *testing.T) {
	v := only(t, file(
		rows("pipe", results.PingPong, 64, 10, 11, 12),
		rows("tcpsocket", results.PingPong, 64, 50, 51, 52),
	))
	if !v.TooFewRounds || len(v.Groups) != 1 || len(v.Steps) != 0 {
		t.Fatalf("too few %v groups %v steps %v: three rounds can prove nothing", v.TooFewRounds, v.Groups, v.Steps)
	}
	if want := "not enough rounds: n=3 can give no p below 0.1 (-rounds 4 or more)"; v.Note != want {
		t.Errorf("note %q, want %q", v.Note, want)
	}
	want := "64 B round trip: not enough rounds to rank pipe, tcpsocket (n=3 can give no p below 0.1 (-rounds 4 or more))."
	if got := Sentence(&v); got != want {
		t.Errorf("sentence\n%q, want\n%q", got, want)
	}
}

// TestHolmMakesFiveRoundsTooFewForTwelve: five rounds separate two
// mechanisms (p = 0.0079), but not twelve, whose eleven comparisons need
// p ≤ 0.0045 each.
func TestHolmMakesFiveRoundsTooFewForTwelve(t *testing.T) {
	var rs [][]results.Result
	for i := 0; i < 12; i++ {
		rs = append(rs, rows("m"+string(rune('a'+i)), results.PingPong, 64, spread(float64(1000*(i+1)), 5, 10)...))
	}
	v := only(t, file(rs...))
	if !v.TooFewRounds || len(v.Groups) != 1 {
		t.Fatalf("too few %v groups %v", v.TooFewRounds, v.Groups)
	}
	if !strings.Contains(v.Note, "11 comparisons need one of 0.0045 or less (-rounds 6 or more)") {
		t.Errorf("note %q", v.Note)
	}
	two := only(t, file(rs[0], rs[1]))
	if two.TooFewRounds || len(two.Groups) != 2 {
		t.Errorf("two mechanisms, five rounds: %+v", two)
	}
	// Six rounds of each separate all twelve.
	rs = nil
	for i := 0; i < 12; i++ {
		rs = append(rs, rows("m"+string(rune('a'+i)), results.PingPong, 64, spread(float64(1000*(i+1)), 6, 10)...))
	}
	if v := only(t, file(rs...)); len(v.Groups) != 12 {
		t.Errorf("six rounds: %d groups, want 12", len(v.Groups))
	}
}

func TestHolm(t *testing.T) {
	for _, c := range []struct{ p, want []float64 }{
		{[]float64{0.01, 0.04, 0.03}, []float64{0.03, 0.06, 0.06}},
		{[]float64{0.5}, []float64{0.5}},
		{[]float64{0.02, 0.001, 0.9, 0.012}, []float64{0.04, 0.004, 0.9, 0.036}},
		{[]float64{0.3, 0.4}, []float64{0.6, 0.6}},
		{[]float64{0.6, 0.7}, []float64{1, 1}},
	} {
		got := Holm(c.p)
		for i := range got {
			if math.Abs(got[i]-c.want[i]) > 1e-12 {
				t.Errorf("Holm(%v) = %v, want %v", c.p, got, c.want)
				break
			}
		}
	}
}

// TestHolmSplitsLessThanUncorrected: a pair that one test alone would
// separate is not separated among many comparisons.
func TestHolmSplitsLessThanUncorrected(t *testing.T) {
	// pipe against msgqueue: 6 v 6 with one overlap, p ≈ 0.0043 alone.
	f := file(
		rows("pipe", results.PingPong, 64, 10, 11, 12, 13, 14, 16),
		rows("msgqueue", results.PingPong, 64, 15, 17, 18, 19, 20, 21),
		rows("unixsocket", results.PingPong, 64, 30, 31, 32, 33, 34, 35),
		rows("tcpsocket", results.PingPong, 64, 34.5, 36, 37, 38, 39, 40),
	)
	a := Analyze(f)[0]
	if a.Pairs[0].P > Alpha || a.Pairs[0].PHolm <= a.Pairs[0].P {
		t.Fatalf("pipe–msgqueue p %v holm %v", a.Pairs[0].P, a.Pairs[0].PHolm)
	}
	for i := range a.Pairs {
		if want := a.Pairs[i].PHolm <= Alpha; a.Pairs[i].Separated != want {
			t.Errorf("pair %d separated %v with corrected p %v", i, a.Pairs[i].Separated, a.Pairs[i].PHolm)
		}
	}
}

func TestMinPAndRoundsNeeded(t *testing.T) {
	for _, c := range []struct {
		n1, n2 int
		want   float64
	}{{3, 3, 0.1}, {4, 4, 2.0 / 70}, {5, 5, 2.0 / 252}, {1, 1, 1}, {3, 5, 2.0 / 56}} {
		if got := MinP(c.n1, c.n2); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("MinP(%d, %d) = %v, want %v", c.n1, c.n2, got, c.want)
		}
	}
	for m, want := range map[int]int{2: 4, 4: 5, 7: 5, 8: 6, 12: 6, 40: 7} {
		if got := RoundsNeeded(m); got != want {
			t.Errorf("RoundsNeeded(%d) = %d, want %d", m, got, want)
		}
	}
}

func TestRatioCI(t *testing.T) {
	// 5 against 5: the 95% interval is the 3rd and 23rd of 25 ratios.
	b := []float64{1, 2, 3, 4, 5}
	w := []float64{10, 20, 30, 40, 50}
	ci := ratioCI(b, w, true, 0.95)
	var all []float64
	for _, x := range b {
		for _, y := range w {
			all = append(all, y/x)
		}
	}
	slices.Sort(all)
	if ci == nil || ci[0] != all[2] || ci[1] != all[22] {
		t.Errorf("CI %v, want [%v %v]", ci, all[2], all[22])
	}
	if ci := ratioCI([]float64{1, 2}, []float64{3, 4}, true, 0.95); ci != nil {
		t.Errorf("2 against 2 has no 95%% interval, got %v", ci)
	}
	if ci := ratioCI([]float64{0, 2, 3}, []float64{3, 4, 5}, true, 0.90); ci != nil {
		t.Errorf("a zero makes no ratio, got %v", ci)
	}
}

func TestPlacementMixed(t *testing.T) {
	a := rows("pipe", results.PingPong, 64, spread(3000, 5, 10)...)
	b := rows("unixsocket", results.PingPong, 64, spread(60000, 5, 100)...)
	for i := range a {
		a[i].Placement = results.SameCPU
		b[i].Placement = results.CrossCPU
	}
	v := only(t, file(a, b))
	if v.Placement != results.MixedCPU || !strings.Contains(v.Note, "mixed CPU placements (of 10: both sides on one CPU in 5, on different CPUs in 5)") {
		t.Errorf("placement %q note %q", v.Placement, v.Note)
	}
	if got := Sentence(&v); !strings.HasSuffix(got, "; the rounds mixed CPU placements.") {
		t.Errorf("sentence %q", got)
	}
	for i := range b {
		b[i].Placement = results.SameCPU
	}
	if v := only(t, file(a, b)); v.Placement != results.SameCPU || v.Note != "" {
		t.Errorf("all same-cpu: placement %q note %q", v.Placement, v.Note)
	}
}

func TestContextsAndFailures(t *testing.T) {
	failed := results.Result{Mechanism: "msgqueue", Workload: results.Stream, SizeBytes: 64, Round: 1, Error: "boom"}
	f := file(
		rows("pipe", results.Stream, 64, spread(100e6, 5, 1e6)...),
		rows("unixsocket", results.Stream, 64, spread(60e6, 5, 1e6)...),
		[]results.Result{failed},
		rows("pipe", results.PingPong, 4096, spread(5000, 5, 10)...),
		rows("pipe", results.PingPong, 64, spread(3000, 5, 10)...),
		rows("unixsocket", results.PingPong, 64, spread(3000, 5, 10)...),
	)
	vs := Compute(f)
	// pingpong 4096 has one mechanism: nothing to rank.
	if len(vs) != 2 || vs[0].Workload != results.PingPong || vs[1].Workload != results.Stream {
		t.Fatalf("verdicts %+v", vs)
	}
	if !reflect.DeepEqual(vs[1].Failed, []string{"msgqueue"}) || !strings.HasSuffix(Sentence(&vs[1]), "; msgqueue failed.") {
		t.Errorf("failed %v sentence %q", vs[1].Failed, Sentence(&vs[1]))
	}
	// Identical figures: the U test cannot run; a tie, never a ranking.
	if len(vs[0].Groups) != 1 {
		t.Errorf("identical rounds: groups %v", vs[0].Groups)
	}
}

func TestUnresolved(t *testing.T) {
	f := file(
		rows("pipe", results.PingPong, 64, 100, 130, 90, 160, 110),
		rows("msgqueue", results.PingPong, 64, 105, 85, 150, 120, 98),
		rows("tcpsocket", results.PingPong, 64, 500, 510, 520, 530, 540),
	)
	got := Unresolved(f)
	want := []results.Key{{Mechanism: "pipe", Workload: results.PingPong, SizeBytes: 64}, {Mechanism: "msgqueue", Workload: results.PingPong, SizeBytes: 64}}
	slices.SortFunc(got, func(a, b results.Key) int { return strings.Compare(b.Mechanism, a.Mechanism) })
	if !reflect.DeepEqual(got, want) {
		t.Errorf("unresolved %v, want %v", got, want)
	}
}

// TestVerdictJSON: a verdict survives results.json, CI and all.
func TestVerdictJSON(t *testing.T) {
	f := file(
		rows("pipe", results.PingPong, 64, spread(10000, 5, 100)...),
		rows("tcpsocket", results.PingPong, 64, spread(50000, 5, 300)...),
	)
	f.Verdicts = Compute(f)
	data, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	g, err := results.Read(strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g.Verdicts, f.Verdicts) {
		t.Errorf("round trip through JSON:\n%+v\n%+v", g.Verdicts, f.Verdicts)
	}
	if !strings.Contains(string(data), `"groups":[["pipe"],["tcpsocket"]]`) {
		t.Errorf("JSON %s", data)
	}
}

// TestSkippedAndClients: a skipped cell is neither ranked nor failed, and
// contexts differ by their number of clients.
func TestSkippedAndClients(t *testing.T) {
	conn := func(mech string, clients int, v ...float64) []results.Result {
		var out []results.Result
		for i, x := range v {
			out = append(out, results.Result{Mechanism: mech, Workload: results.Connect, SizeBytes: 64, Clients: clients, Round: i + 1, ConnectionsPerS: x})
		}
		return out
	}
	f := file(
		conn("unixsocket", 1, spread(20000, 5, 100)...),
		conn("tcpsocket", 1, spread(9000, 5, 100)...),
		conn("unixsocket", 8, spread(40000, 5, 100)...),
		conn("tcpsocket", 8, spread(30000, 5, 100)...),
		[]results.Result{{Mechanism: "pipe", Workload: results.Connect, SizeBytes: 64, Clients: 1, Round: 1, Skipped: "a pipe has no connections"}},
	)
	vs := Compute(f)
	if len(vs) != 2 || vs[0].Clients != 1 || vs[1].Clients != 8 {
		t.Fatalf("verdicts %+v", vs)
	}
	if vs[0].Figure != "connections_per_s" || len(vs[0].Failed) != 0 || len(vs[0].Groups) != 2 {
		t.Errorf("verdict %+v", vs[0])
	}
	if got, want := Sentence(&vs[1]), "64 B connect, 8 clients: unixsocket, 1.3x faster than tcpsocket."; got != want {
		t.Errorf("sentence %q, want %q", got, want)
	}
}

// TestOpenLoop: an open-loop context is its own, judged by the round trip
// counted from when each message was due.
func TestOpenLoop(t *testing.T) {
	rated := func(mech string, v ...float64) []results.Result {
		out := rows(mech, results.PingPong, 64, v...)
		for i := range out {
			out[i].Rate = 2000
			out[i].RTTCorrected = &results.Stats{P50: int64(v[i] * 10)}
		}
		return out
	}
	f := file(
		rows("pipe", results.PingPong, 64, spread(10000, 5, 100)...),
		rows("tcpsocket", results.PingPong, 64, spread(50000, 5, 300)...),
		rated("pipe", spread(10000, 5, 100)...),
		rated("tcpsocket", spread(50000, 5, 300)...),
	)
	vs := Compute(f)
	if len(vs) != 2 || vs[0].Rate != "" || vs[1].Rate == "" || vs[1].Figure != "rtt_corrected_p50" || vs[0].Figure != "rtt_p50" {
		t.Fatalf("verdicts %+v", vs)
	}
	if got := Label(&vs[1]); got != "64 B round trip at "+vs[1].Rate {
		t.Errorf("label %q", got)
	}
}

// TestAdaptiveLevel: the looks of adaptive rounds (at 6, 9, 14, 21 and 30
// rounds, stopping at the first that separates) at AutoAlpha separate two
// identical mechanisms in about 4% of runs, within Alpha; at Alpha itself
// they would do so in about 14%. Seeded, so the counts are the same each
// time.
func TestAdaptiveLevel(t *testing.T) {
	looks := []int{6, 9, 14, 21, 30}
	falseSeparations := func(auto bool) int {
		rng := rand.New(rand.NewPCG(3, 4))
		n := 0
		for trial := 0; trial < 200; trial++ {
			var a, b []float64
			for _, k := range looks {
				for len(a) < k {
					a = append(a, 1000*(1+0.2*rng.NormFloat64()))
					b = append(b, 1000*(1+0.2*rng.NormFloat64()))
				}
				f := file(rows("a", results.PingPong, 64, a...), rows("b", results.PingPong, 64, b...))
				if auto {
					f.Meta.RoundsAuto = &results.AutoRounds{}
				}
				if Analyze(f)[0].Pairs[0].Separated {
					n++
					break
				}
			}
		}
		return n
	}
	auto, fixed := falseSeparations(true), falseSeparations(false)
	t.Logf("identical mechanisms separated in %d of 200 runs at AutoAlpha, %d at Alpha", auto, fixed)
	if auto > 12 {
		t.Errorf("adaptive level: %d of 200 runs separate identical mechanisms, more than 6%%", auto)
	}
	if fixed < 16 {
		t.Errorf("at alpha 0.05 each look, %d of 200 runs separate identical mechanisms: the test no longer shows why AutoAlpha exists", fixed)
	}
}

func TestFirstRounds(t *testing.T) {
	for m, want := range map[int]int{2: 5, 3: 6, 7: 6, 8: 7, 12: 7, 26: 7} {
		if got := FirstRounds(m); got != want {
			t.Errorf("FirstRounds(%d) = %d, want %d", m, got, want)
		}
	}
}

// TestNoChain: six mechanisms each a small step from the next, none told
// apart from its neighbour, but the first far from the last. Compared with
// their neighbours they would chain into one tier; compared with the best
// of their tier, they do not.
func TestNoChain(t *testing.T) {
	var rs [][]results.Result
	for i := 0; i < 6; i++ {
		rs = append(rs, rows("m"+string(rune('a'+i)), results.PingPong, 64, spread(1000+60*float64(i), 7, 25)...))
	}
	a := Analyze(file(rs...))[0]
	v := a.Verdict()
	if len(v.Groups) < 2 || slices.Contains(v.Groups[0], "mf") {
		t.Fatalf("groups %v: ma and mf are far apart", v.Groups)
	}
	for _, g := range v.Groups {
		if len(g) > 3 {
			t.Errorf("tier %v spans more than 120 of 1000", g)
		}
	}
	// Neighbours are indeed not separated.
	ab := a.compare(0, 1)
	if ab.P*5 <= Alpha {
		t.Errorf("ma and mb separated (p %v): the test does not show a chain", ab.P)
	}
}
