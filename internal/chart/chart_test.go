package chart

import (
	"bytes"
	"encoding/xml"
	"flag"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/results"

	"github.com/ipcbench/ipcbench/internal/fixture"
)

// go test ./internal/chart -run Write -plotdir /tmp/x keeps the sample plots (and
// those of the edge cases, in subdirectories) for a look.
var dirFlag = flag.String("plotdir", "", "also write the sample plots of TestWrite to this directory")

func checkFiles(t *testing.T, paths []string) {
	t.Helper()
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		switch filepath.Ext(p) {
		case ".png":
			img, err := png.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if b := img.Bounds(); b.Dx() != 1920 || b.Dy() != 1200 {
				t.Errorf("%s: %dx%d, want 1920x1200 (2x, for hi-DPI screens)", p, b.Dx(), b.Dy())
			}
		case ".svg":
			var root struct{ XMLName xml.Name }
			if err := xml.Unmarshal(data, &root); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if root.XMLName.Local != "svg" {
				t.Errorf("%s: root element <%s>, want <svg>", p, root.XMLName.Local)
			}
			for _, bad := range []string{"e+0", "NaN", "Inf"} {
				if bytes.Contains(data, []byte(bad)) {
					t.Errorf("%s contains %q", p, bad)
				}
			}
		default:
			t.Errorf("unexpected file %s", p)
		}
	}
}

// fileNames is the SVG and PNG file names of the charts, in order.
func fileNames(names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, n+".svg", n+".png")
	}
	return out
}

func bases(paths []string) []string {
	var out []string
	for _, p := range paths {
		out = append(out, filepath.Base(p))
	}
	return out
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	paths, err := Write(dir, fixture.Run())
	if err != nil {
		t.Fatal(err)
	}
	want := fileNames("latency", "latency-distribution-64", "latency-distribution-256", "latency-distribution-1K",
		"latency-distribution-4K", "latency-distribution-16K", "latency-distribution-64K",
		"latency-distribution-256K", "latency-distribution-1M", "throughput", "message-rate")
	if got := bases(paths); !slices.Equal(got, want) {
		t.Fatalf("wrote %v, want %v", got, want)
	}
	for _, p := range paths {
		if filepath.Dir(p) != dir {
			t.Errorf("%s is not in %s", p, dir)
		}
	}
	checkFiles(t, paths)

	svg, _ := os.ReadFile(filepath.Join(dir, "latency.svg"))
	for _, s := range []string{
		"Round-trip time vs message size (pingpong)", "round-trip time (µs)", "message size (bytes)",
		">64<", ">1K<", ">64K<", ">1M<", ">pipe<", ">tcpsocket<", ">p99<",
		"msgqueue: 1M", // the failed cell is named, not hidden
	} {
		if !bytes.Contains(svg, []byte(s)) {
			t.Errorf("latency.svg lacks %q", s)
		}
	}
	svg, _ = os.ReadFile(filepath.Join(dir, "throughput.svg"))
	for _, s := range []string{"throughput (MB/s, payload one way)", "tcpsocket: 64", ">256K<"} {
		if !bytes.Contains(svg, []byte(s)) {
			t.Errorf("throughput.svg lacks %q", s)
		}
	}

	if *dirFlag != "" {
		if _, err := Write(*dirFlag, fixture.Run()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWriteDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	pa, err := Write(a, fixture.Run())
	if err != nil {
		t.Fatal(err)
	}
	pb, err := Write(b, fixture.Run())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(bases(pa), bases(pb)) {
		t.Fatalf("%v vs %v", pa, pb)
	}
	for i := range pa {
		da, _ := os.ReadFile(pa[i])
		db, _ := os.ReadFile(pb[i])
		if len(da) == 0 || !bytes.Equal(da, db) {
			t.Errorf("%s differs between two renderings of the same file", filepath.Base(pa[i]))
		}
	}
}

func TestWriteEdgeCases(t *testing.T) {
	only := func(workload string) *results.File {
		f := fixture.Run()
		f.Results = slices.DeleteFunc(f.Results, func(r results.Result) bool { return r.Workload != workload })
		return f
	}
	single := fixture.Run()
	single.Results = slices.DeleteFunc(single.Results, func(r results.Result) bool { return r.SizeBytes != 4096 })
	allFailed := fixture.Run()
	for i := range allFailed.Results {
		r := &allFailed.Results[i]
		*r = results.Result{Mechanism: r.Mechanism, Workload: r.Workload, SizeBytes: r.SizeBytes, Round: r.Round, Error: "peer did not start"}
	}
	zeros := fixture.Run()
	for i := range zeros.Results {
		r := &zeros.Results[i]
		r.BytesPerS, r.MsgsPerS = 0, 0
		if r.RTT != nil {
			r.RTT = &results.Stats{}
			r.RTTHistogram = fixture.Histogram(0, 0) // valid, but empty
		}
	}
	weird := fixture.Run() // values no run produces, but a hand-edited or in-memory file might
	for i := range weird.Results {
		r := &weird.Results[i]
		switch r.SizeBytes {
		case 64:
			r.BytesPerS, r.MsgsPerS = math.NaN(), math.NaN()
			if r.RTTHistogram != "" {
				r.RTTHistogram = "not a histogram"
			}
		case 256:
			r.BytesPerS, r.MsgsPerS = math.Inf(1), math.Inf(-1)
			if r.RTTHistogram != "" && r.Round == 2 {
				r.RTTHistogram = r.RTTHistogram[:len(r.RTTHistogram)/2] // truncated
			}
		case 1024:
			r.BytesPerS, r.MsgsPerS = -5, -5
			if r.RTT != nil {
				r.RTT.P50, r.RTT.P99 = -1, -1
				r.RTTHistogram = fixture.Histogram(0, 100) // only zeros: nothing for a log axis
			}
		case 4096:
			if r.Round == 3 {
				r.RTTHistogram = ""
			}
		}
	}
	badSizes := &results.File{Schema: results.Schema}
	for _, s := range []int{0, -64} {
		badSizes.Results = append(badSizes.Results,
			results.Result{Mechanism: "pipe", Workload: results.PingPong, SizeBytes: s, Round: 1, RTT: &results.Stats{P50: 5000, P99: 9000}},
			results.Result{Mechanism: "pipe", Workload: results.Stream, SizeBytes: s, Round: 1, BytesPerS: 1e8})
	}
	oneMech := fixture.Run()
	oneMech.Results = slices.DeleteFunc(oneMech.Results, func(r results.Result) bool { return r.Mechanism != "pipe" })
	flat := &results.File{Schema: results.Schema}
	for _, s := range []int{64, 128} {
		flat.Results = append(flat.Results,
			results.Result{Mechanism: "pipe", Workload: results.PingPong, SizeBytes: s, Round: 1, RTT: &results.Stats{P50: 5000, P99: 5000}},
			results.Result{Mechanism: "pipe", Workload: results.Stream, SizeBytes: s, Round: 1, BytesPerS: 1e8, MsgsPerS: 1e6})
	}
	odd := &results.File{Schema: results.Schema, Meta: results.Meta{Pairs: 4}} // sizes that are not powers of two, a mechanism not known
	for _, s := range []int{100, 1000, 1024, 3000, 1500000} {
		odd.Results = append(odd.Results,
			results.Result{Mechanism: "shm", Workload: results.PingPong, SizeBytes: s, Round: 1, RTT: &results.Stats{P50: int64(2e6 + s), P99: int64(3e6 + s)}},
			results.Result{Mechanism: "shm", Workload: results.Stream, SizeBytes: s, Round: 1, BytesPerS: 5e8 + float64(s), MsgsPerS: (5e8 + float64(s)) / float64(s)})
	}

	var allDists []string
	for _, s := range fixture.Sizes {
		allDists = append(allDists, distributionName(s))
	}

	for _, tc := range []struct {
		name string
		f    *results.File
		want []string
	}{
		{"only pingpong", only(results.PingPong), fileNames(slices.Concat([]string{"latency"}, allDists)...)},
		{"only stream", only(results.Stream), fileNames("throughput", "message-rate")},
		{"single size", single, fileNames("latency", "latency-distribution-4K", "throughput", "message-rate")},
		{"all failed", allFailed, nil},
		{"all zero", zeros, nil},
		{"NaN, Inf and negative", weird, fileNames("latency", "latency-distribution-256", "latency-distribution-4K",
			"latency-distribution-16K", "latency-distribution-64K", "latency-distribution-256K", "latency-distribution-1M",
			"throughput", "message-rate")},
		{"one mechanism", oneMech, fileNames(slices.Concat([]string{"latency"}, allDists, []string{"throughput", "message-rate"})...)},
		{"flat figures", flat, fileNames("latency", "throughput", "message-rate")},
		{"odd sizes", odd, fileNames("latency", "throughput", "message-rate")},
		{"sizes below one byte", badSizes, nil},
		{"empty", &results.File{Schema: results.Schema}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			paths, err := Write(dir, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if got := bases(paths); !slices.Equal(got, tc.want) {
				t.Fatalf("wrote %v, want %v", got, tc.want)
			}
			checkFiles(t, paths)
			entries, _ := os.ReadDir(dir)
			if len(entries) != len(tc.want) {
				t.Errorf("%d files in the directory, %d reported", len(entries), len(tc.want))
			}
			if *dirFlag != "" && len(paths) > 0 {
				name := strings.ReplaceAll(tc.name, " ", "-")
				if _, err := Write(filepath.Join(*dirFlag, name), tc.f); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestPlotSizeLabel(t *testing.T) {
	for n, want := range map[int]string{
		1: "1", 64: "64", 100: "100", 1000: "1000", 1024: "1K", 1536: "1.5K", 3000: "3000",
		4096: "4K", 65536: "64K", 1 << 20: "1M", 3 << 19: "1.5M", 1 << 30: "1G",
	} {
		if got := sizeLabel(n); got != want {
			t.Errorf("sizeLabel(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestPlotSizeTicks(t *testing.T) {
	labels := func(sizes []int) []string {
		var out []string
		for _, tk := range sizeTicks(sizes, float64(sizes[0]), float64(sizes[len(sizes)-1])) {
			if tk.Label != "" {
				out = append(out, tk.Label)
			}
		}
		return out
	}
	if got, want := labels(fixture.Sizes), []string{"64", "256", "1K", "4K", "16K", "64K", "256K", "1M"}; !slices.Equal(got, want) {
		t.Errorf("labels %v, want %v", got, want)
	}
	var pow2 []int
	for s := 64; s <= 1<<20; s *= 2 {
		pow2 = append(pow2, s)
	}
	if got, want := labels(pow2), []string{"64", "256", "1K", "4K", "16K", "64K", "256K", "1M"}; !slices.Equal(got, want) {
		t.Errorf("every power of two: labels %v, want %v", got, want)
	}
	if got := labels([]int{1000, 1024}); len(got) != 1 {
		t.Errorf("1000 and 1024 would overlap: labels %v", got)
	}
}

func TestPlotTicksReadable(t *testing.T) {
	for _, r := range [][2]float64{
		{3, 850}, {0.004, 0.09}, {12, 30}, {41, 49}, {1e-3, 1e9}, {800, 120000}, {5, 6},
	} {
		var labels []string
		for _, tk := range (logTicks{}).Ticks(r[0], r[1]) {
			if tk.Value < r[0]*(1-1e-9) || tk.Value > r[1]*(1+1e-9) {
				t.Errorf("log %v: tick %v out of range", r, tk.Value)
			}
			if tk.Label != "" {
				labels = append(labels, tk.Label)
			}
		}
		if len(labels) < 2 || len(labels) > 12 {
			t.Errorf("log %v: labels %v", r, labels)
		}
		for _, l := range labels {
			if strings.ContainsAny(l, "eE") || strings.Contains(l, "0000000000") {
				t.Errorf("log %v: label %q", r, l)
			}
		}
	}
	for _, r := range [][2]float64{{0, 1.05}, {0, 4321}, {0, 0.0031}, {0, 98765}} {
		var labels []string
		for _, tk := range (linearTicks{}).Ticks(r[0], r[1]) {
			labels = append(labels, tk.Label)
		}
		if len(labels) < 3 || len(labels) > 11 {
			t.Errorf("linear %v: labels %v", r, labels)
		}
		for _, l := range labels {
			if strings.ContainsAny(l, "eE") || strings.Contains(l, "000000000") {
				t.Errorf("linear %v: label %q", r, l)
			}
		}
	}
}

// TestWriteSay checks what the charts say in words: the spread and
// how it is drawn, the percentile labels, and every cell left out, by name.
func TestWriteSay(t *testing.T) {
	weird := fixture.Run()
	for i := range weird.Results {
		r := &weird.Results[i]
		switch {
		case r.SizeBytes == 256 && r.Round == 2 && r.Mechanism == "pipe" && r.RTTHistogram != "":
			r.RTTHistogram = "bm90IGEgaGlzdG9ncmFt" // base64, but not a histogram
		case r.SizeBytes == 4096 && r.Round == 3:
			r.RTTHistogram = ""
		}
	}
	oneRound := fixture.Run()
	oneRound.Results = slices.DeleteFunc(oneRound.Results, func(r results.Result) bool { return r.Round != 1 })
	root, dirs := t.TempDir(), map[string]string{}

	for _, tc := range []struct {
		name  string
		f     *results.File
		chart string
		has   []string
		lacks []string
	}{
		{"rounds", fixture.Run(), "latency", []string{"points: median of 3 rounds", barsNote}, nil},
		{"rounds", fixture.Run(), "throughput", []string{barsNote, "MB = 1,000,000 bytes"}, nil},
		{"rounds", fixture.Run(), "message-rate", []string{"Messages per second vs message size (stream)",
			"messages per second, thousands (one way)", barsNote, "tcpsocket: 64"}, nil},
		{"rounds", fixture.Run(), "latency-distribution-1M", []string{
			"Round-trip time by percentile, 1 MiB messages (pingpong)",
			">0%<", ">50%<", ">90%<", ">99%<", ">99.9%<", ">99.99%<",
			"every round trip of 3 rounds, merged", "msgqueue: failed", ">pipe<", ">tcpsocket<",
		}, []string{">msgqueue<"}},
		{"one round", oneRound, "latency", []string{"points: 1 round each"}, []string{barsNote}},
		{"one round", oneRound, "latency-distribution-64", []string{"every round trip of the run"}, nil},
		{"unreadable", weird, "latency-distribution-256", []string{"rounds left out of a line:", "pipe: histogram unreadable (round 2)",
			"every round trip of 2 to 3 rounds, merged"}, nil},
		{"unreadable", weird, "latency-distribution-4K", []string{"tcpsocket: no histogram (round 3)"}, nil},
	} {
		t.Run(tc.name+"/"+tc.chart, func(t *testing.T) {
			dir, ok := dirs[tc.name]
			if !ok { // each file is drawn once
				dir = filepath.Join(root, strings.ReplaceAll(tc.name, " ", "-"))
				if _, err := Write(dir, tc.f); err != nil {
					t.Fatal(err)
				}
				dirs[tc.name] = dir
			}
			svg, err := os.ReadFile(filepath.Join(dir, tc.chart+".svg"))
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tc.has {
				if !bytes.Contains(svg, []byte(s)) {
					t.Errorf("%s.svg lacks %q", tc.chart, s)
				}
			}
			for _, s := range tc.lacks {
				if bytes.Contains(svg, []byte(s)) {
					t.Errorf("%s.svg has %q", tc.chart, s)
				}
			}
		})
	}
}

// TestPlotPercentiles checks the spectrum against the histogram: the
// labelled points are the histogram's own percentiles and the line ends
// at the slowest value, at x = the count.
func TestPlotPercentiles(t *testing.T) {
	h, err := decodeHistogram(fixture.Histogram(10000, 5000))
	if err != nil {
		t.Fatal(err)
	}
	pts, marks := percentiles(h, 1000)
	if len(pts) < 60 {
		t.Errorf("%d points for 5000 values, want about 20 a decade", len(pts))
	}
	for i := 1; i < len(pts); i++ {
		if pts[i].X <= pts[i-1].X || pts[i].Y < pts[i-1].Y {
			t.Fatalf("points not increasing at %d: %v then %v", i, pts[i-1], pts[i])
		}
	}
	wantX := []float64{2, 10, 100, 1000, 5000}
	if len(marks) != len(wantX) {
		t.Fatalf("marks %v, want at x = %v", marks, wantX)
	}
	for i, m := range marks {
		if m.X != wantX[i] {
			t.Errorf("mark %d at x = %v, want %v", i, m.X, wantX[i])
		}
	}
	if got, want := marks[0].Y, float64(h.ValueAtQuantile(50))/1000; got != want {
		t.Errorf("50%% mark at %v µs, want the histogram's p50 %v", got, want)
	}
	if got, want := marks[3].Y, float64(h.ValueAtQuantile(99.9))/1000; got != want {
		t.Errorf("99.9%% mark at %v µs, want the histogram's p99.9 %v", got, want)
	}
	if got, want := marks[4].Y, float64(h.Max())/1000; got != want {
		t.Errorf("last mark at %v µs, want the slowest %v", got, want)
	}
	for _, bad := range []string{"", "!!!", "bm90IGEgaGlzdG9ncmFt", fixture.Histogram(1000, 10)[:12]} {
		if _, err := decodeHistogram(bad); err == nil {
			t.Errorf("decodeHistogram(%q) did not fail", bad)
		}
	}
}

// TestLatencyFloor: a run with a cache-line floor draws it on the latency
// chart, in the axis's unit and within its range, even when it lies below
// every mechanism's points; a run without one draws none.
func TestLatencyFloor(t *testing.T) {
	f := fixture.Run()
	if ch := latencyChart(f, results.Aggregate(f)); ch.floor != 0 {
		t.Errorf("a run without floors has a floor line at %v", ch.floor)
	}
	f.Meta.Floors = &results.Floors{CacheLineRTTNS: 250}
	ch := latencyChart(f, results.Aggregate(f))
	if ch.floor != 0.25 {
		t.Errorf("floor at %v %s, want 0.25 µs", ch.floor, ch.yLabel)
	}
	if ch.yMin > ch.floor {
		t.Errorf("the y axis starts at %v, above the floor at %v", ch.yMin, ch.floor)
	}
	if !strings.Contains(ch.floorKey, "250 ns") {
		t.Errorf("the floor's legend entry %q does not say what it is", ch.floorKey)
	}
	if _, _, err := ch.render(); err != nil {
		t.Fatal(err)
	}
}
