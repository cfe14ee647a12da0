package harness

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/ipcbench/ipcbench/internal/host"
	"github.com/ipcbench/ipcbench/internal/remote"
	"github.com/ipcbench/ipcbench/ipc"
)

// ServerInfo is what an `ipcbench serve` says about its machine.
type ServerInfo = remote.ServerInfo

// dialRemote opens one session with the server at addr for a cell.
func dialRemote(addr string, h remote.Hello, mode ipc.IOMode, timeout time.Duration) (*remote.Session, *ServerInfo, error) {
	return remote.Dial(addr, h, mode, timeout)
}

// ProbeRemote checks that an `ipcbench serve` answers at addr and speaks this
// protocol, and returns what it says about its machine. It opens a session
// and ends it at once.
func ProbeRemote(addr string, timeout time.Duration) (*ServerInfo, error) {
	s, info, err := dialRemote(addr, remote.Hello{Version: remote.ProtocolVersion, Workload: "pingpong", Size: MinSize}, ipc.IOGo, timeout)
	if err != nil {
		return nil, err
	}
	defer s.Conn.Close()
	d := newDriver(s.Conn, 0, MinSize, 0, false)
	done := make(chan error, 1)
	go func() { done <- d.finish() }()
	select {
	case err = <-done:
	case <-time.After(timeout):
		s.Close()
		err = <-done
	}
	if err != nil {
		return nil, fmt.Errorf("%s answered the handshake but not the first message: %w", addr, err)
	}
	return info, nil
}

// Serve is `ipcbench serve`: remote.Serve with this machine's facts, the
// sizes ipcbench measures, and the peer's side of the workloads.
func Serve(ctx context.Context, o remote.ServeOptions) error {
	o.MinSize, o.Largest = MinSize, MaxSize
	o.Info = localInfo(o.Version)
	o.Peer = func(conn ipc.Conn, h remote.Hello) (int64, error) {
		p := newPeer(conn, 0, h.Size, 0, isEcho(h.Workload), h.Verify)
		err := p.serve()
		return p.received, err
	}
	return remote.Serve(ctx, o)
}

// localInfo is what this machine tells a client about itself.
func localInfo(version string) ServerInfo {
	hostname, _ := os.Hostname()
	return ServerInfo{
		Version:   version,
		Protocol:  remote.ProtocolVersion,
		Host:      hostname,
		Kernel:    host.Kernel(),
		CPUModel:  host.CPUModel(),
		NCPU:      runtime.NumCPU(),
		GoVersion: runtime.Version(),
	}
}
