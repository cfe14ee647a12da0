package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/results"

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
		{"unknown format", []string{"compare", "-format", "xml", good, good}, "for flag -format: must be table or markdown"},
		{"a single-file format", []string{"compare", "-format", "csv", good, good}, "for flag -format: must be table or markdown"},
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
