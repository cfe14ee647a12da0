package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/internal/remote"
)

const serveUsage = `Usage: ipcbench serve [flags]

Runs the peer for cross-host TCP runs: on another machine,
'ipcbench run -mech tcpsocket -remote HOST:PORT' measures the same workloads
against it. It serves one client after another (several at once for -pairs),
prints one line per session on stderr, and stops on SIGINT or SIGTERM.

It listens on loopback unless told otherwise: give the address other
machines reach it at. What a client can make it spend is bounded: a hello
must arrive within -handshake-timeout, a message may be at most -max-size,
at most -max-sessions are served at once, and a session silent for
-idle-timeout is dropped. Anything else is refused with one log line.

Examples:
  ipcbench serve -listen 0.0.0.0:7300
  ipcbench serve -listen 10.0.0.2:7300 -max-size 1M -max-sessions 8

Flags:
`

func serveCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("serve", serveUsage)
	listen := fs.String("listen", "127.0.0.1:7300", "the HOST:PORT to listen on (0.0.0.0:PORT for every interface)")
	maxSize := fs.String("max-size", "16M", "the largest message a client may ask for")
	maxSessions := fs.Int("max-sessions", 64, "sessions served at once; more are refused")
	idle := fs.Duration("idle-timeout", time.Minute, "drop a session that sends nothing for this long")
	handshake := fs.Duration("handshake-timeout", 5*time.Second, "drop a connection that has not sent its hello by then")
	if help, err := parseFlags(fs, args, stdout); help || err != nil {
		if err != nil {
			return report(stderr, "serve", err)
		}
		return exitOK
	}
	sizes, err := harness.ParseSizes(*maxSize)
	switch {
	case err != nil:
		return report(stderr, "serve", usagef("-max-size: %v", err))
	case len(sizes) != 1:
		return report(stderr, "serve", usagef("-max-size takes one size, the largest message a client may ask for, not the list %q", *maxSize))
	case *maxSessions < 1:
		return report(stderr, "serve", usagef("-max-sessions must be at least 1, not %d", *maxSessions))
	case *idle <= 0 || *handshake <= 0:
		return report(stderr, "serve", usagef("-idle-timeout and -handshake-timeout must be positive"))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = harness.Serve(ctx, remote.ServeOptions{
		Listen: *listen, MaxSize: sizes[0], MaxSessions: *maxSessions,
		IdleTimeout: *idle, HandshakeTimeout: *handshake,
		Version: fullVersion(), Log: stderr,
	})
	if err != nil {
		fmt.Fprintf(stderr, "ipcbench serve: %v.\n", err)
		return exitFailure
	}
	return exitOK
}
