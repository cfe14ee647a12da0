// Command compare measures how close ipcbench's figures are to programs that
// do the same work without it: a C program making the same syscalls
// (bench/c/ipcbaseline.c), and for TCP the tools a user would pick instead,
// sockperf and iperf3. With -against go it compares ipcbench's two io modes
// instead; both are pinned with -cpus, which makes the -io go goroutine a
// locked one, whose every park in the poller is a thread hand-off: that
// shows what -cpus does to -io go more than what the poller costs a typical
// Go program (README, "What -io go costs").
//
// For every placement (-cpus, each a driver CPU and a peer CPU) and mechanism
// it measures the 64 B pingpong p50 round trip and the 64 KiB stream
// throughput, the programs taking turns (A B A B ..., -reps times each), and
// prints the median of each program's figures, their spread, and the ratio
// of the medians against the target. It waits for the machine to be quiet
// before starting and before each turn: other processes on a 2-vCPU VM move
// these figures far more than the harness does.
//
// Run it from the module:
//
//	go run ./bench/compare                      # ipcbench -io raw vs C, sockperf, iperf3
//	go run ./bench/compare -against go          # ipcbench -io go vs -io raw
//	go run ./bench/compare -mech pipe -reps 9 -cpus 0,0
//	go run ./bench/compare -offset 8             # both programs' payloads 8 B past a page
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ipcbench/ipcbench/results"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

const usage = `Usage: go run ./bench/compare [flags]

Measures ipcbench against a C program doing the same syscalls (and, for TCP,
against sockperf and iperf3), taking turns, and prints ratios of medians.

Flags:
`

type config struct {
	reps               int
	duration, warmup   time.Duration
	mechs, placements  string
	against            string
	tools              bool
	maxLoad, maxBusy   float64
	loadWait, turnWait time.Duration
	jsonOut            string
	ipcbench, cbin     string
	offset             int
	// rseq is whether ipcbench's threads have restartable sequences
	// registered; the C baseline is given the same (see host.Rseq).
	rseq bool
}

func run(args []string, stdout, stderr io.Writer) int {
	var c config
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	fs.IntVar(&c.reps, "reps", 5, "turns each program gets per cell (the median is reported)")
	fs.DurationVar(&c.duration, "duration", time.Second, "measuring time of one turn")
	fs.DurationVar(&c.warmup, "warmup", 100*time.Millisecond, "warm-up before each turn (ipcbench and C)")
	fs.StringVar(&c.mechs, "mech", "pipe,msgqueue,unixsocket,tcpsocket", "mechanisms")
	fs.StringVar(&c.placements, "cpus", "0,0;0,1", "placements, ';'-separated, each DRIVER_CPU,PEER_CPU")
	fs.StringVar(&c.against, "against", "c", "c: ipcbench -io raw vs the C baseline (and sockperf/iperf3); go: ipcbench -io go vs -io raw")
	fs.BoolVar(&c.tools, "tools", true, "with -against c, also compare tcpsocket with sockperf and iperf3 (if installed)")
	fs.Float64Var(&c.maxLoad, "maxload", 0.5, "wait until the 1-minute load average is below this before starting")
	fs.Float64Var(&c.maxBusy, "maxbusy", 0.15, "before each turn, wait until other processes use less than this fraction of the CPUs")
	fs.DurationVar(&c.loadWait, "loadwait", 10*time.Minute, "wait at most this long for the load average to fall, then go on and say so")
	fs.DurationVar(&c.turnWait, "turnwait", 15*time.Second, "before each turn, wait at most this long for other processes to go quiet, then go on and count it")
	fs.StringVar(&c.jsonOut, "json", "", "also write every turn's figure to this file")
	fs.StringVar(&c.ipcbench, "ipcbench", "", "ipcbench binary to use (default: build it)")
	fs.StringVar(&c.cbin, "baseline", "", "C baseline binary to use (default: build bench/c/ipcbaseline.c with gcc)")
	fs.IntVar(&c.offset, "offset", 0, "payload placement of both programs: bytes past a page boundary, 0..4095 (ipcbench -offset, ipcbaseline -o)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if c.offset < 0 || c.offset >= os.Getpagesize() {
		fmt.Fprintf(stderr, "compare: -offset %d is not a payload offset: give 0 to %d bytes past a page boundary\n", c.offset, os.Getpagesize()-1)
		return 2
	}
	if err := compare(c, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "compare: %v\n", err)
		return 1
	}
	return 0
}

// row is one comparison: the subject (A) and its references (B...), all
// measuring the same cell, with a target for each reference.
type row struct {
	cell    cellSpec
	subject side
	refs    []ref
}

type ref struct {
	side   side
	target target
}

// target is what the ratio subject/reference must be: at most max
// (latency) or at least min (throughput); zero means no target.
type target struct{ max, min float64 }

func (t target) String() string {
	switch {
	case t.max > 0:
		return fmt.Sprintf("≤ %.2f", t.max)
	case t.min > 0:
		return fmt.Sprintf("≥ %.2f", t.min)
	}
	return "–"
}

func (t target) met(ratio float64) string {
	switch {
	case t.max > 0 && ratio <= t.max, t.min > 0 && ratio >= t.min:
		return "yes"
	case t.max > 0 || t.min > 0:
		return "NO"
	}
	return ""
}

// sample is one turn's figure, kept for -json.
type sample struct {
	Placement string  `json:"cpus"`
	Mechanism string  `json:"mechanism"`
	Workload  string  `json:"workload"`
	Size      int     `json:"size_bytes"`
	Program   string  `json:"program"`
	Rep       int     `json:"rep"`
	Value     float64 `json:"value"` // p50 RTT ns (pingpong) or bytes/s (stream)
	Error     string  `json:"error,omitempty"`
	// BusyBefore is the share of the CPUs other processes used just before
	// the turn (see waitQuiet).
	BusyBefore float64 `json:"busy_before"`
}

func compare(c config, stdout, stderr io.Writer) error {
	if c.reps < 1 {
		return errors.New("-reps must be at least 1")
	}
	placements, err := parsePlacements(c.placements)
	if err != nil {
		return err
	}
	mechs := strings.Split(c.mechs, ",")
	tmp, err := os.MkdirTemp("", "ipcbench-compare-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	if c.ipcbench == "" {
		if c.ipcbench, err = buildIpcbench(root, tmp); err != nil {
			return err
		}
	}
	raw := ipcbenchSide(c.ipcbench, "raw")
	if c.against == "c" {
		if c.rseq, err = ipcbenchRseq(c.ipcbench); err != nil {
			return err
		}
	}

	var rows []row
	for _, p := range placements {
		for _, m := range mechs {
			pp := cellSpec{mech: m, workload: results.PingPong, size: 64, cpus: p, offset: c.offset, duration: c.duration, warmup: c.warmup}
			st := pp
			st.workload, st.size = results.Stream, 64<<10
			switch c.against {
			case "go":
				g := ipcbenchSide(c.ipcbench, "go")
				rows = append(rows, row{pp, g, []ref{{raw, target{}}}}, row{st, g, []ref{{raw, target{}}}})
			case "c":
				if c.cbin == "" {
					if c.cbin, err = buildBaseline(root+"/bench/c/ipcbaseline.c", tmp); err != nil {
						return err
					}
				}
				cb := baselineSide(c.cbin, c.rseq)
				ppRow := row{pp, raw, []ref{{cb, target{max: 1.10}}}}
				stRow := row{st, raw, []ref{{cb, target{min: 0.95}}}}
				if m == "tcpsocket" && c.tools && c.offset != 0 {
					fmt.Fprintln(stderr, "compare: sockperf and iperf3 cannot place their payload: with -offset, tcpsocket is compared with the C baseline only")
				}
				if m == "tcpsocket" && c.tools && c.offset == 0 {
					if have("sockperf") && have("taskset") {
						ppRow.refs = append(ppRow.refs, ref{sockperfSide(), target{max: 1.00}})
					} else {
						fmt.Fprintln(stderr, "compare: sockperf or taskset not found: tcpsocket is not compared with sockperf")
					}
					if have("iperf3") && have("taskset") {
						stRow.refs = append(stRow.refs, ref{iperf3Side(), target{min: 1.00}})
					} else {
						fmt.Fprintln(stderr, "compare: iperf3 or taskset not found: tcpsocket is not compared with iperf3")
					}
				}
				rows = append(rows, ppRow, stRow)
			default:
				return fmt.Errorf("-against %q: use c or go", c.against)
			}
		}
	}

	if waited, ok := waitLoad(c.maxLoad, c.loadWait, stderr); !ok {
		fmt.Fprintf(stderr, "compare: the load average stayed above %.2f for %v; measuring anyway\n", c.maxLoad, waited.Round(time.Second))
	}
	var samples []sample
	var busyWaits int
	started := time.Now()
	for i, r := range rows {
		progs := append([]side{r.subject}, sidesOf(r.refs)...)
		for rep := 1; rep <= c.reps; rep++ {
			for _, s := range progs {
				busyBefore, ok := waitQuiet(c.maxBusy, c.turnWait)
				if !ok {
					busyWaits++
				}
				v, err := s.measure(r.cell)
				smp := sample{Placement: r.cell.cpuList(), Mechanism: r.cell.mech, Workload: r.cell.workload,
					Size: r.cell.size, Program: s.name, Rep: rep, Value: v, BusyBefore: busyBefore}
				if err != nil {
					smp.Error = err.Error()
				}
				samples = append(samples, smp)
				fmt.Fprintf(stderr, "[%d/%d] cpus %s %-10s %-8s %-16s rep %d: %s\n", i+1, len(rows),
					r.cell.cpuList(), r.cell.mech, r.cell.workload, s.name, rep, show(r.cell.workload, v, err))
			}
		}
	}
	if busyWaits > 0 {
		fmt.Fprintf(stderr, "compare: %d turn(s) ran on a machine that did not get quiet within %v\n", busyWaits, c.turnWait)
	}
	fmt.Fprintf(stderr, "compare: %d turns in %v\n", len(samples), time.Since(started).Round(time.Second))
	printTable(stdout, rows, samples, c)
	if c.jsonOut != "" {
		b, _ := json.MarshalIndent(samples, "", "  ")
		if err := os.WriteFile(c.jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func sidesOf(refs []ref) []side {
	var s []side
	for _, r := range refs {
		s = append(s, r.side)
	}
	return s
}

func have(name string) bool { _, err := exec.LookPath(name); return err == nil }

func parsePlacements(s string) ([][2]int, error) {
	var out [][2]int
	for _, p := range strings.Split(s, ";") {
		f := strings.Split(strings.TrimSpace(p), ",")
		if len(f) != 2 {
			return nil, fmt.Errorf("placement %q: want DRIVER_CPU,PEER_CPU", p)
		}
		a, err1 := strconv.Atoi(f[0])
		b, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil || a < 0 || b < 0 {
			return nil, fmt.Errorf("placement %q: want two CPU numbers", p)
		}
		out = append(out, [2]int{a, b})
	}
	return out, nil
}

// summary is the median and range of one program's turns in one cell.
type summary struct {
	median, min, max float64
	n, failed        int
}

func summarize(vals []float64, failed int) summary {
	s := summary{n: len(vals), failed: failed}
	if len(vals) == 0 {
		return s
	}
	v := slices.Clone(vals)
	slices.Sort(v)
	s.min, s.max = v[0], v[len(v)-1]
	s.median = median(v)
	return s
}

// median of sorted values; the mean of the middle two for an even count.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

func collect(samples []sample, c cellSpec, program string) summary {
	var vals []float64
	failed := 0
	for _, s := range samples {
		if s.Placement == c.cpuList() && s.Mechanism == c.mech && s.Workload == c.workload && s.Size == c.size && s.Program == program {
			if s.Error != "" {
				failed++
				continue
			}
			vals = append(vals, s.Value)
		}
	}
	return summarize(vals, failed)
}

func show(workload string, v float64, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	if workload == results.PingPong {
		return fmt.Sprintf("p50 RTT %.2f µs", v/1e3)
	}
	return fmt.Sprintf("%.0f MB/s", v/1e6)
}

func (s summary) String(workload string) string {
	if s.n == 0 {
		return fmt.Sprintf("failed (%d)", s.failed)
	}
	unit, div := "MB/s", 1e6
	if workload == results.PingPong {
		unit, div = "µs", 1e3
	}
	str := fmt.Sprintf("%s %s [%s–%s]", num(s.median/div), unit, num(s.min/div), num(s.max/div))
	if s.failed > 0 {
		str += fmt.Sprintf(" (%d failed)", s.failed)
	}
	return str
}

// num prints three significant digits, as ipcbench's tables do.
func num(v float64) string {
	switch {
	case v >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func printTable(w io.Writer, rows []row, samples []sample, c config) {
	what := "ipcbench -io raw"
	if c.against == "go" {
		what = "ipcbench -io go"
	}
	placement := "payload page-aligned"
	if c.offset != 0 {
		placement = fmt.Sprintf("payload %d B past a page", c.offset)
	}
	fmt.Fprintf(w, "Medians of %d turns each [min–max], %v per turn, %s; ratio = %s / reference (medians)\n", c.reps, c.duration, placement, what)
	if c.against == "c" {
		fmt.Fprintf(w, "Restartable sequences (rseq) registered in both programs' threads: %s\n", map[bool]string{true: "yes (ipcbench is a cgo build)", false: "no (ipcbench is a static build; the C baseline runs with glibc.pthread.rseq=0)"}[c.rseq])
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "| cpus | mechanism | figure | %s | reference | reference figure | ratio | target | met |\n", what)
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		a := collect(samples, r.cell, r.subject.name)
		fig := "64 B pingpong p50 RTT"
		if r.cell.workload == results.Stream {
			fig = "64 KiB stream"
		}
		for _, rf := range r.refs {
			b := collect(samples, r.cell, rf.side.name)
			ratio, met := "–", ""
			if a.n > 0 && b.n > 0 && b.median > 0 {
				x := a.median / b.median
				ratio, met = fmt.Sprintf("%.2f", x), rf.target.met(x)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.cell.cpuList(), r.cell.mech, fig,
				a.String(r.cell.workload), rf.side.name, b.String(r.cell.workload), ratio, rf.target, met)
		}
	}
}
