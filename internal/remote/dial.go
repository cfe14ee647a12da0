package remote

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipcbench/ipcbench/ipc"
)

// A Session stands where a local pair has a Listener and a peer process:
// the peer is an `ipcbench serve` on another machine, reached over TCP. It
// is a Listener whose Accept hands over the connection the handshake
// opened, and whose Close shuts that connection down, waking the driver if
// it is blocked on it.
type Session struct {
	Conn     ipc.Conn
	shutdown func()
	once     sync.Once
}

func (r *Session) Endpoint() ipc.Endpoint { return ipc.Endpoint{} }

func (r *Session) Accept(time.Time) (ipc.Conn, error) { return r.Conn, nil }

func (r *Session) Close() error {
	r.once.Do(r.shutdown)
	return nil
}

// Dial opens one session with the server at addr for a cell.
func Dial(addr string, h Hello, mode ipc.IOMode, timeout time.Duration) (*Session, *ServerInfo, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, nil, DialError(addr, timeout, err)
	}
	c.(*net.TCPConn).SetNoDelay(true)
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write(h.Encode()); err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("sending the hello to %s: %w", addr, unwrapOp(err))
	}
	info, err := ReadReply(c)
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
	return &Session{Conn: conn, shutdown: shutdown}, info, nil
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
