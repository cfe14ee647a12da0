package view

import (
	"bytes"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/results"
	"github.com/ipcbench/ipcbench/verdict"
)

// compareFixtures loads the two hand-written runs: 4 rounds each, where
// pipe 64 B gets faster (p50 significant, p99 not), msgqueue 64 B fails in
// every new round, unixsocket 64 B loses one new round (4 against 3 cannot
// be significant), tcpsocket 64 B is only in the old run and msgqueue
// 16 KiB stream only in the new; the kernels differ.
func compareFixtures(t *testing.T) *results.Comparison {
	t.Helper()
	oldPath := filepath.Join(fixtures, "compare-old.results.json")
	newPath := filepath.Join(fixtures, "compare-new.results.json")
	old, err := results.Load(oldPath)
	if err != nil {
		t.Fatal(err)
	}
	new, err := results.Load(newPath)
	if err != nil {
		t.Fatal(err)
	}
	c := results.Compare(old, new)
	verdict.Annotate(c, old, new)
	// The names the golden files show, wherever the fixtures live.
	c.OldName, c.NewName = "testdata/compare-old.results.json", "testdata/compare-new.results.json"
	return c
}

// verdictComparison is the verdicts fixture against itself with pipe's
// round trips three times as long: pipe drops from the top tier to the
// bottom, below unixsocket and tcpsocket, which the old run ranked it
// above: two contradictions.
func verdictComparison(t *testing.T) *results.Comparison {
	t.Helper()
	old, err := results.Load(filepath.Join(fixtures, "verdicts.results.json"))
	if err != nil {
		t.Fatal(err)
	}
	new, err := results.Load(filepath.Join(fixtures, "verdicts.results.json"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range new.Results {
		if r := &new.Results[i]; r.Mechanism == "pipe" && r.RTT != nil {
			r.RTT.P50 *= 3
			r.RTT.P99 *= 3
		}
	}
	new.Verdicts = verdict.Compute(new)
	c := results.Compare(old, new)
	verdict.Annotate(c, old, new)
	c.OldName, c.NewName = "old/results.json", "new/results.json"
	return c
}

func TestCompareGolden(t *testing.T) {
	three, err := results.Load(filepath.Join(fixtures, "three-rounds.results.json"))
	if err != nil {
		t.Fatal(err)
	}
	self := results.Compare(three, three) // 3 against 3: too few rounds for any significance
	self.OldName, self.NewName = "a/results.json", "b/results.json"
	for _, tc := range []struct {
		name, format string
		c            *results.Comparison
	}{
		{"compare.table", "table", compareFixtures(t)},
		{"compare.md", "markdown", compareFixtures(t)},
		{"compare-three-rounds.table", "table", self},
		{"compare-verdicts.table", "table", verdictComparison(t)},
		{"compare-verdicts.md", "markdown", verdictComparison(t)},
		{"compare-verdicts.json", "json", verdictComparison(t)},
		{"compare-verdicts.csv", "csv", verdictComparison(t)},
		{"compare.json", "json", compareFixtures(t)},
		{"compare.csv", "csv", compareFixtures(t)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := RenderComparison(&buf, tc.format, tc.c); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("testdata", tc.name+".golden"), buf.Bytes(), "Golden")
		})
	}
}

// TestCompareCells checks what the golden files show, as facts: every cell
// of either file is there once, and each gets the verdict it should.
func TestCompareCells(t *testing.T) {
	c := compareFixtures(t)
	got := map[results.Key]*results.CellChange{}
	for i := range c.Cells {
		cc := &c.Cells[i]
		if got[cc.Key] != nil {
			t.Errorf("%v listed twice", cc.Key)
		}
		got[cc.Key] = cc
	}
	if len(got) != 8 {
		t.Errorf("%d cells, want the 8 of the two files together", len(got))
	}
	fig := func(mech, wl string, size int, name string) *results.FigureChange {
		t.Helper()
		cc := got[results.Key{Mechanism: mech, Workload: wl, SizeBytes: size}]
		if cc == nil {
			t.Fatalf("no cell %s %s %d", mech, wl, size)
		}
		for i := range cc.Figures {
			if cc.Figures[i].Name == name {
				return &cc.Figures[i]
			}
		}
		t.Fatalf("%s %s %d has no %s figure", mech, wl, size, name)
		return nil
	}

	p50 := fig("pipe", results.PingPong, 64, "p50")
	if !p50.Significant() || p50.Delta() != "-18.72%" {
		t.Errorf("pipe 64 B p50: significant %v, delta %s; want a significant -18.72%% (every new round is faster)", p50.Significant(), p50.Delta())
	}
	if p99 := fig("pipe", results.PingPong, 64, "p99"); p99.Significant() || p99.Delta() != "~" {
		t.Errorf("pipe 64 B p99: significant %v (p=%v), want ~", p99.Significant(), p99.Test.P)
	}
	if tp := fig("pipe", results.Stream, 64, "throughput"); !tp.Significant() || tp.Delta() != "+17.45%" {
		t.Errorf("pipe 64 B stream: delta %s, want a significant +17.45%%", tp.Delta())
	}
	// Every new unixsocket round is faster, but 4 against 3 rounds cannot show it.
	us := fig("unixsocket", results.PingPong, 64, "p50")
	if us.Test.N1 != 4 || us.Test.N2 != 3 || !us.TooFewRounds() || us.Significant() {
		t.Errorf("unixsocket 64 B: n=%d+%d, too few %v, significant %v; want 4+3, too few, not significant",
			us.Test.N1, us.Test.N2, us.TooFewRounds(), us.Significant())
	}
	if math.Abs(us.Test.P-us.MinP) > 1e-12 {
		t.Errorf("unixsocket 64 B: p = %v, want the smallest possible %v (the samples do not overlap)", us.Test.P, us.MinP)
	}

	for _, tc := range []struct {
		key      results.Key
		old, new bool // which files have the cell
		change   string
	}{
		{results.Key{Mechanism: "msgqueue", Workload: results.PingPong, SizeBytes: 64}, true, true, "new failed"},
		{results.Key{Mechanism: "tcpsocket", Workload: results.PingPong, SizeBytes: 64}, true, false, "only in old"},
		{results.Key{Mechanism: "msgqueue", Workload: results.Stream, SizeBytes: 16384}, false, true, "only in new"},
	} {
		cc := got[tc.key]
		if cc == nil {
			t.Errorf("%v is not listed", tc.key)
			continue
		}
		if (cc.Old != nil) != tc.old || (cc.New != nil) != tc.new || len(cc.Figures) != 0 {
			t.Errorf("%v: old %v, new %v, %d figures", tc.key, cc.Old != nil, cc.New != nil, len(cc.Figures))
		}
		if got := changeText(cc, "p50"); got != tc.change {
			t.Errorf("%v: change %q, want %q", tc.key, got, tc.change)
		}
	}
}

func TestCompareMetaDifferences(t *testing.T) {
	o := results.Meta{Kernel: "6.8", IO: "raw", Limits: map[string]int64{"kernel.msgmax": 8192}}
	n := results.Meta{Kernel: "6.8", IO: "go", CPUs: []int{0, 0}, Pairs: 1, Limits: map[string]int64{"kernel.msgmax": 65536, "pipe_bytes": 65536}}
	got := strings.Join(metaDifferences(&o, &n), "; ")
	want := "io raw → go; placement not pinned → 0,0; kernel.msgmax 8192 → 65536; pipe_bytes (not recorded) → 65536"
	if got != want {
		t.Errorf("differences:\n got %s\nwant %s", got, want)
	}
	if d := metaDifferences(&o, &o); len(d) != 0 {
		t.Errorf("a run differs from itself: %v", d)
	}
}

func TestRenderComparisonErrors(t *testing.T) {
	c := compareFixtures(t)
	for _, format := range []string{"", "bench", "html", "xml"} {
		var buf bytes.Buffer
		if err := RenderComparison(&buf, format, c); err == nil || !strings.Contains(err.Error(), "table, markdown, json, csv") {
			t.Errorf("RenderComparison(%q) = %v, want an error listing the formats", format, err)
		}
		if buf.Len() != 0 {
			t.Errorf("RenderComparison(%q) wrote %q", format, buf.String())
		}
	}
	for _, format := range CompareFormats {
		if err := RenderComparison(failingWriter{}, format, c); !errors.Is(err, errWrite) {
			t.Errorf("RenderComparison(%q) to a failing writer = %v, want %v", format, err, errWrite)
		}
	}
	if err := RenderComparison(new(bytes.Buffer), "table", nil); err == nil {
		t.Error("a nil comparison: no error")
	}
	// Rows without the figure (no round trip in a pingpong row) give n/a,
	// not a test of nothing.
	noRTT := &results.File{Schema: results.Schema, Results: []results.Result{{Mechanism: "pipe", Workload: results.PingPong, SizeBytes: 64, Round: 1, Messages: 5}}}
	nc := results.Compare(noRTT, noRTT)
	if len(nc.Cells) != 1 || len(nc.Cells[0].Figures) != 0 {
		t.Fatalf("cells %+v, want one without figures", nc.Cells)
	}
	var buf bytes.Buffer
	if err := RenderComparison(&buf, "table", nc); err != nil {
		t.Fatal(err)
	}
	if strings.Count(buf.String(), "n/a") != 6 || strings.Contains(buf.String(), "Too few") {
		t.Errorf("want n/a for every old, new and change, and no verdict on rounds:\n%s", buf.String())
	}
	// Two empty files compare to an empty comparison, not a panic.
	empty := results.Compare(&results.File{Schema: results.Schema}, &results.File{Schema: results.Schema})
	for _, format := range CompareFormats {
		var buf bytes.Buffer
		want := map[string]string{"json": `"cells": []`, "csv": "mechanism,workload,"}[format]
		if want == "" {
			want = "No results"
		}
		if err := RenderComparison(&buf, format, empty); err != nil || !strings.Contains(buf.String(), want) {
			t.Errorf("empty comparison as %s: %v\n%s", format, err, buf.String())
		}
	}
}

// TestCompareNamesTheRemotePeer: a loopback run against a cross-host run is
// the comparison issue 6 exists for, so the introduction must say it.
func TestCompareNamesTheRemotePeer(t *testing.T) {
	local := results.Meta{IO: "raw"}
	remote := results.Meta{IO: "raw", Remote: &results.RemoteInfo{Address: "10.0.0.2:7300", Host: "b"}}
	diff := strings.Join(metaDifferences(&local, &remote), "; ")
	if want := "peer local process → ipcbench serve at 10.0.0.2:7300 (b)"; !strings.Contains(diff, want) {
		t.Errorf("differences %q do not say %q", diff, want)
	}
}
