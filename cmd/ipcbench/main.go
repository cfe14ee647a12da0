// Command ipcbench measures inter-process communication on Linux: anonymous
// pipes, System V message queues, Unix domain sockets, TCP sockets, shared
// memory rings, UDP and Unix datagram sockets, with the same workload between two real processes. See
// `ipcbench help`.
package main

import (
	"os"

	"github.com/ipcbench/ipcbench/fifo"
	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/msgqueue"
	"github.com/ipcbench/ipcbench/pipe"
	"github.com/ipcbench/ipcbench/posixmq"
	"github.com/ipcbench/ipcbench/seqpacket"
	"github.com/ipcbench/ipcbench/shm"
	"github.com/ipcbench/ipcbench/tcpsocket"
	"github.com/ipcbench/ipcbench/udp"
	"github.com/ipcbench/ipcbench/unixgram"
	"github.com/ipcbench/ipcbench/unixsocket"
)

// mechanisms is every mechanism ipcbench knows, in the order tables show
// them. Adding one is a package and a line here.
var mechanisms = []ipc.Transport{
	pipe.New(), msgqueue.New(), unixsocket.New(), tcpsocket.New(),
	shm.NewSpin(), shm.NewFutex(), shm.NewEventfd(),
	udp.New(), unixgram.New(),
	fifo.New(), posixmq.New(), seqpacket.New(),
}

func main() {
	harness.MaybeRunPeer(mechanisms) // a peer process never returns from here
	keepRunningOnEPIPE()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
