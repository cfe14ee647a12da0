package harness

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/ipcbench/ipcbench/ipc"
	"golang.org/x/sys/unix"
)

// A remote session stands where a local pair has a Listener and a peer
// process: the peer is an `ipcbench serve` on another machine, reached over
// TCP. It is a Listener whose Accept hands over the connection the
// handshake opened, and whose Close shuts that connection down, waking the
// driver if it is blocked on it.
type remoteSession struct {
	conn     ipc.Conn
	shutdown func()
	once     sync.Once
}

func (r *remoteSession) Endpoint() ipc.Endpoint { return ipc.Endpoint{} }

func (r *remoteSession) Accept(time.Time) (ipc.Conn, error) { return r.conn, nil }

func (r *remoteSession) Close() error {
	r.once.Do(r.shutdown)
	return nil
}

// dialRemote opens one session with the server at addr for a cell.
func dialRemote(addr string, h hello, mode ipc.IOMode, timeout time.Duration) (*remoteSession, *ServerInfo, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, nil, DialError(addr, timeout, err)
	}
	c.(*net.TCPConn).SetNoDelay(true)
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write(h.encode()); err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("sending the hello to %s: %w", addr, unwrapOp(err))
	}
	info, err := readReply(c)
	if err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("%s: %w", addr, err)
	}
	c.SetDeadline(time.Time{})
	conn, shutdown, err := ipc.NetConnShutdown(c, mode)
	if err != nil {
		return nil, nil, err
	}
	info.Address = addr
	return &remoteSession{conn: conn, shutdown: shutdown}, info, nil
}

// ProbeRemote checks that an `ipcbench serve` answers at addr and speaks this
// protocol, and returns what it says about its machine. It opens a session
// and ends it at once.
func ProbeRemote(addr string, timeout time.Duration) (*ServerInfo, error) {
	s, info, err := dialRemote(addr, hello{Version: ProtocolVersion, Workload: "pingpong", Size: MinSize}, ipc.IOGo, timeout)
	if err != nil {
		return nil, err
	}
	defer s.conn.Close()
	d := newDriver(s.conn, 0, MinSize, 0, false)
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

// DialError says why a connection could not be made the way the network
// says it, with a hint at what to check.
func DialError(addr string, timeout time.Duration, err error) error {
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.Is(err, unix.ECONNREFUSED):
		return fmt.Errorf("nothing is listening at %s (connection refused): start 'ipcbench serve -listen %s' on that machine, or check the port", addr, addr)
	case errors.Is(err, unix.EHOSTUNREACH):
		return fmt.Errorf("%s is unreachable (no route to host): check the address, and that the machine is up and on this network", addr)
	case errors.Is(err, unix.ENETUNREACH):
		return fmt.Errorf("%s is unreachable (network unreachable): this machine has no route to that network", addr)
	case errors.As(err, &dnsErr):
		return fmt.Errorf("cannot resolve the host of %s: %v", addr, dnsErr.Err)
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("no answer from %s within %v (connection timed out): the address may be wrong, or a firewall drops the connection", addr, timeout)
	}
	return fmt.Errorf("cannot connect to %s: %w", addr, unwrapOp(err))
}
