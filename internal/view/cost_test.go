package view

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/results"
)

// costFile is a run with cost figures on closed-loop rows and two
// open-loop rows, one that kept up with its load and one that did not.
func costFile() *results.File {
	two := 2.0
	side := func(cpu, perWall float64, calls *float64) *results.SideCost {
		return &results.SideCost{Scope: "thread", UserNS: cpu / 4, SysNS: cpu * 3 / 4, Syscalls: calls, CPUPerWall: perWall}
	}
	stats := func(p50, p99 int64) *results.Stats {
		return &results.Stats{N: 100, Min: p50 / 2, Mean: float64(p50), P50: p50, P90: p50, P99: p99, P999: p99, Max: p99}
	}
	return &results.File{Schema: results.Schema, Meta: results.Meta{IO: "raw"}, Results: []results.Result{
		{Mechanism: "pipe", Workload: results.PingPong, SizeBytes: 64, Round: 1, Messages: 100, ElapsedNS: 1e6, MsgsPerS: 1e5,
			RTT: stats(5000, 9000), Cost: &results.Cost{Driver: side(2000, 0.1, &two), Peer: side(2100, 0.1, &two)}},
		{Mechanism: "shm-spin", Workload: results.PingPong, SizeBytes: 64, Round: 1, Messages: 100, ElapsedNS: 1e6, MsgsPerS: 1e5,
			RTT: stats(500, 900), Cost: &results.Cost{Driver: side(400, 0.99, nil), Peer: side(450, 0.98, nil)}},
		{Mechanism: "pipe", Workload: results.PingPong, SizeBytes: 64, Round: 1, Messages: 100, ElapsedNS: 1e8, MsgsPerS: 1000,
			Rate: 1000, RTT: stats(5000, 9000), RTTCorrected: stats(6000, 12000)},
		{Mechanism: "pipe", Workload: results.PingPong, SizeBytes: 64, Round: 1, Messages: 100, ElapsedNS: 1e8, MsgsPerS: 600,
			Rate: 1000, RatePercent: 150, RTT: stats(5000, 9000), RTTCorrected: stats(60e6, 90e6)},
	}}
}

func TestCostAndLoadTables(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, costFile()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"CPU per round trip (pingpong)",
		"2.00 µs + 2.10 µs · 2/2 · 0.10/0.10", // pipe: both sides, counted syscalls
		"400 ns + 450 ns · ?/? · 0.99/0.98",   // shm-spin: no count, busy sides
		"a side that never sleeps",
		"shm-spin 64 B",
		"Round trip under load",
		"1000/s", "150%",
		"6.00 / 12.0 µs",
		"60.0 / 90.0 ms, 60% achieved",
		"offered 1.00k/s, achieved 600/s",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the table does not show %q:\n%s", want, out)
		}
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, costFile()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "CPU per round trip") || !strings.Contains(md.String(), "Round trip under load") {
		t.Errorf("Markdown lacks the cost or the load table:\n%s", md.String())
	}
}
