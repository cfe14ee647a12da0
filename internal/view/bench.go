package view

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/perf/benchfmt"

	"github.com/ipcbench/ipcbench/results"
)

// Units of the Go benchmark format lines. ns/op and MB/s are the names the
// testing package uses, so benchstat knows that less time and more bytes
// are better; it reads p99-ns/op as a time too (p99-sec/op).
const (
	benchUnitNs    = "ns/op"     // p50 round trip (pingpong) or ns per message (stream)
	benchUnitP99   = "p99-ns/op" // p99 round trip (pingpong)
	benchUnitMBps  = "MB/s"      // payload one way, 10^6 B/s
	benchUnitMsgsS = "msgs/s"    // whole messages one way

	// The server and connect workloads add these.
	benchUnitConnS    = "conns/s"       // connect: whole transactions per second
	benchUnitConnect  = "connect-ns/op" // connect: p50 of connect(2) alone
	benchUnitFairness = "fairness"      // server: Jain's index over the clients
)

// WriteBench writes f in the Go benchmark format, so that benchstat and
// other Go tooling read and compare ipcbench runs as they do `go test
// -bench` output: first `key: value` configuration lines from meta, then one
// line per cell and round, in table order, named
//
//	BenchmarkIPC/mech=pipe/workload=pingpong/size=64
//
// with the size in bytes (exact and stable, whatever the tables print), and
// /clients=N for the server and connect workloads. The
// iteration count is the messages measured. ns/op is the p50 round trip for
// pingpong and the time per message for stream; p99-ns/op, MB/s and msgs/s
// follow.
//
// A failed row is left out. The format has no comments: a line benchfmt
// does not recognise is dropped silently, and an extra `key: value` line
// would become configuration that makes benchstat split its tables. So a
// cell that failed in every round is absent (benchstat shows it for the
// other file only), and one that failed in some has fewer samples (n=3+2);
// results.json and the tables keep the errors.
func WriteBench(w io.Writer, f *results.File) error {
	bw := benchfmt.NewWriter(w)
	config := benchConfig(&f.Meta)
	for _, r := range rowsInOrder(f) {
		res := benchResult(r, config)
		if res == nil {
			continue
		}
		if err := bw.Write(res); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	return nil
}

// benchConfig is the file configuration of the bench output: the facts
// that decide whether two runs compare, and nothing that differs between
// two runs of the same setup (start time, seed, host, command line), because
// benchstat puts results with different configuration in separate tables
// rather than comparing them. A fact the file lacks is left out.
func benchConfig(m *results.Meta) []benchfmt.Config {
	var cfg []benchfmt.Config
	add := func(key, value string) {
		// A value is the rest of its line.
		value = strings.TrimSpace(strings.Map(func(r rune) rune {
			if r == '\n' || r == '\r' {
				return ' '
			}
			return r
		}, value))
		if value != "" {
			cfg = append(cfg, benchfmt.Config{Key: key, Value: []byte(value), File: true})
		}
	}
	goos := m.GOOS
	if goos == "" {
		// Files from before meta recorded goos: ipcbench runs on Linux only.
		goos = "linux"
	}
	add("goos", goos)
	add("goarch", m.GOARCH)
	add("cpu", m.CPUModel)
	if m.NCPU > 0 {
		add("ncpu", strconv.Itoa(m.NCPU))
	}
	add("kernel", m.Kernel)
	add("go", m.GoVersion)
	add("ipcbench", m.Version)
	add("io", m.IO)
	if len(m.CPUs) > 0 {
		cpus := make([]string, len(m.CPUs))
		for i, c := range m.CPUs {
			cpus[i] = strconv.Itoa(c)
		}
		add("cpus", strings.Join(cpus, ","))
	} else {
		add("cpus", "unpinned")
	}
	add("pairs", strconv.Itoa(max(m.Pairs, 1)))
	return cfg
}

// benchResult is one row as a benchmark result, or nil when the row has no
// figure to show (it failed).
func benchResult(r *results.Result, config []benchfmt.Config) *benchfmt.Result {
	if r.Failed() {
		return nil
	}
	var values []benchfmt.Value
	add := func(v float64, unit string) {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			values = append(values, benchfmt.Value{Value: benchRound(v), Unit: unit})
		}
	}
	switch {
	case r.RTT != nil:
		add(float64(r.RTT.P50), benchUnitNs)
		add(float64(r.RTT.P99), benchUnitP99)
	case r.MsgsPerS > 0:
		add(1e9/r.MsgsPerS, benchUnitNs)
	}
	if r.BytesPerS > 0 {
		add(r.BytesPerS/1e6, benchUnitMBps)
	}
	if r.MsgsPerS > 0 {
		add(r.MsgsPerS, benchUnitMsgsS)
	}
	if r.ConnectionsPerS > 0 {
		add(r.ConnectionsPerS, benchUnitConnS)
	}
	if r.Connect != nil {
		add(float64(r.Connect.P50), benchUnitConnect)
	}
	if r.Fairness > 0 {
		add(r.Fairness, benchUnitFairness)
	}
	if len(values) == 0 {
		return nil
	}
	return &benchfmt.Result{
		Config: config,
		Name:   benchfmt.Name(BenchName(r.Key())),
		Iters:  int(max(r.Messages, 1)),
		Values: values,
	}
}

// benchRound keeps six significant digits: more than any figure here can
// resolve (percentiles are within 0.1%), and short enough that a quotient
// prints as 2427.94 rather than 2427.9444562020003.
func benchRound(v float64) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 6, 64), 64)
	if err != nil {
		return v
	}
	return r
}

// BenchName is the name of a cell in the Go benchmark format, without the
// "Benchmark" prefix: "IPC/mech=pipe/workload=pingpong/size=64".
func BenchName(k results.Key) string {
	// A space would end the name and a slash start a new part; no
	// mechanism or workload has one, but a hand-edited file might.
	field := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r == '/' || unicode.IsSpace(r) {
				return '_'
			}
			return r
		}, s)
	}
	name := "IPC/mech=" + field(k.Mechanism) + "/workload=" + field(k.Workload) + "/size=" + strconv.Itoa(k.SizeBytes)
	if k.Clients > 0 {
		name += "/clients=" + strconv.Itoa(k.Clients)
	}
	// Page-aligned, the default, keeps the name it had before offsets.
	if k.Offset != 0 {
		name += "/offset=" + strconv.Itoa(k.Offset)
	}
	return name
}
