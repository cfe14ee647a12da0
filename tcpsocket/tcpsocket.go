// Package tcpsocket is the TCP Transport over loopback: the driver listens on
// an ephemeral port of 127.0.0.1 and the peer connects to it.
//
// Both ends set TCP_NODELAY, so that a message is sent as soon as it is
// written, and leave the socket buffer sizes alone: setting SO_SNDBUF or
// SO_RCVBUF would turn off the kernel's autotuning.
package tcpsocket

import (
	"errors"
	"fmt"
	"net"

	"golang.org/x/sys/unix"

	"github.com/ipcbench/ipcbench/ipc"
)

// loopback is where Listen listens: an ephemeral port, never reachable from
// another host.
const loopback = "127.0.0.1:0"

type transport struct{}

// New returns the tcpsocket Transport.
func New() ipc.Transport { return transport{} }

func (transport) Name() string { return "tcpsocket" }

// Caps: a stream socket of any message length, with a poller path, that
// can run against an `ipcbench serve` on another host. Its buffers start at
// the tcp_rmem/tcp_wmem defaults and autotune up to the net.core maxima.
func (transport) Caps(cfg ipc.Config) ipc.Caps {
	c := ipc.Caps{
		Remote: true,
		Sysctls: []string{
			"net.core.rmem_default", "net.core.wmem_default", "net.core.rmem_max", "net.core.wmem_max",
			"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
		},
		Note: "loopback, TCP_NODELAY on",
		// The listener and the dialling end each take an ephemeral port.
		Uses: ipc.Uses{Ports: 2},
		// A server has one listening socket that accepts every client,
		// each connection holds an ephemeral port, and each connection of
		// workload connect is a new handshake with TCP_NODELAY set.
		Server:         ipc.ServerAccept,
		ServerNote:     "one listening socket, a connection per client",
		PortsPerClient: 1,
		Connector: func(ep ipc.Endpoint, cfg ipc.Config) (ipc.Connector, error) {
			return ipc.StreamConnector("tcp", ep.Addr, cfg, noDelayFD, noDelay)
		},
	}
	if cfg.Remote != "" {
		c.Note = "to ipcbench serve at " + cfg.Remote + ", TCP_NODELAY on; no one-way figure across hosts (their clocks differ)"
	}
	return c
}

// errRemote guards against measuring loopback when a remote peer was asked
// for: the harness opens remote sessions itself and never calls Listen or
// Dial for them.
var errRemote = errors.New("tcpsocket: a remote peer is reached through the harness, not Listen or Dial")

// Listen listens on an ephemeral loopback port; Endpoint.Addr is host:port.
func (transport) Listen(cfg ipc.Config) (ipc.Listener, error) {
	if cfg.Remote != "" {
		return nil, errRemote
	}
	ln, err := net.Listen("tcp", loopback)
	if err != nil {
		return nil, err
	}
	ep := ipc.Endpoint{Addr: ln.Addr().String()}
	return ipc.NewNetListener(ln, ep, cfg.IO, accepted, nil)
}

// Dial connects to the host:port in ep.Addr.
func (transport) Dial(ep ipc.Endpoint, cfg ipc.Config) (ipc.Conn, error) {
	if cfg.Remote != "" {
		return nil, errRemote
	}
	c, err := net.DialTimeout("tcp", ep.Addr, cfg.Timeout)
	if err != nil {
		return nil, err
	}
	if err := noDelay(c); err != nil {
		c.Close()
		return nil, err
	}
	return ipc.NetConn(c, cfg.IO)
}

// noDelay sets TCP_NODELAY. Go already does by default; saying it here keeps
// the figures from depending on that default.
// accepted makes a Conn of an accepted connection, with TCP_NODELAY on.
func accepted(c net.Conn, mode ipc.IOMode) (ipc.Conn, func(), error) {
	if err := noDelay(c); err != nil {
		c.Close()
		return nil, nil, err
	}
	return ipc.NetConnShutdown(c, mode)
}

func noDelay(c net.Conn) error {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return fmt.Errorf("tcpsocket: a %T is not a TCP connection", c)
	}
	if err := tc.SetNoDelay(true); err != nil {
		return fmt.Errorf("tcpsocket: cannot set TCP_NODELAY: %w", err)
	}
	return nil
}

// noDelayFD sets TCP_NODELAY on a raw socket.
func noDelayFD(fd int) error {
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
		return fmt.Errorf("tcpsocket: cannot set TCP_NODELAY: %w", err)
	}
	return nil
}
