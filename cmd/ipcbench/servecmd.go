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
	maxSize, maxSessions := []int{16 << 20}, 64
	idle, handshake := time.Minute, 5*time.Second
	fs.Var(&sizesValue{sizes: &maxSize, one: true}, "max-size", "the largest message a client may ask for")
	fs.Var(&intCount{n: &maxSessions, min: 1}, "max-sessions", "sessions served at once; more are refused")
	fs.Var(&durationValue{d: &idle}, "idle-timeout", "drop a session that sends nothing for this long")
	fs.Var(&durationValue{d: &handshake}, "handshake-timeout", "drop a connection that has not sent its hello by then")
	if help, err := parseFlags(fs, args, stdout); help || err != nil {
		if err != nil {
			return report(stderr, "serve", err)
		}
		return exitOK
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := harness.Serve(ctx, remote.ServeOptions{
		Listen: *listen, MaxSize: maxSize[0], MaxSessions: maxSessions,
		IdleTimeout: idle, HandshakeTimeout: handshake,
		Version: fullVersion(), Log: stderr,
	})
	if err != nil {
		fmt.Fprintf(stderr, "ipcbench serve: %v.\n", err)
		return exitFailure
	}
	return exitOK
}
