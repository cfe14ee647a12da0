package chart

import (
	"bytes"
	"image/png"
	"testing"

	"github.com/ipcbench/ipcbench/results"
)

// TestCostAndLoadCharts draws a run with cost figures and open-loop rows:
// it must have the cost chart of each workload and a load chart, each a
// PNG that decodes and an SVG with a title; a run without them has none.
func TestCostAndLoadCharts(t *testing.T) {
	two := 2.0
	side := func(cpu float64) *results.SideCost {
		return &results.SideCost{Scope: "thread", UserNS: cpu / 2, SysNS: cpu / 2, Syscalls: &two, CPUPerWall: 0.1}
	}
	st := func(p50 int64) *results.Stats {
		return &results.Stats{N: 10, Min: p50, Mean: float64(p50), P50: p50, P90: p50, P99: 2 * p50, P999: 2 * p50, Max: 2 * p50}
	}
	f := &results.File{Schema: results.Schema, Meta: results.Meta{IO: "raw"}}
	for _, mech := range []string{"pipe", "unixsocket"} {
		for _, size := range []int{64, 65536} {
			cost := &results.Cost{Driver: side(float64(size)), Peer: side(float64(size))}
			f.Results = append(f.Results,
				results.Result{Mechanism: mech, Workload: results.PingPong, SizeBytes: size, Round: 1, Messages: 10, ElapsedNS: 1e6, MsgsPerS: 1e4, RTT: st(5000), Cost: cost},
				results.Result{Mechanism: mech, Workload: results.Stream, SizeBytes: size, Round: 1, Messages: 10, ElapsedNS: 1e6, MsgsPerS: 1e4, BytesPerS: 1e4 * float64(size), Cost: cost})
		}
		for _, rate := range []float64{1000, 10000} {
			f.Results = append(f.Results, results.Result{Mechanism: mech, Workload: results.PingPong, SizeBytes: 64, Round: 1,
				Messages: 10, ElapsedNS: 1e6, MsgsPerS: rate, Rate: rate, RTT: st(5000), RTTCorrected: st(int64(rate))})
		}
	}
	charts, err := Draw(f)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Drawing{}
	for _, c := range charts {
		got[c.Name] = c
	}
	for _, name := range []string{"cost-pingpong", "cost-stream", "load-64"} {
		c, ok := got[name]
		if !ok {
			t.Errorf("no %s chart among %d", name, len(charts))
			continue
		}
		if _, err := png.Decode(bytes.NewReader(c.PNG)); err != nil {
			t.Errorf("%s.png: %v", name, err)
		}
		if !bytes.Contains(c.SVG, []byte("<svg")) {
			t.Errorf("%s.svg is not an SVG", name)
		}
	}
	if _, ok := got["load-64K"]; ok {
		t.Errorf("a load chart for 64 KiB, which has no open-loop rows")
	}
}
