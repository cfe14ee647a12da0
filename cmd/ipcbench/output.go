package main

import (
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// stdin is what `report -` and `compare -` read; tests replace it.
var stdin io.Reader = os.Stdin

// keepRunningOnEPIPE makes a write to a closed stdout fail with EPIPE
// instead of killing ipcbench with SIGPIPE: `ipcbench run -o out/ | head -1`
// must still finish the run and write out/. Go kills a program that writes
// to a broken stdout unless it asks for SIGPIPE itself; the signals that
// arrive are dropped. Notify, unlike Ignore, leaves the peers ipcbench
// starts with the default disposition.
func keepRunningOnEPIPE() {
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
}

// outputClosed reports whether err is stdout's reader going away (`| head`,
// quitting less): the end of the output, not a failure of the run.
func outputClosed(err error) bool {
	return errors.Is(err, syscall.EPIPE)
}
