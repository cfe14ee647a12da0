package ipc

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// ServerForm is how one server process serves many clients of a mechanism
// (workload server).
type ServerForm string

const (
	// ServerChannels, the zero value, is the generic form: one Listen per
	// client, each client Dials its own Endpoint, and the server process
	// holds all N Conns.
	ServerChannels ServerForm = ""
	// ServerAccept is one Listener that accepts every client: Listen once,
	// Accept N times, and every client Dials the same Endpoint.
	ServerAccept ServerForm = "accept"
	// ServerShared is one channel that all clients share, made by
	// Caps.ListenShared (System V: one request queue, typed replies).
	ServerShared ServerForm = "shared"
)

// A SharedListener is the server's end of a channel all clients share. It
// carries whole messages of cfg.Size, splitting them itself if it must.
type SharedListener interface {
	// Endpoint is what client i (0..clients-1) Dials with Transport.Dial.
	Endpoint(client int) Endpoint
	// Recv fills frame[h:] (h is Caps.Headroom; the h bytes in front are
	// the listener's during the call) with the next request from any
	// client, a whole message of cfg.Size, and says whose it is.
	Recv(frame []byte) (client int, err error)
	// Send sends frame[h:] to that client alone.
	Send(client int, frame []byte) error
	// Close removes the channel and wakes every call blocked on it, in
	// this process and the clients.
	Close() error
}

// A Connector dials one Endpoint again and again: the client's side of
// workload connect.
type Connector interface {
	// Connect makes one new connection. took is how long connect(2) alone
	// took (with IOGo the whole net.Dial). The caller closes the Conn
	// before the next Connect, which may reuse its memory, so that a raw
	// connect loop allocates nothing.
	Connect() (c Conn, took time.Duration, err error)
	Close() error
}

// recvFDer is a Conn with a descriptor that becomes readable when a message
// for it arrives.
type recvFDer interface{ RecvFD() int }

// RecvFD is the descriptor that becomes readable when a message for c
// arrives, if c has one, so that a server can wait on many Conns with epoll.
// A Conn offers one with a method RecvFD() int (-1 for none).
func RecvFD(c Conn) (int, bool) {
	if r, ok := c.(recvFDer); ok {
		if fd := r.RecvFD(); fd >= 0 {
			return fd, true
		}
	}
	return -1, false
}

// RecvFD is the descriptor a raw stream reads from.
func (c *rawStream) RecvFD() int { return c.rfd }

// StreamConnector returns the Connector of a stream socket ("tcp" or
// "unix") at addr. With IORaw each Connect is socket(2), prepare(fd) (for
// socket options, may be nil) and a blocking connect(2), timed alone, and
// the Conn reads and writes the descriptor directly; nothing allocates. With
// IOGo each Connect is a net.Dialer's Dial, timed whole, and prepareConn
// (may be nil) sets the options.
func StreamConnector(network, addr string, cfg Config, prepare func(fd int) error, prepareConn func(net.Conn) error) (Connector, error) {
	if cfg.IO == IOGo {
		return &goConnector{network: network, addr: addr, d: net.Dialer{Timeout: cfg.Timeout}, prepare: prepareConn}, nil
	}
	var sa unix.Sockaddr
	var domain int
	switch network {
	case "tcp", "tcp4":
		ta, err := net.ResolveTCPAddr("tcp4", addr)
		if err != nil {
			return nil, err
		}
		ip4 := ta.IP.To4()
		if ip4 == nil {
			return nil, fmt.Errorf("%s is not an IPv4 address", addr)
		}
		in := &unix.SockaddrInet4{Port: ta.Port}
		copy(in.Addr[:], ip4)
		sa, domain = in, unix.AF_INET
	case "unix":
		sa, domain = &unix.SockaddrUnix{Name: addr}, unix.AF_UNIX
	default:
		return nil, fmt.Errorf("no raw connector for network %q", network)
	}
	return &rawConnector{domain: domain, sa: sa, prepare: prepare, conn: &fdConn{fd: -1}}, nil
}

type rawConnector struct {
	domain  int
	sa      unix.Sockaddr
	prepare func(fd int) error
	conn    *fdConn // reused: the caller closes each before the next
}

func (r *rawConnector) Connect() (Conn, time.Duration, error) {
	fd, err := unix.Socket(r.domain, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("socket: %w", err)
	}
	if r.prepare != nil {
		if err := r.prepare(fd); err != nil {
			unix.Close(fd)
			return nil, 0, err
		}
	}
	t0 := nanotime()
	err = unix.Connect(fd, r.sa)
	if err == unix.EINTR {
		// The connection goes on in the background: wait for it.
		err = awaitConnect(fd)
	}
	took := time.Duration(nanotime() - t0)
	if err != nil {
		unix.Close(fd)
		return nil, 0, &ConnectError{Err: err}
	}
	r.conn.fd = fd
	return r.conn, took, nil
}

func (r *rawConnector) Close() error { return nil }

// awaitConnect waits for a connect(2) that a signal interrupted.
func awaitConnect(fd int) error {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	for {
		_, err := unix.Poll(fds, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			return err
		}
		if soerr != 0 {
			return unix.Errno(soerr)
		}
		return nil
	}
}

// ConnectError is a connect(2) that failed.
type ConnectError struct{ Err error }

func (e *ConnectError) Error() string { return "connect: " + e.Err.Error() }
func (e *ConnectError) Unwrap() error { return e.Err }

// fdConn is a connected stream socket read and written with blocking
// syscalls, reused from one connection to the next.
type fdConn struct{ fd int }

func (c *fdConn) Send(frame []byte) error {
	p := frame
	for len(p) > 0 {
		n, e := Write(c.fd, p)
		if e != 0 {
			if e == unix.EINTR {
				continue
			}
			return streamErr("write", e)
		}
		p = p[n:]
	}
	return nil
}

func (c *fdConn) Recv(frame []byte) error {
	p := frame
	for len(p) > 0 {
		n, e := Read(c.fd, p)
		if e != 0 {
			if e == unix.EINTR {
				continue
			}
			return streamErr("read", e)
		}
		if n == 0 {
			return ErrClosed
		}
		p = p[n:]
	}
	return nil
}

func (c *fdConn) RecvFD() int { return c.fd }

func (c *fdConn) Close() error {
	if c.fd < 0 {
		return nil
	}
	err := unix.Close(c.fd)
	c.fd = -1
	return err
}

type goConnector struct {
	network, addr string
	d             net.Dialer
	prepare       func(net.Conn) error
}

func (g *goConnector) Connect() (Conn, time.Duration, error) {
	t0 := nanotime()
	c, err := g.d.Dial(g.network, g.addr)
	took := time.Duration(nanotime() - t0)
	if err != nil {
		var se *os.SyscallError
		if errors.As(err, &se) {
			return nil, 0, &ConnectError{Err: se.Err}
		}
		return nil, 0, &ConnectError{Err: err}
	}
	if g.prepare != nil {
		if err := g.prepare(c); err != nil {
			c.Close()
			return nil, 0, err
		}
	}
	return newReadWriterConn(c, c), took, nil
}

func (g *goConnector) Close() error { return nil }
