// Package unixsocket is the Unix domain stream socket Transport: the driver
// listens on a socket file in a private directory and the peer connects to
// its path.
package unixsocket

import (
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/ipcbench/ipcbench/harness"
)

// maxPath is the longest socket path Linux takes: sun_path is 108 bytes.
const maxPath = 108

type transport struct{}

// New returns the unixsocket Transport.
func New() harness.Transport { return transport{} }

func (transport) Name() string { return "unixsocket" }

// Listen makes a private (0700) directory and listens on dir/sock. The
// Listener's Close removes both.
func (transport) Listen(cfg harness.Config) (harness.Listener, error) {
	dir, err := harness.TempDir()
	if err != nil {
		return nil, err
	}
	removeDir := func() error { return os.RemoveAll(dir) }
	path := filepath.Join(dir, "sock")
	if len(path) > maxPath {
		removeDir()
		return nil, fmt.Errorf("the socket path %s is longer than the %d bytes Linux allows; set TMPDIR to a shorter directory", path, maxPath)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		removeDir()
		return nil, err
	}
	return harness.NewNetListener(ln, harness.Endpoint{Addr: path}, cfg.IO, nil, removeDir)
}

// Dial connects to the socket path in ep.Addr.
func (transport) Dial(ep harness.Endpoint, cfg harness.Config) (harness.Conn, error) {
	c, err := net.DialTimeout("unix", ep.Addr, cfg.Timeout)
	if err != nil {
		return nil, err
	}
	return harness.NetConn(c, cfg.IO)
}

// ServerCaps: one listening socket accepts every client, and each
// connection is a new connect(2) to the socket's path.
func (transport) ServerCaps(cfg harness.Config) harness.ServerCaps {
	return harness.ServerCaps{
		Server: harness.ServerAccept,
		Note:   "one listening socket, a connection per client",
		Connector: func(ep harness.Endpoint, cfg harness.Config) (harness.Connector, error) {
			return harness.StreamConnector("unix", ep.Addr, cfg, nil, nil)
		},
	}
}
