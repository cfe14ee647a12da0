package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Exit statuses, as the contract gives them.
const (
	exitOK      = 0
	exitFailure = 1 // a run or I/O failure
	exitUsage   = 2 // bad usage or bad input
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise the module version or VCS revision is used when known.
var version = "v0.1.0-dev"

const usage = `ipcbench measures inter-process communication on Linux: anonymous pipes,
System V message queues, Unix domain sockets and TCP sockets, with the same
workload between two real processes.

Usage:
  ipcbench run     [flags]                     measure, print a table, write results
  ipcbench report  [flags] RESULTS.json        re-render saved results (table, files, plots)
  ipcbench compare [flags] OLD.json NEW.json   old and new side by side, with significance
  ipcbench serve   -listen HOST:PORT           the remote peer for cross-host TCP runs
  ipcbench clean                               remove queues and files a killed run left
  ipcbench version                             print the version (also -V, --version)
  ipcbench help [CMD]                          print this help, or CMD's usage and flags

Examples:
  ipcbench run                                   the whole matrix, about a minute
  ipcbench run -mech pipe,unixsocket -sizes 64,64K -workload pingpong
  ipcbench run -count 100000 -o out/             fixed message count; files in out/
  ipcbench run -format json > results.json
  ipcbench report -o again/ out/results.json     the same files again from saved results
  ipcbench compare old/results.json new/results.json
  ipcbench run -rounds 10 -format bench > new.txt   then: benchstat old.txt new.txt
  ipcbench serve -listen 0.0.0.0:7300            on machine B, then on machine A:
  ipcbench run -mech tcpsocket -remote B:7300

Run 'ipcbench help run' (or report, compare, serve, clean) for every flag.
`

// run is the whole program but for the process exit, so tests can call it.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "run":
		return runCmd(rest, stdout, stderr)
	case "report":
		return reportCmd(rest, stdout, stderr)
	case "compare":
		return compareCmd(rest, stdout, stderr)
	case "serve":
		return serveCmd(rest, stdout, stderr)
	case "clean":
		return cleanCmd(rest, stdout, stderr)
	case "version", "-version", "--version", "-V":
		return versionCmd(rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		return helpCmd(rest, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "ipcbench: unknown command %q; run 'ipcbench help' for the commands.\n", cmd)
		return exitUsage
	}
}

// usageError is bad input: one sentence on stderr and exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// newFlagSet makes a subcommand's FlagSet; -h prints usage, then the flags.
func newFlagSet(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses a subcommand's flags. -h prints its usage on stdout;
// any other problem is one sentence naming the subcommand.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) (help bool, err error) {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return true, nil
		}
		return false, usagef("%v (see 'ipcbench %s -h')", err, fs.Name())
	}
	if fs.NArg() > 0 {
		return false, usagef("unexpected argument %q (see 'ipcbench %s -h')", fs.Arg(0), fs.Name())
	}
	return false, nil
}

// report prints an error the way the contract asks: one sentence on stderr,
// and the exit status for its kind.
func report(stderr io.Writer, cmd string, err error) int {
	msg := strings.TrimSuffix(err.Error(), ".")
	fmt.Fprintf(stderr, "ipcbench %s: %s.\n", cmd, msg)
	var ue *usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitFailure
}
