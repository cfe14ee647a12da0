// Package unixsocket is the Unix domain stream socket Transport: the driver
// listens on a socket file in a private directory and the peer connects to
// its path.
package unixsocket

import (
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/ipcbench/ipcbench/ipc"
)

// maxPath is the longest socket path Linux takes: sun_path is 108 bytes.
const maxPath = 108

type transport struct{}

// New returns the unixsocket Transport.
func New() ipc.Transport { return transport{} }

func (transport) Name() string { return "unixsocket" }

// Caps: a stream socket carries messages of any length, with a poller path,
// in socket buffers the net.core settings size.
//
// A server has one listening socket that accepts every client, and each
// connection of workload connect is a new connect(2) to the socket's path.
func (transport) Caps(ipc.Config) ipc.Caps {
	return ipc.Caps{
		Sysctls:    socketBuffers,
		Server:     ipc.ServerAccept,
		ServerNote: "one listening socket, a connection per client",
		Connector: func(ep ipc.Endpoint, cfg ipc.Config) (ipc.Connector, error) {
			return ipc.StreamConnector("unix", ep.Addr, cfg, nil, nil)
		},
	}
}

// socketBuffers are the settings that size a socket's buffers.
var socketBuffers = []string{"net.core.rmem_default", "net.core.wmem_default", "net.core.rmem_max", "net.core.wmem_max"}

// Listen makes a private (0700) directory and listens on dir/sock. The
// Listener's Close removes both.
func (transport) Listen(cfg ipc.Config) (ipc.Listener, error) {
	dir, err := ipc.TempDir()
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
	return ipc.NewNetListener(ln, ipc.Endpoint{Addr: path}, cfg.IO, nil, removeDir)
}

// Dial connects to the socket path in ep.Addr.
func (transport) Dial(ep ipc.Endpoint, cfg ipc.Config) (ipc.Conn, error) {
	c, err := net.DialTimeout("unix", ep.Addr, cfg.Timeout)
	if err != nil {
		return nil, err
	}
	return ipc.NetConn(c, cfg.IO)
}
