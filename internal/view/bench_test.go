package view

import (
	"bytes"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"golang.org/x/perf/benchfmt"

	"github.com/ipcbench/ipcbench/results"
)

// benchRead parses bench output the way benchstat does and fails the test
// on any line benchfmt cannot read.
func benchRead(t *testing.T, data []byte) []*benchfmt.Result {
	t.Helper()
	r := benchfmt.NewReader(bytes.NewReader(data), "bench.txt")
	var out []*benchfmt.Result
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.Result:
			out = append(out, rec.Clone())
		case *benchfmt.SyntaxError:
			t.Errorf("benchfmt cannot read the output: %v", rec)
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBenchReadBack reads the bench output back with benchfmt and checks
// that every row that ran is there, once per round, with its figures in the
// units benchstat expects, and that no failed row is.
func TestBenchReadBack(t *testing.T) {
	for _, name := range goldenFixtures {
		t.Run(name, func(t *testing.T) {
			f, err := results.Load(filepath.Join(fixtures, name+".results.json"))
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := Render(&buf, "bench", f); err != nil {
				t.Fatal(err)
			}
			got := benchRead(t, buf.Bytes())

			var want []*results.Result
			for _, r := range rowsInOrder(f) {
				if !r.Failed() && !r.IsSkipped() {
					want = append(want, r)
				}
			}
			if len(got) != len(want) {
				t.Fatalf("read back %d results, want one per row that ran: %d", len(got), len(want))
			}
			for i, res := range got {
				r := want[i]
				wantName := "IPC/mech=" + r.Mechanism + "/workload=" + r.Workload + "/size=" + strconv.Itoa(r.SizeBytes)
				if r.Clients > 0 {
					wantName += "/clients=" + strconv.Itoa(r.Clients)
				}
				if res.Name.String() != wantName {
					t.Errorf("result %d is named %q, want %q", i, res.Name, wantName)
				}
				if res.Iters != int(r.Messages) {
					t.Errorf("%s: %d iterations, want the %d messages", wantName, res.Iters, r.Messages)
				}
				// The reader turns ns into sec and MB into B, as benchstat shows them.
				checks := map[string]float64{"B/s": r.BytesPerS, "msgs/s": r.MsgsPerS}
				if r.RTT != nil {
					checks["sec/op"] = float64(r.RTT.P50) / 1e9
					checks["p99-sec/op"] = float64(r.RTT.P99) / 1e9
				} else {
					checks["sec/op"] = 1 / r.MsgsPerS
					if _, ok := res.Value("p99-sec/op"); ok {
						t.Errorf("%s: a stream row has a p99", wantName)
					}
				}
				for unit, w := range checks {
					v, ok := res.Value(unit)
					if !ok {
						t.Errorf("%s has no %s", wantName, unit)
						continue
					}
					if math.Abs(v-w) > 1e-5*math.Abs(w) {
						t.Errorf("%s: %v %s, want %v", wantName, v, unit, w)
					}
				}
				cpus := "unpinned"
				if len(f.Meta.CPUs) == 2 {
					cpus = strconv.Itoa(f.Meta.CPUs[0]) + "," + strconv.Itoa(f.Meta.CPUs[1])
				}
				for key, w := range map[string]string{
					"goos": "linux", "cpu": f.Meta.CPUModel, "kernel": f.Meta.Kernel, "io": f.Meta.IO,
					"ipcbench": f.Meta.Version, "go": f.Meta.GoVersion, "cpus": cpus, "pairs": "1", "ncpu": "2",
				} {
					if v := res.GetConfig(key); v != w {
						t.Errorf("%s: config %s = %q, want %q", wantName, key, v, w)
					}
				}
				for _, key := range []string{"started", "seed", "host", "command"} {
					if v := res.GetConfig(key); v != "" {
						t.Errorf("config has %s: %q; it differs between runs of the same setup and would split benchstat's tables", key, v)
					}
				}
			}
		})
	}
}

// TestBenchConfig covers the configuration of files that lack facts: older
// files without goos and goarch, unpinned runs, several pairs.
func TestBenchConfig(t *testing.T) {
	f := &results.File{Schema: results.Schema, Meta: results.Meta{GOARCH: "arm64", Pairs: 4, Kernel: "Linux 6.18\n", CPUModel: "  "},
		Results: []results.Result{{Mechanism: "pipe", Workload: results.Stream, SizeBytes: 64, Round: 1, Messages: 10, MsgsPerS: 1e6, BytesPerS: 64e6}}}
	var buf bytes.Buffer
	if err := WriteBench(&buf, f); err != nil {
		t.Fatal(err)
	}
	got := benchRead(t, buf.Bytes())
	if len(got) != 1 {
		t.Fatalf("%d results, want 1:\n%s", len(got), buf.String())
	}
	var keys []string
	for _, c := range got[0].Config {
		keys = append(keys, c.Key+"="+string(c.Value))
	}
	want := []string{"goos=linux", "goarch=arm64", "kernel=Linux 6.18", "cpus=unpinned", "pairs=4"}
	if !slices.Equal(keys, want) {
		t.Errorf("config %v, want %v", keys, want)
	}
	if v := got[0].Values[0]; v.OrigUnit != "ns/op" || v.OrigValue != 1000 {
		t.Errorf("stream: first value %v %s, want 1000 ns/op (one message per µs)", v.OrigValue, v.OrigUnit)
	}
}

// TestBenchSkips checks that failed rows, and rows without any figure,
// leave no line behind, and that an all-failed file is empty rather than
// configuration without results.
func TestBenchSkips(t *testing.T) {
	f := &results.File{Schema: results.Schema, Results: []results.Result{
		{Mechanism: "msgqueue", Workload: results.PingPong, SizeBytes: 1 << 20, Round: 1, Error: "message larger than kernel.msgmnb"},
		{Mechanism: "pipe", Workload: results.Stream, SizeBytes: 64, Round: 1},
		{Mechanism: "pipe", Workload: results.Stream, SizeBytes: 64, Round: 2, MsgsPerS: math.NaN()},
	}}
	var buf bytes.Buffer
	if err := WriteBench(&buf, f); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 0 {
		t.Errorf("wrote %q, want nothing", buf.String())
	}
	f.Results = append(f.Results, results.Result{Mechanism: "my mech/2", Workload: results.PingPong, SizeBytes: 64, Round: 1, Messages: 5, RTT: &results.Stats{P50: 1000, P99: 2000}})
	buf.Reset()
	if err := WriteBench(&buf, f); err != nil {
		t.Fatal(err)
	}
	got := benchRead(t, buf.Bytes())
	if len(got) != 1 || got[0].Name.String() != "IPC/mech=my_mech_2/workload=pingpong/size=64" {
		t.Errorf("got %d results (%s), want only the pingpong row, its name made safe", len(got), buf.String())
	}
}
