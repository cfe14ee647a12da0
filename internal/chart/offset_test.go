package chart

import (
	"bytes"
	"os"
	"slices"
	"testing"

	"github.com/ipcbench/ipcbench/results"
)

// offsetRun is a stream run at payload offsets 0, 8, 32 and 64 with floors.
func offsetRun() *results.File {
	f := &results.File{Schema: results.Schema, Meta: results.Meta{IO: "raw", Offsets: []int{0, 8, 32, 64},
		Floors: &results.Floors{MemcpyByOffset: map[int]map[int]float64{}}}}
	for _, off := range f.Meta.Offsets {
		f.Meta.Floors.MemcpyByOffset[off] = map[int]float64{4096: 20e9, 65536: 12e9}
		for _, mech := range []string{"pipe", "unixsocket"} {
			for _, size := range []int{4096, 65536} {
				bps := map[string]float64{"pipe": 2500e6, "unixsocket": 3000e6}[mech] * float64(size) / 65536
				if mech == "pipe" && (off == 8 || off == 32) {
					bps /= 2.5
				}
				f.Results = append(f.Results, results.Result{Mechanism: mech, Workload: results.Stream, SizeBytes: size,
					Round: 1, PayloadOffset: off, Messages: 100, BytesPerS: bps, MsgsPerS: bps / float64(size)})
			}
		}
	}
	f.Meta.Floors.MemcpyBytesPerS = f.Meta.Floors.MemcpyByOffset[0]
	return f
}

// TestOffsetCharts: several offsets give a chart of throughput against
// offset per stream size, and the throughput chart draws the two-copy
// limit dashed.
func TestOffsetCharts(t *testing.T) {
	f := offsetRun()
	d, err := Draw(f)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range d {
		names = append(names, c.Name)
		if dir := os.Getenv("IPCBENCH_CHART_DIR"); dir != "" { // to look at them
			os.WriteFile(dir+"/"+c.Name+".png", c.PNG, 0o644)
		}
	}
	want := []string{"throughput", "message-rate", "throughput-offset-4K", "throughput-offset-64K"}
	if !slices.Equal(names, want) {
		t.Fatalf("charts %q, want %q", names, want)
	}
	if !bytes.Contains(d[0].SVG, []byte(limitName)) {
		t.Error("the throughput chart has no two-copy limit")
	}
	for _, c := range d[2:] {
		for _, label := range []string{">0<", ">8<", ">32<", ">64<", ">pipe<", ">unixsocket<"} {
			if !bytes.Contains(c.SVG, []byte(label)) {
				t.Errorf("%s: no %s in the drawing", c.Name, label)
			}
		}
	}

	// One offset: no offset chart; without floors, no limit line.
	f.Results = slices.DeleteFunc(f.Results, func(r results.Result) bool { return r.PayloadOffset != 8 })
	f.Meta.Floors = nil
	d, err = Draw(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(d) != 2 || bytes.Contains(d[0].SVG, []byte(limitName)) {
		t.Errorf("one offset without floors: %d charts, limit drawn %v", len(d), bytes.Contains(d[0].SVG, []byte(limitName)))
	}
	if d[0].Title != "Throughput vs message size (stream), payload 8 B past a page" {
		t.Errorf("title %q", d[0].Title)
	}
}
