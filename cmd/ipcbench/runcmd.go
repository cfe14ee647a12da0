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
	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/results"
	"github.com/ipcbench/ipcbench/verdict"

	"github.com/ipcbench/ipcbench/internal/host"
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

// runConfig is what the run flags say, before it becomes harness.Options.
type runConfig struct {
	mech, workload, sizes, cpus, io, dir, format, remote string
	clients, rate, arrivals, offsets                     string
	duration, warmup, timeout                            time.Duration
	count                                                int64
	pairs                                                int
	rounds                                               roundsValue
	budget                                               time.Duration
	seed                                                 int64
	quiet, verify                                        bool
}

func runFlags(c *runConfig) *flag.FlagSet {
	fs := newFlagSet("run", runUsage)
	c.rounds = roundsValue{auto: true}
	fs.StringVar(&c.mech, "mech", strings.Join(mechanismNames(), ","), "mechanisms, comma-separated")
	fs.StringVar(&c.workload, "workload", "pingpong,stream", "workloads: pingpong (round-trip time), stream (throughput), server (-clients processes against one server), connect (connect, echo, close per transaction)")
	fs.StringVar(&c.clients, "clients", "1,8,32", "server workload: how many client processes share the one server, e.g. 1,4,16,64 (connect: 1 unless given)")
	fs.StringVar(&c.rate, "rate", "", "open-loop pingpong: offered round trips per second on a fixed schedule, a list, each a number or N% of the cell's closed-loop maximum, e.g. 1000,10000,50%")
	fs.StringVar(&c.arrivals, "arrivals", "fixed", "with -rate: fixed (evenly spaced sends) or poisson (exponential gaps, the same mean rate)")
	fs.StringVar(&c.sizes, "sizes", defaultSizes, "message sizes in bytes, with K/M (KiB/MiB) suffixes")
	fs.StringVar(&c.offsets, "offset", "0", "payload placement: bytes past a page boundary, 0..4095, a list like -sizes (e.g. 0,8,32,64); each is a cell")
	fs.DurationVar(&c.duration, "duration", defaultDuration, "measuring time per cell")
	fs.Int64Var(&c.count, "count", 0, "messages per cell instead of a duration")
	fs.DurationVar(&c.warmup, "warmup", defaultWarmup, "unmeasured time before each cell")
	fs.Var(&c.rounds, "rounds", "repeat the whole matrix this many times, cells shuffled each round; or auto: 5 to 7 rounds (as the number of mechanisms needs), then more rounds of the cells whose verdict is unresolved, within -budget")
	fs.DurationVar(&c.budget, "budget", defaultBudget, "with -rounds auto: the most wall time the run may take (the first rounds always run)")
	fs.Int64Var(&c.seed, "seed", 0, "seed for the cell order (default: from the clock; recorded in results)")
	fs.StringVar(&c.cpus, "cpus", "", "pin the driver and the peer to these CPUs, e.g. 0,1 (the same CPU twice is allowed)")
	fs.StringVar(&c.io, "io", "raw", "raw (blocking syscalls on a locked thread) or go (os.File/net.Conn through the runtime poller)")
	fs.IntVar(&c.pairs, "pairs", 1, "driver/peer pairs run at once per cell (pingpong and stream; the server workload has -clients)")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "give up on a cell whose peer stops answering for this long")
	fs.StringVar(&c.remote, "remote", "", "tcpsocket only: the HOST:PORT of an 'ipcbench serve' peer on another machine")
	fs.StringVar(&c.dir, "o", "", "write results.json, results.csv, results.md, results.bench.txt, plots and report.html to this directory")
	fs.StringVar(&c.format, "format", "table", "what goes to stdout: "+strings.Join(view.Formats, ", "))
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
	f, err := harness.Run(ctx, opts)
	if prog != nil {
		prog.finish()
	}
	if err != nil {
		return report(stderr, "run", usagef("%v", err))
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

// options checks the flags and turns them into harness options. Every
// problem is a usage error: one sentence, exit status 2.
func (c *runConfig) options(set map[string]bool) (harness.Options, error) {
	o := harness.Options{
		Duration: c.duration, Warmup: c.warmup, Rounds: c.rounds.n, Seed: c.seed,
		IO: ipc.IOMode(c.io), Pairs: c.pairs, Timeout: c.timeout, Verify: c.verify,
	}
	var err error
	if o.Transports, err = selectMechanisms(c.mech); err != nil {
		return o, err
	}
	if o.Workloads, err = splitList("workload", c.workload, []string{results.PingPong, results.Stream, results.Server, results.Connect}); err != nil {
		return o, err
	}
	if o.Clients, err = parseClients(c.clients); err != nil {
		return o, err
	}
	if c.rate != "" {
		if o.Rates, err = parseRates(c.rate); err != nil {
			return o, err
		}
		if !set["workload"] {
			o.Workloads = []string{results.PingPong}
		} else if i := slices.IndexFunc(o.Workloads, func(w string) bool { return w != results.PingPong }); i >= 0 {
			return o, usagef("-rate offers a load to pingpong only: %s has none to offer (a stream already sends as fast as the mechanism takes, and server clients wait for each reply); use -workload pingpong", o.Workloads[i])
		}
	}
	switch c.arrivals {
	case "fixed":
	case "poisson":
		o.Poisson = true
	default:
		return o, usagef("-arrivals must be fixed or poisson, not %q", c.arrivals)
	}
	if set["arrivals"] && c.rate == "" {
		return o, usagef("-arrivals shapes the schedule of -rate: give -rate too")
	}
	if !set["clients"] && slices.Contains(o.Workloads, results.Connect) && !slices.Contains(o.Workloads, results.Server) {
		o.Clients = []int{1} // a connection rate is one client's unless asked
	}
	if o.Sizes, err = harness.ParseSizes(c.sizes); err != nil {
		return o, usagef("-sizes: %v", err)
	}
	if o.Offsets, err = harness.ParseOffsets(c.offsets); err != nil {
		return o, usagef("-offset: %v", err)
	}
	switch {
	case set["count"] && c.count < 1:
		return o, usagef("-count must be at least 1, not %d", c.count)
	case set["count"] && set["duration"]:
		return o, usagef("give -count or -duration, not both")
	case c.duration <= 0:
		return o, usagef("-duration must be positive, not %v", c.duration)
	case c.warmup < 0:
		return o, usagef("-warmup cannot be negative")
	case set["budget"] && !c.rounds.auto:
		return o, usagef("-budget goes with -rounds auto, not with a fixed number of rounds")
	case c.budget <= 0:
		return o, usagef("-budget must be positive, not %v", c.budget)
	case c.pairs < 1:
		return o, usagef("-pairs must be at least 1, not %d", c.pairs)
	case c.timeout <= 0:
		return o, usagef("-timeout must be positive, not %v", c.timeout)
	case c.io != string(ipc.IORaw) && c.io != string(ipc.IOGo):
		return o, usagef("-io must be raw or go, not %q", c.io)
	case !slices.Contains(view.Formats, c.format):
		return o, usagef("-format must be one of %s, not %q", strings.Join(view.Formats, ", "), c.format)
	case c.remote != "" && !allRemote(o.Transports):
		return o, usagef("-remote works only with -mech %s: the remote peer is reached over TCP", strings.Join(remoteNames(), " or "))
	case c.remote != "" && (slices.Contains(o.Workloads, results.Server) || slices.Contains(o.Workloads, results.Connect)):
		return o, usagef("-remote runs the pingpong and stream workloads only: the server and connect workloads start their clients on this machine")
	}
	o.Known = mechanisms
	o.Remote = c.remote
	if c.rounds.auto {
		autoRounds(&o, c.budget)
	}
	o.Count = c.count
	if c.cpus != "" {
		if o.CPUs, err = parseCPUs(c.cpus); err != nil {
			return o, err
		}
		if err := host.CheckCPUs(o.CPUs); err != nil {
			return o, usagef("-cpus: %v", err)
		}
	}
	return o, nil
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
func selectMechanisms(list string) ([]ipc.Transport, error) {
	names, err := splitList("mech", list, mechanismNames())
	if err != nil {
		return nil, err
	}
	var ts []ipc.Transport
	for _, n := range names {
		for _, m := range mechanisms {
			if m.Name() == n {
				ts = append(ts, m)
			}
		}
	}
	return ts, nil
}

// splitList reads a comma-separated list of known words, without repeats.
func splitList(flagName, list string, known []string) ([]string, error) {
	var out []string
	for _, w := range strings.Split(list, ",") {
		w = strings.TrimSpace(w)
		if !slices.Contains(known, w) {
			return nil, usagef("-%s: unknown %s %q; choose from %s", flagName, flagName, w, strings.Join(known, ", "))
		}
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out, nil
}

// parseRates reads -rate: offered loads, each a positive number of round
// trips per second or a percentage (up to 1000%) of the closed-loop
// maximum, without repeats.
func parseRates(s string) ([]harness.Rate, error) {
	var rates []harness.Rate
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		var r harness.Rate
		if num, ok := strings.CutSuffix(p, "%"); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil || !(v > 0 && v <= 1000) {
				return nil, usagef("-rate: %q is not a percentage of the closed-loop maximum above 0 and at most 1000%%", p)
			}
			r.Percent = v
		} else {
			v, err := strconv.ParseFloat(strings.TrimSuffix(p, "/s"), 64)
			if err != nil || !(v >= 1 && v <= 1e8) {
				return nil, usagef("-rate: %q is not a rate from 1 to 100000000 round trips per second, nor N%%", p)
			}
			r.PerS = v
		}
		if slices.Contains(rates, r) {
			return nil, usagef("-rate: %s is given twice", p)
		}
		rates = append(rates, r)
	}
	return rates, nil
}

// parseClients reads -clients: numbers of client processes, 1 to
// harness.MaxClients, without repeats.
func parseClients(s string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 || n > harness.MaxClients {
			return nil, usagef("-clients: %q is not a number of clients from 1 to %d", strings.TrimSpace(p), harness.MaxClients)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

func parseCPUs(s string) ([]int, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 2 {
		return nil, usagef("-cpus takes two CPUs, the driver's and the peer's (e.g. 0,1 or 0,0), not %q", s)
	}
	var cpus []int
	for _, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 0 {
			return nil, usagef("-cpus: %q is not a CPU number", p)
		}
		cpus = append(cpus, n)
	}
	return cpus, nil
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
