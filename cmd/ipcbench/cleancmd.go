package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/ipc"
)

const cleanUsage = `Usage: ipcbench clean

Removes what ipcbench runs that no longer run left behind: the named objects
they recorded (System V message queues) and their directories under the
temporary directory (socket directories, object records). A run cleans up after itself,
even when interrupted; this is for one that was killed (kill -9, the OOM
killer, a crash of the machine's session).

Only what ipcbench can prove it made is removed: a recorded queue is removed
only if it still exists with the recorded creation time, mode 0600 and your
user as owner, and only once the run that made it has ended. Other
programs' queues are never touched. One line is printed for each thing
removed.

Example:
  ipcbench clean
`

func cleanCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("clean", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), cleanUsage) }
	if help, err := parseFlags(fs, args, stdout); help || err != nil {
		if err != nil {
			return report(stderr, "clean", err)
		}
		return exitOK
	}
	removed, err := harness.Clean(objectKinds())
	for _, line := range removed {
		fmt.Fprintln(stdout, line)
	}
	if err != nil {
		return report(stderr, "clean", err)
	}
	if len(removed) == 0 {
		fmt.Fprintln(stdout, "nothing to clean up")
	}
	return exitOK
}

// objectKinds are the kinds of named object every mechanism makes.
func objectKinds() []ipc.ObjectKind {
	var kinds []ipc.ObjectKind
	for _, m := range mechanisms {
		kinds = append(kinds, m.Caps(ipc.Config{Size: harness.MinSize}).Objects...)
	}
	return kinds
}
