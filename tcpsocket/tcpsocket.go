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

	"github.com/ipcbench/ipcbench/harness"
)

// loopback is where Listen listens: an ephemeral port, never reachable from
// another host.
const loopback = "127.0.0.1:0"

type transport struct{}

// New returns the tcpsocket Transport.
func New() harness.Transport { return transport{} }

func (transport) Name() string { return "tcpsocket" }

// Describe implements harness.Describer.
func (transport) Describe(cfg harness.Config) harness.Description {
	if cfg.Remote != "" {
		return harness.Description{Note: "to ipcbench serve at " + cfg.Remote + ", TCP_NODELAY on; no one-way figure across hosts (their clocks differ)"}
	}
	return harness.Description{Note: "loopback, TCP_NODELAY on"}
}

// errRemote guards against measuring loopback when a remote peer was asked
// for: the harness opens remote sessions itself and never calls Listen or
// Dial for them.
var errRemote = errors.New("tcpsocket: a remote peer is reached through the harness, not Listen or Dial")

// Listen listens on an ephemeral loopback port; Endpoint.Addr is host:port.
func (transport) Listen(cfg harness.Config) (harness.Listener, error) {
	if cfg.Remote != "" {
		return nil, errRemote
	}
	ln, err := net.Listen("tcp", loopback)
	if err != nil {
		return nil, err
	}
	ep := harness.Endpoint{Addr: ln.Addr().String()}
	return harness.NewNetListener(ln, ep, cfg.IO, noDelay, nil)
}

// Dial connects to the host:port in ep.Addr.
func (transport) Dial(ep harness.Endpoint, cfg harness.Config) (harness.Conn, error) {
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
	return harness.NetConn(c, cfg.IO)
}

// noDelay sets TCP_NODELAY. Go already does by default; saying it here keeps
// the figures from depending on that default.
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

// ServerCaps: one listening socket accepts every client, each connection
// holds an ephemeral port, and each connect is a new TCP handshake with
// TCP_NODELAY set as for every other connection.
func (transport) ServerCaps(cfg harness.Config) harness.ServerCaps {
	return harness.ServerCaps{
		Server:         harness.ServerAccept,
		Note:           "one listening socket, a connection per client",
		PortsPerClient: 1,
		Connector: func(ep harness.Endpoint, cfg harness.Config) (harness.Connector, error) {
			return harness.StreamConnector("tcp", ep.Addr, cfg, noDelayFD, noDelay)
		},
	}
}

// noDelayFD sets TCP_NODELAY on a raw socket.
func noDelayFD(fd int) error {
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
		return fmt.Errorf("tcpsocket: cannot set TCP_NODELAY: %w", err)
	}
	return nil
}
