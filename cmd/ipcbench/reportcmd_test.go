package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/results"

	"github.com/ipcbench/ipcbench/internal/view"
)

// fixture is a results file the results package's golden tests use.
func fixture(name string) string {
	return filepath.Join("..", "..", "results", "testdata", name+".results.json")
}

// TestReportSameFiles is the promise of `report -o`: from the saved
// results.json alone it writes exactly what the run wrote, every file, byte
// for byte, and prints the same table. It runs the built binary as a user
// would; it checks equality only, never a figure, so the machine's noise
// cannot fail it.
func TestReportSameFiles(t *testing.T) {
	tmp := t.TempDir()
	a, b := filepath.Join(tmp, "A"), filepath.Join(tmp, "B")
	runOut := runBinary(t, "run", "-rounds", "2", "-count", "50", "-sizes", "64,4K", "-o", a, "-q")
	reportOut := runBinary(t, "report", "-o", b, "-q", filepath.Join(a, "results.json"))
	if runOut != reportOut {
		t.Errorf("report prints a different table than the run did:\nrun:\n%s\nreport:\n%s", runOut, reportOut)
	}

	names := func(dir string) []string {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}
	na, nb := names(a), names(b)
	if !slices.Equal(na, nb) {
		t.Fatalf("run -o wrote %v, report -o wrote %v", na, nb)
	}
	for _, want := range []string{"results.json", "results.csv", "results.md", "results.bench.txt"} {
		if !slices.Contains(na, want) {
			t.Errorf("run -o did not write %s", want)
		}
	}
	for _, name := range na {
		da, err := os.ReadFile(filepath.Join(a, name))
		if err != nil {
			t.Fatal(err)
		}
		db, err := os.ReadFile(filepath.Join(b, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(da, db) {
			t.Errorf("%s differs between run -o and report -o (%d and %d bytes)", name, len(da), len(db))
		}
	}
}

// runBinary runs the built ipcbench and returns its stdout; it fails the
// test on a non-zero exit or anything on stderr.
func runBinary(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ipcbench %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("ipcbench %s wrote to stderr: %s", strings.Join(args, " "), stderr.String())
	}
	return stdout.String()
}

// TestReportFormats checks that report prints what view.Render does for
// every format, and that flags may follow the file.
func TestReportFormats(t *testing.T) {
	path := fixture("one-round")
	f, err := results.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range view.Formats {
		var want bytes.Buffer
		if err := view.Render(&want, format, f); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{
			{"report", "-format", format, path},
			{"report", path, "-format", format},
		} {
			var stdout, stderr bytes.Buffer
			if code := run(args, &stdout, &stderr); code != exitOK {
				t.Fatalf("%v: exit status %d: %s", args, code, stderr.String())
			}
			if stdout.String() != want.String() {
				t.Errorf("%v prints something else than Render(%q)", args, format)
			}
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"report", path}, &stdout, &stderr); code != exitOK || !strings.HasPrefix(stdout.String(), "Round-trip time") {
		t.Errorf("report without -format: exit %d, want the table; got:\n%s", code, stdout.String())
	}
}

// TestReportWritesFiles checks -o in-process: the files, and the list of
// them on stderr unless -q.
func TestReportWritesFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"report", "-o", dir, fixture("three-rounds")}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit status %d: %s", code, stderr.String())
	}
	for _, name := range []string{"results.json", "results.csv", "results.md", "results.bench.txt", "latency.svg", "latency.png"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("report -o did not write %s", name)
		}
		if !strings.Contains(stderr.String(), name) {
			t.Errorf("stderr does not list %s: %s", name, stderr.String())
		}
	}
}

// badResultFiles writes the broken inputs both report and compare must
// refuse with one sentence and exit status 2.
func badResultFiles(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	good, err := os.ReadFile(fixture("three-rounds"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"empty":     nil,
		"corrupt":   []byte("this is not JSON\n"),
		"truncated": good[:len(good)/2],
		"newer":     bytes.Replace(good, []byte(`"schema": 1`), []byte(`"schema": 99`), 1),
		"noschema":  []byte(`{"meta": {}, "results": []}`),
		"wrongtype": []byte(`{"schema": 1, "results": {"pipe": 1}}`),
	}
	paths := map[string]string{"missing": filepath.Join(dir, "missing.json"), "directory": dir}
	for name, data := range files {
		p := filepath.Join(dir, name+".json")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		paths[name] = p
	}
	if bytes.Equal(good, []byte(files["newer"])) {
		t.Fatal("the fixture no longer has \"schema\": 1")
	}
	return paths
}

func TestReportBadInput(t *testing.T) {
	bad := badResultFiles(t)
	good := fixture("one-round")
	for _, tc := range []struct {
		name string
		args []string
		want string // part of the message
	}{
		{"missing file", []string{"report", bad["missing"]}, "does not exist"},
		{"empty file", []string{"report", bad["empty"]}, "empty or truncated"},
		{"corrupt JSON", []string{"report", bad["corrupt"]}, "not valid results JSON"},
		{"truncated file", []string{"report", bad["truncated"]}, "empty or truncated"},
		{"newer schema", []string{"report", bad["newer"]}, "schema 99, newer than"},
		{"no schema", []string{"report", bad["noschema"]}, `no "schema" field`},
		{"wrong field type", []string{"report", bad["wrongtype"]}, "not valid results JSON"},
		{"a directory", []string{"report", bad["directory"]}, "bad results file"},
		{"no file", []string{"report"}, "missing RESULTS.json"},
		{"two files", []string{"report", good, good}, "unexpected argument"},
		{"unknown format", []string{"report", "-format", "xml", good}, "for flag -format: must be one of"},
		{"unknown flag", []string{"report", "-frob", good}, "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkBadInput(t, tc.args, tc.want)
		})
	}
}

// checkBadInput runs args in-process and checks the contract for bad input:
// exit status 2, nothing on stdout, one line on stderr saying want.
func checkBadInput(t *testing.T, args []string, want string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	msg := stderr.String()
	if code != exitUsage {
		t.Errorf("exit status %d, want %d; stderr: %s", code, exitUsage, msg)
	}
	if !strings.Contains(msg, want) {
		t.Errorf("stderr %q does not say %q", msg, want)
	}
	if strings.Count(msg, "\n") != 1 || strings.Contains(msg, "goroutine") {
		t.Errorf("want one line on stderr, got %q", msg)
	}
	if stdout.Len() != 0 {
		t.Errorf("wrote to stdout: %q", stdout.String())
	}
}
