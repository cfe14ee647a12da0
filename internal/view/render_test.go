package view

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/results"
)

// The -update flag rewrites the golden files from the current output:
//
//	go test ./internal/view -run Golden -update
//
// It is registered only if no other test file in the package has done so,
// so that the plot tests may have the same flag.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files in testdata/")
	}
}

func goldenUpdate() bool {
	f := flag.Lookup("update")
	if f == nil {
		return false
	}
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return false
	}
	on, _ := g.Get().(bool)
	return on
}

// fixtures is where the hand-written results files the golden files are
// rendered from live: with the data model they are examples of.
const fixtures = "../../results/testdata"

// goldenFixtures are the hand-written inputs in fixtures, as NAME.results.json.
var goldenFixtures = []string{
	"one-round",    // 4 mechanisms x 2 workloads x 3 sizes, split, failed and noted cells
	"three-rounds", // one noisy cell and one quiet one
	"verdicts",     // adaptive rounds: a tie, tiers, an equivalence, mixed placements, a pair left unresolved
	"clients",      // server and connect: clients 1 and 4, a failed and skipped cells
}

var goldenFormats = []struct{ format, ext string }{
	{"table", "table"},
	{"markdown", "md"},
	{"csv", "csv"},
	{"jsonl", "jsonl"},
	{"bench", "bench"},
}

func TestGolden(t *testing.T) {
	for _, name := range goldenFixtures {
		f, err := results.Load(filepath.Join(fixtures, name+".results.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, gf := range goldenFormats {
			t.Run(name+"/"+gf.format, func(t *testing.T) {
				var buf bytes.Buffer
				if err := Render(&buf, gf.format, f); err != nil {
					t.Fatalf("Render(%q): %v", gf.format, err)
				}
				checkGolden(t, filepath.Join("testdata", name+"."+gf.ext+".golden"), buf.Bytes(), "Golden")
			})
		}
	}
}

// checkGolden compares got with the golden file, or rewrites the file
// under -update. test names the -run pattern that updates it.
func checkGolden(t *testing.T, golden string, got []byte, test string) {
	t.Helper()
	update := "go test ./internal/view -run " + test + " -update"
	if goldenUpdate() {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v\n(create it with: %s)", err, update)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s\n%s\nIf the change is intended, update the golden files with:\n\t%s",
			golden, firstDiff(string(got), string(want)), update)
	}
}

// firstDiff shows the first line where got and want differ.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n got: " + gl + "\nwant: " + wl
		}
	}
	return "(same lines, different bytes)"
}

// The output must not depend on the order the rounds ran in: here the last
// round comes first (its first row is the same mechanism as the file's, so
// the columns keep their order).
func TestRoundOrder(t *testing.T) {
	f, err := results.Load(filepath.Join(fixtures, "three-rounds.results.json"))
	if err != nil {
		t.Fatal(err)
	}
	rev := *f
	rev.Results = slices.Clone(f.Results)
	slices.SortStableFunc(rev.Results, func(a, b results.Result) int { return b.Round - a.Round })
	if rev.Results[0].Mechanism != f.Results[0].Mechanism {
		t.Fatal("fixture changed: the reordered file no longer starts with the same mechanism")
	}
	for _, format := range []string{"table", "markdown", "csv", "bench"} {
		var a, b bytes.Buffer
		if err := Render(&a, format, f); err != nil {
			t.Fatal(err)
		}
		if err := Render(&b, format, &rev); err != nil {
			t.Fatal(err)
		}
		if a.String() != b.String() {
			t.Errorf("%s output changes with the order of rounds:\n%s", format, firstDiff(b.String(), a.String()))
		}
	}
}

func TestRenderUnknownFormat(t *testing.T) {
	f := &results.File{Schema: results.Schema}
	tests := []string{"", "xml", "Table", "bench "}
	for _, format := range tests {
		var buf bytes.Buffer
		err := Render(&buf, format, f)
		if err == nil {
			t.Errorf("Render(%q) = nil error, want one", format)
			continue
		}
		for _, name := range Formats {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("Render(%q) error %q does not list format %q", format, err, name)
			}
		}
		if buf.Len() != 0 {
			t.Errorf("Render(%q) wrote %q", format, buf.String())
		}
	}
}

func TestRenderEveryFormat(t *testing.T) {
	if got, want := strings.Join(Formats, ","), "table,markdown,csv,json,jsonl,bench"; got != want {
		t.Errorf("Formats = %s, want %s", got, want)
	}
	f, err := results.Load(filepath.Join(fixtures, "one-round.results.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range Formats {
		var buf bytes.Buffer
		if err := Render(&buf, format, f); err != nil {
			t.Errorf("Render(%q): %v", format, err)
		}
		if buf.Len() == 0 {
			t.Errorf("Render(%q) wrote nothing", format)
		}
	}
	// json is the file itself: it reads back.
	var buf bytes.Buffer
	if err := Render(&buf, "json", f); err != nil {
		t.Fatal(err)
	}
	back, err := results.Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Results) != len(f.Results) {
		t.Errorf("json round trip: %d rows, want %d", len(back.Results), len(f.Results))
	}
}

func TestRenderEmptyFile(t *testing.T) {
	f := &results.File{Schema: results.Schema}
	for _, format := range Formats {
		var buf bytes.Buffer
		if err := Render(&buf, format, f); err != nil {
			t.Errorf("Render(%q) of an empty file: %v", format, err)
		}
	}
	if err := Render(new(bytes.Buffer), "table", nil); err == nil {
		t.Error("Render of a nil file: no error")
	}
}

type failingWriter struct{}

var errWrite = errors.New("disk full")

func (failingWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestRenderWriteError(t *testing.T) {
	f, err := results.Load(filepath.Join(fixtures, "one-round.results.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range Formats {
		if err := Render(failingWriter{}, format, f); !errors.Is(err, errWrite) {
			t.Errorf("Render(%q) to a failing writer = %v, want %v", format, err, errWrite)
		}
	}
}

// TestFloorNote: a pingpong table of a run with a cache-line floor says
// what the floor is and how many floors each mechanism's p50 is at the
// smallest size; the stream table and a run without floors say nothing.
func TestFloorNote(t *testing.T) {
	f := &results.File{Schema: results.Schema, Meta: results.Meta{Floors: &results.Floors{CacheLineRTTNS: 200}}}
	for _, r := range []struct {
		mech string
		p50  int64
	}{{"shm-spin", 540}, {"pipe", 9000}} {
		f.Results = append(f.Results,
			results.Result{Mechanism: r.mech, Workload: results.PingPong, SizeBytes: 64, Round: 1, Messages: 1, RTT: &results.Stats{N: 1, P50: r.p50, P99: r.p50, Max: r.p50}},
			results.Result{Mechanism: r.mech, Workload: results.PingPong, SizeBytes: 4096, Round: 1, Messages: 1, RTT: &results.Stats{N: 1, P50: 9 * r.p50, P99: 9 * r.p50, Max: 9 * r.p50}},
			results.Result{Mechanism: r.mech, Workload: results.Stream, SizeBytes: 64, Round: 1, Messages: 1, MsgsPerS: 1, BytesPerS: 64})
	}
	var out bytes.Buffer
	if err := WriteTable(&out, f); err != nil {
		t.Fatal(err)
	}
	want := "- floor: one cache line's round trip between the two sides' CPUs takes 200 ns; p50 at 64 B in floors: shm-spin 2.7x, pipe 45x\n"
	if got := out.String(); strings.Count(got, "floor") != 2 || !strings.Contains(got, want) {
		t.Errorf("the pingpong table does not end with the floor note %q (and only it):\n%s", want, got)
	}
	f.Meta.Floors = nil
	out.Reset()
	WriteTable(&out, f)
	if strings.Contains(out.String(), "floor") {
		t.Errorf("a run without floors mentions one:\n%s", out.String())
	}
}
