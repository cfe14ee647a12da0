package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/internal/host"
	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/results"
	"github.com/ipcbench/ipcbench/verdict"

	"github.com/ipcbench/ipcbench/internal/view"
)

const runUsage = `Usage: ipcbench run [flags]

Measures every mechanism x workload x size ("cell") between this process and a
peer process it starts, prints a table with the mechanisms side by side, and
with -o writes results.json, results.csv, results.md, results.bench.txt,
plots and report.html.

  pingpong  the driver sends S bytes, the peer echoes S bytes back; each round
            trip is timed (p50, p99, ... of the ROUND-TRIP time)
  stream    the driver sends S-byte messages as fast as they are taken; the
            peer acknowledges the last; messages/s and payload bytes/s one way

Examples:
  ipcbench run
  ipcbench run -mech pipe,tcpsocket -sizes 64,4K,64K,1M -duration 2s
  ipcbench run -workload pingpong -count 100000 -o out/
  ipcbench run -mech pipe,unixsocket -workload stream -sizes 64K -offset 0,8,32,64
  ipcbench run -format csv -q > results.csv

Flags:
`

// runConfig is what the run flags say, each checked as it is parsed (see
// flags.go), before it becomes harness.Options.
type runConfig struct {
	mechs, workloads          []string
	sizes, cpus, clients      []int
	offsets                   []int
	io, dir, format, remote   string
	duration, warmup, timeout time.Duration
	count                     int64
	pairs                     int
	rounds                    roundsValue
	budget                    time.Duration
	seed                      int64
	rates                     []harness.Rate
	arrivals                  string
	quiet, verify             bool
}

func runFlags(c *runConfig) *flag.FlagSet {
	fs := newFlagSet("run", runUsage)
	c.mechs = mechanismNames()
	c.workloads = []string{results.PingPong, results.Stream}
	c.clients = []int{1, 8, 32}
	c.sizes, _ = harness.ParseSizes(defaultSizes)
	c.offsets = []int{0}
	c.duration, c.warmup, c.timeout = defaultDuration, defaultWarmup, 10*time.Second
	c.rounds, c.budget, c.pairs = roundsValue{auto: true}, defaultBudget, 1
	c.io, c.format, c.arrivals = string(ipc.IORaw), "table", "fixed"
	fs.Var(&wordsValue{&c.mechs, "mech", mechanismNames}, "mech", "mechanisms, comma-separated")
	fs.Var(&wordsValue{&c.workloads, "workload", func() []string {
		return []string{results.PingPong, results.Stream, results.Server, results.Connect}
	}}, "workload", "workloads: pingpong (round-trip time), stream (throughput), server (-clients processes against one server), connect (connect, echo, close per transaction)")
	fs.Var(&ratesValue{&c.rates}, "rate", "open-loop pingpong: offered round trips per second on a fixed schedule, a list, each a number or N% of the cell's closed-loop maximum, e.g. 1000,10000,50%")
	fs.Var(&choiceValue{&c.arrivals, []string{"fixed", "poisson"}}, "arrivals", "with -rate: fixed (evenly spaced sends) or poisson (exponential gaps, the same mean rate)")
	fs.Var(&clientsValue{&c.clients}, "clients", "server workload: how many client processes share the one server, e.g. 1,4,16,64 (connect: 1 unless given)")
	fs.Var(&sizesValue{sizes: &c.sizes}, "sizes", "message sizes in bytes, with K/M (KiB/MiB) suffixes")
	fs.Var(&offsetsValue{&c.offsets}, "offset", "payload placement: bytes past a page boundary, 0..4095, a list like -sizes (e.g. 0,8,32,64); each is a cell")
	fs.Var(&durationValue{d: &c.duration}, "duration", "measuring time per cell")
	fs.Var(&countValue{n: &c.count, min: 1}, "count", "messages per cell instead of a duration")
	fs.Var(&durationValue{d: &c.warmup, zeroOK: true}, "warmup", "unmeasured time before each cell")
	fs.Var(&c.rounds, "rounds", "repeat the whole matrix this many times, cells shuffled each round; or auto: 5 to 7 rounds (as the number of mechanisms needs), then more rounds of the cells whose verdict is unresolved, within -budget")
	fs.Var(&durationValue{d: &c.budget}, "budget", "with -rounds auto: the most wall time the run may take (the first rounds always run)")
	fs.Int64Var(&c.seed, "seed", 0, "seed for the cell order (default: from the clock; recorded in results)")
	fs.Var(&cpusValue{&c.cpus}, "cpus", "pin the driver and the peer to these CPUs, e.g. 0,1 (the same CPU twice is allowed), or none; default: both on the first CPU allowed, for local pingpong and stream runs")
	fs.Var(&choiceValue{&c.io, []string{string(ipc.IORaw), string(ipc.IOGo)}}, "io", "raw (blocking syscalls on a locked thread) or go (os.File/net.Conn through the runtime poller)")
	fs.Var(&intCount{n: &c.pairs, min: 1}, "pairs", "driver/peer pairs run at once per cell (pingpong and stream; the server workload has -clients)")
	fs.Var(&durationValue{d: &c.timeout}, "timeout", "give up on a cell whose peer stops answering for this long")
	fs.StringVar(&c.remote, "remote", "", "the HOST:PORT of an 'ipcbench serve' peer on another machine ("+strings.Join(remoteNames(), ", ")+" only)")
	fs.StringVar(&c.dir, "o", "", "write results.json, results.csv, results.md, results.bench.txt, plots and report.html to this directory")
	fs.Var(&choiceValue{&c.format, view.Formats}, "format", "what goes to stdout: "+strings.Join(view.Formats, ", "))
	fs.BoolVar(&c.quiet, "q", false, "no progress output (by default: a bar on a terminal, one line per cell otherwise)")
	fs.BoolVar(&c.verify, "verify", false, "check every payload byte, not only each message's header (slower)")
	return fs
}

func runCmd(args []string, stdout, stderr io.Writer) int {
	var c runConfig
	fs := runFlags(&c)
	if help, err := parseFlags(fs, args, stdout); help || err != nil {
		if err != nil {
			return report(stderr, "run", err)
		}
		return exitOK
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	opts, err := c.options(set)
	if err != nil {
		return report(stderr, "run", err)
	}
	opts.Command = commandLine("run", args)
	opts.Version = fullVersion()
	var prog *progress
	if !c.quiet {
		prog = newProgress(stderr, isTerminal(stderr), expectedPerCell(&opts))
		opts.Progress = prog.cell
	}
	if c.dir != "" {
		if err := checkWritable(c.dir); err != nil {
			return report(stderr, "run", err)
		}
	}

	if opts.Remote != "" {
		// A server that cannot be reached is a run failure (exit 1), found
		// before any cell runs.
		if opts.RemoteInfo, err = harness.ProbeRemote(opts.Remote, opts.Timeout); err != nil {
			return report(stderr, "run", err)
		}
	}
	ctx, stop := interruptContext()
	defer stop()
	f, err := runHarness(ctx, opts)
	if prog != nil {
		prog.finish()
	}
	if err != nil {
		// The options were checked: what fails now is the run itself (a
		// CPU the kernel refuses when pinning), exit status 1.
		return report(stderr, "run", err)
	}
	f.Verdicts = verdict.Compute(f)
	status := exitOK
	// The files first: stdout may be a pipe whose reader has gone (| head),
	// and what was measured must not depend on it.
	if c.dir != "" {
		files, err := view.WriteFiles(c.dir, f)
		if err != nil {
			status = report(stderr, "run", fmt.Errorf("writing results to %s: %w", c.dir, err))
		} else if !c.quiet {
			// Twenty paths say less than where they are and which to open.
			fmt.Fprintf(stderr, "wrote %d files to %s; open %s in a browser for the tables and charts\n",
				len(files), c.dir, filepath.Join(c.dir, "report.html"))
		}
	}
	if err := view.Render(stdout, c.format, f); err != nil && !outputClosed(err) {
		status = report(stderr, "run", err)
	}
	if f.Meta.Incomplete {
		fmt.Fprintln(stderr, "ipcbench run: interrupted; the cells that finished are kept.")
		return interruptedStatus(ctx)
	}
	for _, r := range f.Results {
		if r.Failed() && status == exitOK {
			clients := ""
			if r.Clients > 0 {
				clients = fmt.Sprintf(" %d clients", r.Clients)
			}
			fmt.Fprintf(stderr, "ipcbench run: %s %s %d B%s failed: %s.\n", r.Mechanism, r.Workload, r.SizeBytes, clients, strings.TrimSuffix(r.Error, "."))
			status = exitFailure
		}
	}
	return status
}

// runHarness is harness.Run; a test makes it fail as a run can.
var runHarness = harness.Run

// options turns the flags, each checked already, into harness options and
// checks what depends on several of them. Every problem is a usage error:
// one sentence, exit status 2.
func (c *runConfig) options(set map[string]bool) (harness.Options, error) {
	o := harness.Options{
		Workloads: c.workloads, Sizes: c.sizes, Clients: c.clients, CPUs: c.cpus,
		Duration: c.duration, Warmup: c.warmup, Rounds: c.rounds.n, Seed: c.seed, Count: c.count,
		IO: ipc.IOMode(c.io), Pairs: c.pairs, Timeout: c.timeout, Verify: c.verify,
		Remote: c.remote, Known: mechanisms,
	}
	o.Transports = selectMechanisms(c.mechs)
	o.Rates, o.Poisson = c.rates, c.arrivals == "poisson"
	if set["rate"] {
		if !set["workload"] {
			o.Workloads = []string{results.PingPong}
		} else if i := slices.IndexFunc(o.Workloads, func(w string) bool { return w != results.PingPong }); i >= 0 {
			return o, usagef("-rate offers a load to pingpong only: %s has none to offer (a stream already sends as fast as the mechanism takes, and server clients wait for each reply); use -workload pingpong", o.Workloads[i])
		}
	}
	if set["arrivals"] && !set["rate"] {
		return o, usagef("-arrivals shapes the schedule of -rate: give -rate too")
	}
	if !set["clients"] && slices.Contains(o.Workloads, results.Connect) && !slices.Contains(o.Workloads, results.Server) {
		o.Clients = []int{1} // a connection rate is one client's unless asked
	}
	o.Offsets = c.offsets
	switch {
	case set["count"] && set["duration"]:
		return o, usagef("give -count or -duration, not both")
	case set["budget"] && !c.rounds.auto:
		return o, usagef("-budget goes with -rounds auto, not with a fixed number of rounds")
	case c.remote != "" && !allRemote(o.Transports):
		return o, usagef("-remote works only with -mech %s: the remote peer is reached over TCP", strings.Join(remoteNames(), " or "))
	case c.remote != "" && (slices.Contains(o.Workloads, results.Server) || slices.Contains(o.Workloads, results.Connect)):
		return o, usagef("-remote runs the pingpong and stream workloads only: the server and connect workloads start their clients on this machine")
	}
	if !set["cpus"] {
		if cpus, ok := defaultCPUs(o); ok {
			o.CPUs = cpus
		}
	}
	if c.rounds.auto {
		autoRounds(&o, c.budget)
	}
	// What Run itself refuses (-pairs x the largest size is too much
	// memory) is bad input too, and said before anything runs.
	if err := o.Check(); err != nil {
		return o, usagef("%v", err)
	}
	return o, nil
}

// defaultCPUs is the placement of a run without -cpus: both sides on the
// first CPU this process may use, for a local run of closed-loop pingpong
// and stream cells with one pair. Left to the scheduler, the two sides share
// a CPU in one cell and not in the next, or move during one, and a 64 KiB
// pipe stream then measures anything from 0.5 to 8 GB/s on a 2-vCPU VM:
// the ranking of mechanisms followed where the scheduler put them, not
// what they cost. One CPU is the placement bench/compare checks against C,
// and the steadiest. Server and connect cells (many clients), several pairs,
// an offered rate (a second thread) and a remote peer are left to the
// scheduler; -cpus none asks for that in any run.
func defaultCPUs(o harness.Options) ([]int, bool) {
	if o.Remote != "" || o.Pairs > 1 || len(o.Rates) > 0 ||
		slices.Contains(o.Workloads, results.Server) || slices.Contains(o.Workloads, results.Connect) {
		return nil, false
	}
	allowed, err := host.AllowedCPUs()
	if err != nil || len(allowed) == 0 {
		return nil, false
	}
	return []int{allowed[0], allowed[0]}, true
}

func mechanismNames() []string {
	var names []string
	for _, m := range mechanisms {
		names = append(names, m.Name())
	}
	return names
}

// remoteNames are the mechanisms that can run against `ipcbench serve`.
func remoteNames() []string {
	var names []string
	for _, m := range mechanisms {
		if m.Caps(ipc.Config{Size: harness.MinSize}).Remote {
			names = append(names, m.Name())
		}
	}
	return names
}

// allRemote reports whether every mechanism of ts can run against serve.
func allRemote(ts []ipc.Transport) bool {
	for _, t := range ts {
		if !t.Caps(ipc.Config{Size: harness.MinSize}).Remote {
			return false
		}
	}
	return true
}

// selectMechanisms picks the named mechanisms, in the order given.
func selectMechanisms(names []string) []ipc.Transport {
	var ts []ipc.Transport
	for _, n := range names {
		for _, m := range mechanisms {
			if m.Name() == n {
				ts = append(ts, m)
			}
		}
	}
	return ts
}

// checkWritable makes sure results can be written to dir before a long run
// rather than after it.
func checkWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return usagef("-o: cannot create %s: %v", dir, unwrapPath(err))
	}
	f, err := os.CreateTemp(dir, ".ipcbench-write-test-*")
	if err != nil {
		return usagef("-o: cannot write to %s: %v", dir, unwrapPath(err))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// commandLine is the command as a user would type it again.
func commandLine(sub string, args []string) string {
	words := []string{"ipcbench", sub}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'$\\") {
			a = strconv.Quote(a)
		}
		words = append(words, a)
	}
	return strings.Join(words, " ")
}

// interruptContext returns a context that the first SIGINT or SIGTERM
// cancels, with the signal as its cause, so that the run stops within the
// current cell, keeps what it measured and cleans up. The signal's default
// action is back after the first: a second Ctrl-C ends ipcbench at once,
// for a user who will not wait (`ipcbench clean` then removes what is left;
// the peers end by themselves).
func interruptContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-sigs:
			signal.Stop(sigs)
			cancel(signalError{sig.(syscall.Signal)})
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel(nil)
	}
}

// signalError is the cause of a run's interruption.
type signalError struct{ sig syscall.Signal }

func (e signalError) Error() string { return "interrupted by " + unix.SignalName(e.sig) }

// interruptedStatus is the exit status of an interrupted run: 128 plus the
// signal's number, as a shell reports a process the signal killed (130 for
// SIGINT, 143 for SIGTERM), so that scripts see the interruption.
func interruptedStatus(ctx context.Context) int {
	var se signalError
	if errors.As(context.Cause(ctx), &se) {
		return 128 + int(se.sig)
	}
	return 128 + int(syscall.SIGINT)
}
