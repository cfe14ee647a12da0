package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ipcbench/ipcbench/results"
)

// quickRun is the smallest run that writes every file.
var quickRun = []string{"run", "-mech", "pipe", "-workload", "pingpong", "-sizes", "64", "-count", "50", "-rounds", "1", "-q"}

// TestRunIntoClosedPipe is `ipcbench run -o DIR | head -1` at its worst:
// the reader of stdout is gone before ipcbench writes a byte. The run must
// finish, write DIR and exit 0, not die of SIGPIPE (exit 141, DIR empty).
func TestRunIntoClosedPipe(t *testing.T) {
	for _, sub := range [][]string{
		append(quickRun, "-format", "table"),
		append(quickRun, "-format", "json"),
	} {
		dir := filepath.Join(t.TempDir(), "out")
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		r.Close() // head has already gone
		var stderr bytes.Buffer
		cmd := exec.Command(binary, append(sub, "-o", dir)...)
		cmd.Stdout, cmd.Stderr = w, &stderr
		err = cmd.Run()
		w.Close()
		if err != nil {
			t.Fatalf("%v: %v (a SIGPIPE death is exit 141 or 'signal: broken pipe')\nstderr: %s", sub, err, stderr.String())
		}
		if stderr.Len() != 0 {
			t.Errorf("%v: stderr %q; a closed stdout is the end of the output, not an error", sub, stderr.String())
		}
		f, err := results.Load(filepath.Join(dir, "results.json"))
		if err != nil {
			t.Fatalf("%v: the run's results are lost: %v", sub, err)
		}
		if len(f.Results) != 1 || f.Results[0].Failed() {
			t.Errorf("%v: results %+v, want the one cell measured", sub, f.Results)
		}
		for _, name := range []string{"results.csv", "results.md", "report.html", "latency.svg"} {
			if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
				t.Errorf("%v: %v", sub, err)
			}
		}
	}
}

// TestRunPipedToHead is the same through a shell, as a user types it: head
// prints the first line, and ipcbench's own exit status (pipefail) is 0.
func TestRunPipedToHead(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash for set -o pipefail")
	}
	dir := filepath.Join(t.TempDir(), "out")
	line := "set -o pipefail; \"$0\" " + strings.Join(quickRun, " ") + " -o \"$1\" | head -1"
	out, err := exec.Command(bash, "-c", line, binary, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", line, err, out)
	}
	if n := strings.Count(string(out), "\n"); n != 1 {
		t.Errorf("head printed %d lines: %q", n, out)
	}
	if _, err := results.Load(filepath.Join(dir, "results.json")); err != nil {
		t.Error(err)
	}
}

// TestReportIntoClosedPipe: report, too, ends its output quietly.
func TestReportIntoClosedPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	defer w.Close()
	var stderr bytes.Buffer
	code := run([]string{"report", fixture("one-round")}, w, &stderr)
	if code != exitOK || stderr.Len() != 0 {
		t.Errorf("report into a closed pipe: exit %d, stderr %q", code, stderr.String())
	}
}

// TestHelpCommand: `ipcbench help CMD` is `ipcbench CMD -h`, for every command.
func TestHelpCommand(t *testing.T) {
	for _, cmd := range commands {
		var help, dashH, stderr bytes.Buffer
		if code := run([]string{"help", cmd}, &help, &stderr); code != exitOK || stderr.Len() != 0 {
			t.Errorf("help %s: exit %d, stderr %q", cmd, code, stderr.String())
		}
		if !strings.HasPrefix(help.String(), "Usage: ipcbench "+cmd) {
			t.Errorf("help %s does not start with its usage: %.80q", cmd, help.String())
		}
		if cmd == "help" || cmd == "version" {
			continue
		}
		run([]string{cmd, "-h"}, &dashH, &stderr)
		if help.String() != dashH.String() {
			t.Errorf("help %s differs from %s -h", cmd, cmd)
		}
	}
	var top bytes.Buffer
	run([]string{"help"}, &top, &top)
	if !strings.Contains(top.String(), "ipcbench run ") || strings.HasPrefix(top.String(), "Usage: ipcbench run") {
		t.Errorf("help alone is not the overview: %.80q", top.String())
	}
	checkBadInput(t, []string{"help", "frobnicate"}, `unknown command "frobnicate"`)
	checkBadInput(t, []string{"help", "run", "report"}, "help takes one command")
}

// TestVersion: version, -V and --version print the same facts; the first
// line is what results record.
func TestVersion(t *testing.T) {
	var want bytes.Buffer
	run([]string{"version"}, &want, &want)
	for _, alias := range []string{"-V", "--version", "-version"} {
		var got bytes.Buffer
		if code := run([]string{alias}, &got, &got); code != exitOK || got.String() != want.String() {
			t.Errorf("%s: exit %d, %q; want %q", alias, code, got.String(), want.String())
		}
	}
	if first, _, _ := strings.Cut(want.String(), "\n"); first != "ipcbench "+fullVersion() {
		t.Errorf("first line %q, want ipcbench %s", first, fullVersion())
	}
	for _, s := range []string{"module  github.com/ipcbench/ipcbench", "commit  ", "go      go1."} {
		if !strings.Contains(want.String(), s) {
			t.Errorf("version does not say %q:\n%s", s, want.String())
		}
	}
}

// TestBuildFacts checks the version strings from the facts a build can
// carry: a clone, a dirty clone, an installed release.
func TestBuildFacts(t *testing.T) {
	commit := "0123456789abcdef0123456789abcdef01234567"
	for _, tc := range []struct {
		b           buildFacts
		version     string
		describeHas []string
	}{
		{buildFacts{module: "m", moduleVersion: "(devel)"}, version, []string{"(devel", "commit  unknown"}},
		{buildFacts{module: "m", moduleVersion: "(devel)", commit: commit, commitTime: "2026-12-02T07:00:00Z"},
			version + "+0123456789ab", []string{commit + " (2026-12-02T07:00:00Z), clean tree"}},
		{buildFacts{module: "m", moduleVersion: "(devel)", commit: commit, dirty: true},
			version + "+0123456789ab-dirty", []string{"with uncommitted changes"}},
		{buildFacts{module: "m", moduleVersion: "v1.2.3"}, "v1.2.3", []string{"module  m v1.2.3"}},
		{buildFacts{module: "m", moduleVersion: "v0.0.0-20261202070000-0123456789ab", commit: commit},
			"v0.0.0-20261202070000-0123456789ab", nil},
	} {
		if got := tc.b.version(); got != tc.version {
			t.Errorf("%+v: version %q, want %q", tc.b, got, tc.version)
		}
		d := tc.b.describe()
		for _, s := range tc.describeHas {
			if !strings.Contains(d, s) {
				t.Errorf("%+v: describe does not say %q:\n%s", tc.b, s, d)
			}
		}
	}
}

// TestReportStdin: `report -` reads the results from standard input, and a
// bad one is refused as a file would be.
func TestReportStdin(t *testing.T) {
	raw, err := os.ReadFile(fixture("one-round"))
	if err != nil {
		t.Fatal(err)
	}
	saved := stdin
	defer func() { stdin = saved }()
	var fromFile, fromStdin, stderr bytes.Buffer
	run([]string{"report", "-format", "csv", fixture("one-round")}, &fromFile, &stderr)
	stdin = bytes.NewReader(raw)
	if code := run([]string{"report", "-format", "csv", "-"}, &fromStdin, &stderr); code != exitOK || stderr.Len() != 0 {
		t.Fatalf("report -: exit %d, stderr %q", code, stderr.String())
	}
	if fromStdin.String() != fromFile.String() {
		t.Error("report - prints other than report FILE")
	}
	stdin = strings.NewReader("{")
	checkBadInput(t, []string{"report", "-"}, "standard input: bad results file")
	checkBadInput(t, []string{"compare", "-", "-"}, "only one of OLD.json and NEW.json")
	stdin = bytes.NewReader(raw)
	var cmp bytes.Buffer
	if code := run([]string{"compare", fixture("one-round"), "-"}, &cmp, &stderr); code != exitOK {
		t.Errorf("compare FILE -: exit %d, stderr %q", code, stderr.String())
	}
}

// TestServeMaxSizeList: a list where one size belongs says so, not "<nil>".
func TestServeMaxSizeList(t *testing.T) {
	checkBadInput(t, []string{"serve", "-max-size", "1K,2K"}, `-max-size takes one size`)
	var stderr bytes.Buffer
	run([]string{"serve", "-max-size", "1K,2K"}, &stderr, &stderr)
	if strings.Contains(stderr.String(), "nil") {
		t.Errorf("serve -max-size 1K,2K says %q", stderr.String())
	}
}

// TestRealOutputMatchesSchema: what a real run writes is valid by
// results/schema.json, and -format jsonl gives one object per row with
// the run's fields on every line.
func TestRealOutputMatchesSchema(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	runBinary(t, "run", "-mech", "pipe,msgqueue", "-sizes", "64,16K", "-count", "50", "-rounds", "2", "-q", "-o", dir)
	raw, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(results.SchemaJSON))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(v); err != nil {
		t.Errorf("results.json of a real run is not valid by the schema: %v", err)
	}

	f, err := results.Load(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Meta.Seed <= 0 || f.Meta.Seed >= 1<<53 {
		t.Errorf("seed %d is not in [1, 2^53): JSON readers would round it", f.Meta.Seed)
	}
	jsonl := runBinary(t, "report", "-format", "jsonl", filepath.Join(dir, "results.json"))
	lines := strings.Split(strings.TrimSuffix(jsonl, "\n"), "\n")
	if len(lines) != len(f.Results) {
		t.Fatalf("%d jsonl lines for %d rows", len(lines), len(f.Results))
	}
	for i, line := range lines {
		var obj map[string]any
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		for _, k := range []string{"mechanism", "workload", "size_bytes", "round", "host", "kernel", "started", "version", "seed"} {
			if _, ok := obj[k]; !ok {
				t.Errorf("jsonl line %d has no %q", i+1, k)
			}
		}
	}
}

// TestReplaySeed: the seed a run records replays its cell order.
func TestReplaySeed(t *testing.T) {
	// A fixed number of rounds: adaptive ones depend on the figures.
	args := []string{"run", "-mech", "pipe,unixsocket", "-sizes", "64,1K", "-workload", "pingpong", "-count", "20", "-rounds", "3", "-q", "-format", "json"}
	order := func(out string) (seed int64, cells []string) {
		f, err := results.Read(strings.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range f.Results {
			cells = append(cells, fmt.Sprint(r.Key()))
		}
		return f.Meta.Seed, cells
	}
	seed, first := order(runBinary(t, args...))
	if seed <= 0 || seed >= 1<<53 {
		t.Fatalf("seed %d is not in [1, 2^53)", seed)
	}
	again, second := order(runBinary(t, append(args, "-seed", strconv.FormatInt(seed, 10))...))
	if again != seed || !slices.Equal(first, second) {
		t.Errorf("-seed %d gave seed %d and order %v, want %v", seed, again, second, first)
	}
	checkBadInput(t, []string{"run", "-seed", "9007199254740993"}, "-seed must be")
}

// TestImpossibleRunRefused: a run the machine cannot hold is refused in one
// line naming the limit, with no progress line before it (no cell started).
func TestImpossibleRunRefused(t *testing.T) {
	checkBadInput(t, []string{"run", "-pairs", "100000", "-sizes", "64"}, "-pairs 100000 needs")
}
