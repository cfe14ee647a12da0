package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/harness/harnesstest"
	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/results"
)

// binary is ipcbench built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	harness.MaybeRunPeer(append(slices.Clone(mechanisms), testFaults...))
	if os.Getenv(secondSIGINTEnv) == "1" {
		os.Exit(takeTwoInterrupts())
	}
	dir, err := os.MkdirTemp("", "ipcbench-e2e-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "ipcbench")
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if out, err := exec.Command(goTool, "build", "-o", binary, ".").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		panic("building ipcbench: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestRunEndToEnd runs the built binary as a user would and checks every
// file -o promises, the contract's JSON fields, and that nothing is left.
func TestRunEndToEnd(t *testing.T) {
	out := t.TempDir()
	cmd := exec.Command(binary, "run", "-count", "200", "-sizes", "64,64K", "-rounds", "1", "-o", out, "-q")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ipcbench run: %v\nstderr: %s", err, stderr.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("-q run wrote to stderr: %s", stderr.String())
	}
	for _, mech := range mechanismNames() {
		if !strings.Contains(stdout.String(), mech) {
			t.Errorf("the table does not show %s:\n%s", mech, stdout.String())
		}
	}

	raw, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	checkContractJSON(t, raw)
	f, err := results.Load(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if want := len(mechanisms) * 2 * 2; len(f.Results) != want {
		t.Fatalf("got %d rows, want %d mechanisms x 2 workloads x 2 sizes = %d", len(f.Results), len(mechanisms), want)
	}
	for _, r := range f.Results {
		harnesstest.CheckRow(t, r, 200)
		if r.Mechanism == "msgqueue" && r.SizeBytes == 65536 && r.Pieces < 2 {
			t.Errorf("msgqueue 64 KiB is above kernel.msgmax but the row does not say it was split")
		}
	}

	for _, name := range []string{"results.csv", "results.md", "results.bench.txt", "report.html"} {
		if b, err := os.ReadFile(filepath.Join(out, name)); err != nil || len(b) == 0 {
			t.Errorf("%s missing or empty (%v)", name, err)
		}
	}
	for _, plot := range []string{"latency", "throughput"} {
		checkPNG(t, filepath.Join(out, plot+".png"))
		checkSVG(t, filepath.Join(out, plot+".svg"))
	}
	if kids := harnesstest.Children(t); len(kids) > 0 {
		t.Errorf("processes left running: %v", kids)
	}
	leftovers, _ := filepath.Glob(filepath.Join(os.TempDir(), ipc.TempDirPrefix+"*"))
	for _, l := range leftovers {
		if pid, ok := ipc.OwnerPID(l); ok && pid == cmd.Process.Pid {
			t.Errorf("the run left %s behind", l)
		}
	}
	qs, _ := ipc.Records(cmd.Process.Pid)
	if len(qs) > 0 {
		t.Errorf("the run left System V queues behind: %+v", qs)
	}
}

// checkContractJSON checks the field names shared/CONTRACT.md promises,
// on the raw JSON rather than through our own types.
func checkContractJSON(t *testing.T, raw []byte) {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["schema"] != float64(1) {
		t.Errorf("schema = %v, want 1", doc["schema"])
	}
	meta, _ := doc["meta"].(map[string]any)
	for _, k := range []string{"started", "version", "command", "host", "kernel", "cpu_model", "ncpu", "go_version", "gomaxprocs", "io", "cpus", "limits",
		"offsets", "floors"} {
		if _, ok := meta[k]; !ok {
			t.Errorf("meta has no %q", k)
		}
	}
	floors, _ := meta["floors"].(map[string]any)
	memcpy, _ := floors["memcpy_bytes_per_s"].(map[string]any)
	if len(memcpy) == 0 {
		t.Errorf("meta.floors has no memcpy_bytes_per_s: %v", floors)
	}
	for size, v := range memcpy {
		if f, _ := v.(float64); !(f > 0) {
			t.Errorf("meta.floors.memcpy_bytes_per_s[%s] = %v, want positive", size, v)
		}
	}
	limits, _ := meta["limits"].(map[string]any)
	for _, k := range []string{"kernel.msgmax", "kernel.msgmnb", "pipe_bytes"} {
		if _, ok := limits[k]; !ok {
			t.Errorf("meta.limits has no %q", k)
		}
	}
	rows, _ := doc["results"].([]any)
	for _, r := range rows {
		row := r.(map[string]any)
		for _, k := range []string{"mechanism", "workload", "size_bytes", "round", "messages", "elapsed_ns", "msgs_per_s", "bytes_per_s", "payload_offset"} {
			if _, ok := row[k]; !ok {
				t.Errorf("a %v row has no %q", row["workload"], k)
			}
		}
		if _, ok := row["copy_limit_fraction"]; row["workload"] == "stream" && !ok {
			t.Errorf("a stream row has no copy_limit_fraction")
		}
		if row["workload"] == "pingpong" {
			rtt, _ := row["rtt_ns"].(map[string]any)
			for _, k := range []string{"n", "min", "mean", "stddev", "p50", "p90", "p99", "p999", "max"} {
				if _, ok := rtt[k]; !ok {
					t.Errorf("rtt_ns has no %q", k)
				}
			}
		}
	}
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Error(err)
		return
	}
	defer fh.Close()
	img, err := png.Decode(fh)
	if err != nil {
		t.Errorf("%s is not a valid PNG: %v", path, err)
		return
	}
	if b := img.Bounds(); b.Dx() < 200 || b.Dy() < 100 {
		t.Errorf("%s is only %dx%d", path, b.Dx(), b.Dy())
	}
}

func checkSVG(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Error(err)
		return
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	var root struct{ XMLName xml.Name }
	if err := dec.Decode(&root); err != nil || root.XMLName.Local != "svg" {
		t.Errorf("%s is not an SVG document (root %q, %v)", path, root.XMLName.Local, err)
	}
}

// TestBadInput checks that every mistake gets exit status 2 and one
// sentence on stderr, before anything runs.
func TestBadInput(t *testing.T) {
	unwritable := filepath.Join(t.TempDir(), "file")
	os.WriteFile(unwritable, nil, 0o644)
	// An -o that cannot be written is refused before the first cell: the
	// one line on stderr below shows that no cell's progress line came
	// first (progress is on, no -q).
	for _, tc := range []struct {
		name string
		args []string
		want string // part of the message
	}{
		{"unknown command", []string{"frobnicate"}, "unknown command"},
		{"unknown flag", []string{"run", "-frob"}, "flag provided but not defined"},
		{"stray argument", []string{"run", "extra"}, "unexpected argument"},
		{"unknown mechanism", []string{"run", "-mech", "pipe,carrier-pigeon"}, `unknown mech "carrier-pigeon"`},
		{"unknown workload", []string{"run", "-workload", "burst"}, `unknown workload "burst"`},
		{"unknown format", []string{"run", "-format", "xml"}, "-format must be one of"},
		{"size zero", []string{"run", "-sizes", "0"}, "not positive"},
		{"size negative", []string{"run", "-sizes", "64,-5"}, "not positive"},
		{"size malformed", []string{"run", "-sizes", "12Q"}, `"12Q" is not a size`},
		{"size too large", []string{"run", "-sizes", "64G"}, "above the maximum"},
		{"size absurd", []string{"run", "-sizes", "99999999999G"}, "larger than the maximum"},
		{"size below header", []string{"run", "-sizes", "8"}, "below the minimum"},
		{"size empty", []string{"run", "-sizes", "64,,1K"}, "empty size"},
		{"offset past a page", []string{"run", "-offset", "0,4096"}, "offset 4096 is outside a page"},
		{"offset negative", []string{"run", "-offset", "-8"}, "offset -8 is outside a page"},
		{"offset malformed", []string{"run", "-offset", "8B"}, `"8B" is not an offset`},
		{"offset empty", []string{"run", "-offset", "0,,8"}, "empty offset"},
		{"pairs x size too large", []string{"run", "-pairs", "32", "-sizes", "64,64M"}, "needs 4 GiB of message buffers"},
		{"bad duration", []string{"run", "-duration", "fast"}, "invalid value"},
		{"zero duration", []string{"run", "-duration", "0s"}, "-duration must be positive"},
		{"count zero", []string{"run", "-count", "0"}, "-count must be at least 1"},
		{"count and duration", []string{"run", "-count", "5", "-duration", "1s"}, "not both"},
		{"rounds zero", []string{"run", "-rounds", "0"}, "give a number of rounds of at least 1, or auto"},
		{"pairs zero", []string{"run", "-pairs", "0"}, "-pairs must be at least 1"},
		{"bad io", []string{"run", "-io", "async"}, "-io must be raw or go"},
		{"cpu missing", []string{"run", "-cpus", "0,4096"}, "CPU 4096 does not exist"},
		{"cpu malformed", []string{"run", "-cpus", "0,x"}, "not a CPU number"},
		{"one cpu", []string{"run", "-cpus", "0"}, "takes two CPUs"},
		{"unwritable -o", []string{"run", "-o", filepath.Join(unwritable, "out")}, "-o: cannot create"},
		{"-o is a file", []string{"run", "-o", unwritable}, "-o: cannot create"},
		{"-o in sysfs", []string{"run", "-o", "/sys/ipcbench-out"}, "-o: cannot create /sys/ipcbench-out"},
		{"count negative", []string{"run", "-count", "-5"}, "-count must be at least 1"},
		{"rounds negative", []string{"run", "-rounds", "-1"}, "give a number of rounds of at least 1, or auto"},
		{"rounds word", []string{"run", "-rounds", "many"}, "give a number of rounds of at least 1, or auto"},
		{"budget without auto", []string{"run", "-rounds", "5", "-budget", "10s"}, "-budget goes with -rounds auto"},
		{"budget zero", []string{"run", "-budget", "0s"}, "-budget must be positive"},
		{"pairs negative", []string{"run", "-pairs", "-3"}, "-pairs must be at least 1"},
		{"timeout zero", []string{"run", "-timeout", "0s"}, "-timeout must be positive"},
		{"warmup negative", []string{"run", "-warmup", "-1s"}, "-warmup cannot be negative"},
		{"seed malformed", []string{"run", "-seed", "x"}, "invalid value"},
		{"three cpus", []string{"run", "-cpus", "0,1,2"}, "takes two CPUs"},
		{"negative cpu", []string{"run", "-cpus", "-1,0"}, "not a CPU number"},
		{"empty mech", []string{"run", "-mech", ""}, `unknown mech ""`},
		{"remote with pipe", []string{"run", "-mech", "pipe", "-remote", "10.0.0.2:7300"}, "-remote works only with -mech tcpsocket"},
		{"remote with every mechanism", []string{"run", "-remote", "10.0.0.2:7300"}, "-remote works only with -mech tcpsocket"},
		{"rate zero", []string{"run", "-rate", "0"}, `-rate: "0" is not a rate`},
		{"rate malformed", []string{"run", "-rate", "fast"}, `-rate: "fast" is not a rate`},
		{"rate percent too high", []string{"run", "-rate", "5000%"}, `"5000%" is not a percentage`},
		{"rate twice", []string{"run", "-rate", "1000,1000"}, "given twice"},
		{"rate with stream", []string{"run", "-rate", "1000", "-workload", "pingpong,stream"}, "-rate offers a load to pingpong only: stream"},
		{"rate with server", []string{"run", "-rate", "1000", "-workload", "server"}, "-rate offers a load to pingpong only: server"},
		{"arrivals without rate", []string{"run", "-arrivals", "poisson"}, "give -rate too"},
		{"arrivals unknown", []string{"run", "-rate", "1000", "-arrivals", "bursty"}, "-arrivals must be fixed or poisson"},
		{"clean with an argument", []string{"clean", "now"}, "unexpected argument"},
		{"clean unknown flag", []string{"clean", "-all"}, "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			msg := stderr.String()
			if code != exitUsage {
				t.Errorf("exit status %d, want %d; stderr: %s", code, exitUsage, msg)
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("stderr %q does not say %q", msg, tc.want)
			}
			if strings.Count(msg, "\n") != 1 || strings.Contains(msg, "goroutine") {
				t.Errorf("want one line on stderr, got %q", msg)
			}
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{nil, {"help"}, {"version"}, {"run", "-h"}} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != exitOK {
			t.Errorf("%v: exit status %d, stderr %s", args, code, stderr.String())
		}
		if stdout.Len() == 0 || stderr.Len() != 0 {
			t.Errorf("%v: want output on stdout only", args)
		}
	}
	var stdout bytes.Buffer
	run([]string{"run", "-h"}, &stdout, &stdout)
	for _, flag := range []string{"-mech", "-workload", "-sizes", "-duration", "-count", "-warmup", "-rounds", "-cpus", "-io", "-pairs", "-timeout", "-remote", "-o", "-format", "-q"} {
		if !slices.ContainsFunc(strings.Fields(stdout.String()), func(w string) bool { return w == flag }) {
			t.Errorf("run -h does not document %s", flag)
		}
	}
}

// TestServerAndConnect runs both workloads end to end: rows for every
// mechanism, the mechanisms without connections as skipped rows that do not
// change the exit status, every format rendering them, and a refusal of
// -remote in one sentence.
func TestServerAndConnect(t *testing.T) {
	out := t.TempDir()
	cmd := exec.Command(binary, "run", "-rounds", "1", "-workload", "server,connect", "-mech", "pipe,msgqueue,unixsocket,tcpsocket",
		"-clients", "1,2", "-sizes", "64", "-count", "50", "-warmup", "0", "-o", out, "-q")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ipcbench run: %v (skipped rows must not fail the run)\nstderr: %s", err, stderr.String())
	}
	f, err := results.Load(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	skipped := 0
	for _, r := range f.Results {
		switch {
		case r.Workload == results.Connect && (r.Mechanism == "pipe" || r.Mechanism == "msgqueue"):
			if r.Skipped == "" || r.Error != "" || r.RTT != nil {
				t.Errorf("%s connect: want a skipped row without figures, got %+v", r.Mechanism, r)
			}
			skipped++
		case r.Error != "" || r.Skipped != "":
			t.Errorf("%s %s %d clients: %s%s", r.Mechanism, r.Workload, r.Clients, r.Error, r.Skipped)
		}
	}
	if skipped != 4 {
		t.Errorf("%d skipped rows, want 4 (pipe and msgqueue connect, 1 and 2 clients)", skipped)
	}
	for _, file := range []string{"results.md", "results.csv", "report.html"} {
		b, err := os.ReadFile(filepath.Join(out, file))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "skipped") || !strings.Contains(string(b), "a pipe has no connections") {
			t.Errorf("%s does not show the skipped rows and why", file)
		}
	}
	if !strings.Contains(stdout.String(), "skipped") {
		t.Errorf("the table does not show the skipped rows:\n%s", stdout.String())
	}
	for _, chart := range []string{"server-requests-64.svg", "server-latency-64.svg"} {
		checkSVG(t, filepath.Join(out, chart))
	}

	cmd = exec.Command(binary, "run", "-workload", "server", "-mech", "tcpsocket", "-remote", "127.0.0.1:1")
	stderr.Reset()
	cmd.Stderr = &stderr
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(stderr.String(), "-remote") ||
		strings.Count(strings.TrimSpace(stderr.String()), "\n") > 0 {
		t.Errorf("-remote with the server workload: %v, stderr %q; want exit status 2 and one sentence", err, stderr.String())
	}
}
