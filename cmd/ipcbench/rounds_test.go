package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/results"
)

// TestRunAutoRounds runs -rounds auto end to end with a short budget: at
// least five rounds of every cell, shuffled, meta.rounds_auto saying how
// they ended, verdicts in results.json and their sentences after the table.
func TestRunAutoRounds(t *testing.T) {
	out := t.TempDir()
	cmd := exec.Command(binary, "run", "-mech", "pipe,unixsocket", "-workload", "pingpong", "-sizes", "64",
		"-count", "100", "-rounds", "auto", "-budget", "3s", "-q", "-o", out)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ipcbench run: %v\nstderr: %s", err, stderr.String())
	}
	f, err := results.Load(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	a := f.Meta.RoundsAuto
	if a == nil || a.Min != 5 || a.BudgetNS != 3e9 || a.Max != maxAutoRounds {
		t.Fatalf("rounds_auto %+v", a)
	}
	switch a.Stopped {
	case "resolved", "budget", "max rounds":
	default:
		t.Errorf("stopped %q", a.Stopped)
	}
	n := map[string]int{}
	for _, r := range f.Results {
		n[r.Mechanism]++
	}
	if n["pipe"] < 5 || n["unixsocket"] < 5 {
		t.Errorf("rounds per mechanism %v, want at least 5", n)
	}
	if len(f.Verdicts) != 1 || f.Verdicts[0].Figure != "rtt_p50" || f.Verdicts[0].N["pipe"] != n["pipe"] {
		t.Fatalf("verdicts %+v", f.Verdicts)
	}
	if !strings.Contains(stdout.String(), "\nVerdicts: ") || !strings.Contains(stdout.String(), "  64 B round trip: ") ||
		!strings.Contains(stdout.String(), "Adaptive rounds: ") {
		t.Errorf("no verdict sentences after the table:\n%s", stdout.String())
	}
	// The verdicts are in the raw JSON as the contract names them.
	raw, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		t.Fatal(err)
	}
	var vs []map[string]json.RawMessage
	if err := json.Unmarshal(top["verdicts"], &vs); err != nil || len(vs) != 1 {
		t.Fatalf("verdicts %s: %v", top["verdicts"], err)
	}
	for _, k := range []string{"workload", "size_bytes", "figure", "groups", "steps"} {
		if _, ok := vs[0][k]; !ok {
			t.Errorf("verdict has no %q: %s", k, top["verdicts"])
		}
	}
}
