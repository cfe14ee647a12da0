package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/results"
	"github.com/ipcbench/ipcbench/verdict"

	"github.com/ipcbench/ipcbench/internal/view"
)

// TestCompare checks that compare prints what view.RenderComparison
// does for the two files, named as given, in both formats.
func TestCompare(t *testing.T) {
	oldPath, newPath := fixture("compare-old"), fixture("compare-new")
	old, err := results.Load(oldPath)
	if err != nil {
		t.Fatal(err)
	}
	new, err := results.Load(newPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range view.CompareFormats {
		c := results.Compare(old, new)
		c.OldName, c.NewName = oldPath, newPath
		verdict.Annotate(c, old, new)
		var want bytes.Buffer
		if err := view.RenderComparison(&want, format, c); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		if code := run([]string{"compare", "-format", format, oldPath, newPath}, &stdout, &stderr); code != exitOK {
			t.Fatalf("exit status %d: %s", code, stderr.String())
		}
		if stdout.String() != want.String() || stderr.Len() != 0 {
			t.Errorf("compare -format %s prints something else than RenderComparison (stderr %q)", format, stderr.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"compare", oldPath, newPath}, &stdout, &stderr); code != exitOK || !strings.HasPrefix(stdout.String(), "Old: "+oldPath) {
		t.Errorf("compare without -format: exit %d, want the table; got:\n%s", code, stdout.String())
	}
}

// TestCompareTwoRuns runs the built binary twice, with different sizes, and
// compares the runs: every cell of either is listed, none dropped.
func TestCompareTwoRuns(t *testing.T) {
	tmp := t.TempDir()
	a, b := filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	runBinary(t, "run", "-mech", "pipe,unixsocket", "-rounds", "2", "-count", "50", "-sizes", "64,4K", "-o", a, "-q")
	runBinary(t, "run", "-mech", "pipe,unixsocket", "-rounds", "2", "-count", "50", "-sizes", "64,16K", "-o", b, "-q")
	out := runBinary(t, "compare", filepath.Join(a, "results.json"), filepath.Join(b, "results.json"))
	for _, want := range []string{
		"Round-trip time (pingpong)", "Throughput (stream)",
		"Too few rounds for any change to be significant: with 2 rounds against 2 the smallest possible p is 0.333",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the comparison does not say %q:\n%s", want, out)
		}
	}
	rows := map[string]int{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.FieldsFunc(line, func(r rune) bool { return r == '│' })
		if len(f) < 3 {
			continue
		}
		cell := strings.TrimSpace(f[0]) + " " + strings.TrimSpace(f[1])
		rows[cell]++
		last := strings.TrimSpace(f[len(f)-1])
		switch strings.TrimSpace(f[1]) {
		case "4 KiB":
			if last != "only in old" {
				t.Errorf("%s: change %q, want only in old", cell, last)
			}
		case "16 KiB":
			if last != "only in new" {
				t.Errorf("%s: change %q, want only in new", cell, last)
			}
		}
	}
	for _, mech := range []string{"pipe", "unixsocket"} {
		for _, size := range []string{"64 B", "4 KiB", "16 KiB"} {
			if rows[mech+" "+size] != 2 {
				t.Errorf("%s %s is in %d tables, want both (pingpong and stream)", mech, size, rows[mech+" "+size])
			}
		}
	}
}

func TestCompareBadInput(t *testing.T) {
	bad := badResultFiles(t)
	good := fixture("three-rounds")
	for _, tc := range []struct {
		name string
		args []string
		want string // part of the message
	}{
		{"old missing", []string{"compare", bad["missing"], good}, "does not exist"},
		{"new missing", []string{"compare", good, bad["missing"]}, "does not exist"},
		{"empty file", []string{"compare", good, bad["empty"]}, "empty or truncated"},
		{"corrupt JSON", []string{"compare", bad["corrupt"], good}, "not valid results JSON"},
		{"truncated file", []string{"compare", good, bad["truncated"]}, "empty or truncated"},
		{"newer schema", []string{"compare", bad["newer"], good}, "schema 99, newer than"},
		{"no schema", []string{"compare", good, bad["noschema"]}, `no "schema" field`},
		{"wrong field type", []string{"compare", good, bad["wrongtype"]}, "not valid results JSON"},
		{"no files", []string{"compare"}, "missing OLD.json and NEW.json"},
		{"one file", []string{"compare", good}, "missing NEW.json"},
		{"three files", []string{"compare", good, good, good}, "unexpected argument"},
		{"unknown format", []string{"compare", "-format", "xml", good, good}, "-format must be one of table, markdown, json, csv"},
		{"a single-file format", []string{"compare", "-format", "bench", good, good}, "-format must be one of table, markdown, json, csv"},
		{"fail-on a word", []string{"compare", "-fail-on", "lots", good, good}, "give a percentage of at least 0, such as 5% or 2.5"},
		{"fail-on negative", []string{"compare", "-fail-on", "-5%", good, good}, "give a percentage of at least 0"},
		{"fail-on empty", []string{"compare", "-fail-on", "", good, good}, "give a percentage of at least 0"},
		{"unknown flag", []string{"compare", "-o", "out", good, good}, "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkBadInput(t, tc.args, tc.want)
		})
	}
}

func TestReportCompareHelp(t *testing.T) {
	for _, args := range [][]string{{"report", "-h"}, {"compare", "-h"}, {"compare", "-format", "markdown", "-h"}} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != exitOK || stderr.Len() != 0 {
			t.Errorf("%v: exit status %d, stderr %q", args, code, stderr.String())
		}
		if !strings.Contains(stdout.String(), "Usage: ipcbench "+args[0]) || !strings.Contains(stdout.String(), "-format") {
			t.Errorf("%v does not print its usage:\n%s", args, stdout.String())
		}
	}
	var stdout bytes.Buffer
	run(nil, &stdout, &stdout)
	for _, cmd := range []string{"ipcbench report", "ipcbench compare"} {
		if !strings.Contains(stdout.String(), cmd) {
			t.Errorf("the usage does not list %s", cmd)
		}
	}
}

// TestCompareFailOn: -fail-on exits 1 when a figure is significantly worse
// by more than the percentage, 0 when none is (or when the change is
// better, or within the percentage), and still writes the comparison.
// compare-old to compare-new makes pipe 64 B 19% faster and its stream 17%
// faster (both p = 0.029 with 4 rounds against 4); the other way round they
// are regressions.
func TestCompareFailOn(t *testing.T) {
	old, new := fixture("compare-old"), fixture("compare-new")
	for _, tc := range []struct {
		name   string
		args   []string
		status int
		stderr string
	}{
		// unixsocket 64 B lost a round: 4 against 3 cannot show a change,
		// which a gate must say rather than pass in silence.
		{"improvement", []string{"compare", "-fail-on", "5%", old, new}, exitOK,
			"ipcbench compare: -fail-on 5%: 2 of 8 figures had too few rounds to show any change; run both with -rounds 4 or more (or -rounds auto).\n"},
		{"regression", []string{"compare", "-fail-on", "5%", new, old}, exitFailure,
			"ipcbench compare: 2 figures significantly worse by more than 5%: pipe pingpong 64 B p50 +23.0% (p=0.029); pipe stream 64 B throughput -14.9% (p=0.029).\n"},
		{"regression within the percentage", []string{"compare", "-fail-on", "20", new, old}, exitFailure,
			"ipcbench compare: 1 figure significantly worse by more than 20%: pipe pingpong 64 B p50 +23.0% (p=0.029).\n"},
		{"regressions all within", []string{"compare", "-fail-on", "25%", new, old}, exitOK, "2 of 8 figures had too few rounds"},
		{"as csv", []string{"compare", "-format", "csv", "-fail-on", "5%", new, old}, exitFailure, "2 figures significantly worse"},
		{"too few rounds to tell", []string{"compare", "-fail-on", "5%", fixture("three-rounds"), fixture("three-rounds")}, exitOK,
			"ipcbench compare: -fail-on 5%: 4 of 4 figures had too few rounds to show any change"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.status || !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tc.status, tc.stderr)
			}
			if stdout.Len() == 0 {
				t.Error("no comparison on stdout")
			}
		})
	}
}
