// Package seqpacket measures AF_UNIX SOCK_SEQPACKET sockets (unix(7)):
// connection-oriented and reliable like a stream socket, but every write is
// one record that one read returns whole, so message boundaries are the
// kernel's and not the reader's. The driver listens on a socket file in a
// private 0700 directory and the peer connects to its path.
//
// A record must fit in the sender's socket buffer: Linux refuses (EMSGSIZE)
// a message longer than SO_SNDBUF minus 32 bytes (unix_dgram_sendmsg, which
// SOCK_SEQPACKET shares with SOCK_DGRAM). SO_SNDBUF starts at
// net.core.wmem_default (212992 bytes here, so at most 212960 per record).
// Caps reads it from a new socket and says so: a larger message is split by
// ipc.Split, and the row names the limit.
//
// Each Recv reads one record with MSG_TRUNC, which makes recv(2) return the
// record's real length, so a record longer than expected is an error and not
// silently cut to the buffer.
package seqpacket

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
	"unsafe"

	"github.com/ipcbench/ipcbench/ipc"

	"golang.org/x/sys/unix"
)

// maxPath is the longest socket path Linux takes: sun_path is 108 bytes.
const maxPath = 108

// sndbufOverhead is what the kernel keeps of SO_SNDBUF for itself when it
// checks a record's length (len > sk_sndbuf - 32: EMSGSIZE).
const sndbufOverhead = 32

const sysWmemDefault = "net.core.wmem_default"

// New returns the SOCK_SEQPACKET Transport.
func New() ipc.Transport { return transport{} }

type transport struct{}

func (transport) Name() string { return "seqpacket" }

// maxRecord is the longest record a new socket sends: its SO_SNDBUF, read
// from a fresh socket pair, less the kernel's 32 bytes.
func maxRecord() (int, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("cannot make a SOCK_SEQPACKET socket: %w", err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	sb, err := unix.GetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_SNDBUF)
	if err != nil {
		return 0, fmt.Errorf("cannot read SO_SNDBUF: %w", err)
	}
	if sb <= sndbufOverhead {
		return 0, &ipc.LimitError{Limit: sysWmemDefault, Value: int64(sb), What: "a SOCK_SEQPACKET socket's send buffer cannot hold a single record"}
	}
	return sb - sndbufOverhead, nil
}

// Caps: records of at most SO_SNDBUF-32 bytes, both IO modes. One
// listening socket accepts every client of a server, and each connection is
// a new connect(2) to the socket's path.
func (transport) Caps(cfg ipc.Config) ipc.Caps {
	c := ipc.Caps{
		IOModes:    []ipc.IOMode{ipc.IORaw, ipc.IOGo},
		Sysctls:    []string{sysWmemDefault},
		Server:     ipc.ServerAccept,
		ServerNote: "one listening SOCK_SEQPACKET socket, a connection per client",
		Connector:  newConnector,
	}
	m, err := maxRecord()
	if err != nil {
		c.Err = err
		return c
	}
	c.MaxMessage, c.MaxMessageLimit = m, "SO_SNDBUF-32"
	if cfg.Size > m {
		c.Note = fmt.Sprintf("a record is at most SO_SNDBUF (%d, from %s) less 32 bytes", m+sndbufOverhead, sysWmemDefault)
	}
	return c
}

// Listen makes a private (0700) directory and listens on dir/sock. The
// Listener's Close removes both.
func (transport) Listen(cfg ipc.Config) (ipc.Listener, error) {
	dir, err := ipc.TempDir()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "sock")
	if len(path) >= maxPath {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("the socket path %s is longer than the %d bytes Linux allows; set TMPDIR to a shorter directory", path, maxPath-1)
	}
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return ipc.NewNetListener(ln, ipc.Endpoint{Addr: path}, cfg.IO, accepted, func() error { return os.RemoveAll(dir) })
}

// accepted makes a Conn of a socket the listener accepted.
func accepted(c net.Conn, mode ipc.IOMode) (ipc.Conn, func(), error) {
	return newConn(c.(*net.UnixConn), mode)
}

// Dial connects to the socket path in ep.Addr.
func (transport) Dial(ep ipc.Endpoint, cfg ipc.Config) (ipc.Conn, error) {
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	c, err := net.DialTimeout("unixpacket", ep.Addr, timeout)
	if err != nil {
		return nil, err
	}
	conn, _, err := newConn(c.(*net.UnixConn), cfg.IO)
	return conn, err
}

func newConnector(ep ipc.Endpoint, cfg ipc.Config) (ipc.Connector, error) {
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	return &connector{addr: ep.Addr, mode: cfg.IO, timeout: timeout,
		sa: &unix.SockaddrUnix{Name: ep.Addr}, conn: &rawConn{fd: -1}}, nil
}

// connector connects to one socket path again and again: the client's side
// of workload connect. With IORaw each Connect is socket(2) and a blocking
// connect(2), timed alone, and the Conn (reused: the caller closes each
// before the next) allocates nothing; with IOGo it is a net.Dial, timed
// whole.
type connector struct {
	addr    string
	mode    ipc.IOMode
	timeout time.Duration
	sa      *unix.SockaddrUnix
	conn    *rawConn
}

func (c *connector) Connect() (ipc.Conn, time.Duration, error) {
	if c.mode == ipc.IOGo {
		t0 := time.Now()
		nc, err := net.DialTimeout("unixpacket", c.addr, c.timeout)
		took := time.Since(t0)
		if err != nil {
			return nil, 0, &ipc.ConnectError{Err: err}
		}
		conn, _, err := newConn(nc.(*net.UnixConn), ipc.IOGo)
		return conn, took, err
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("socket: %w", err)
	}
	t0 := time.Now()
	for {
		// A Unix socket's connect(2) interrupted by a signal has not
		// connected: it is made again.
		if err = unix.Connect(fd, c.sa); err != unix.EINTR {
			break
		}
	}
	took := time.Since(t0)
	if err != nil {
		unix.Close(fd)
		return nil, 0, &ipc.ConnectError{Err: err}
	}
	c.conn.fd = fd
	return c.conn, took, nil
}

func (c *connector) Close() error { return nil }

// newConn makes a Conn of a connected socket for mode, and a function that
// shuts the socket down (safe after Close: RawConn.Control then fails).
//
// With IOGo the socket stays in the runtime poller and the Conn waits for
// readiness there (syscall.RawConn), making the same syscalls as raw. With
// IORaw the descriptor is duplicated, the net.UnixConn closed (which takes
// the socket out of the poller's epoll set), and the duplicate made blocking.
func newConn(uc *net.UnixConn, mode ipc.IOMode) (ipc.Conn, func(), error) {
	switch mode {
	case ipc.IOGo:
		rc, err := uc.SyscallConn()
		if err != nil {
			uc.Close()
			return nil, nil, err
		}
		c := &goConn{uc: uc, rc: rc}
		c.sendFn = func(fd uintptr) bool {
			c.sent, c.sendErr = write(int(fd), c.sendBuf)
			return c.sendErr != unix.EAGAIN
		}
		c.recvFn = func(fd uintptr) bool {
			c.got, c.recvErr = recvTrunc(int(fd), c.recvBuf)
			return c.recvErr != unix.EAGAIN
		}
		return c, shutdownFunc(rc), nil
	case ipc.IORaw:
		rc, err := uc.SyscallConn()
		if err != nil {
			uc.Close()
			return nil, nil, err
		}
		nfd := -1
		cerr := rc.Control(func(fd uintptr) { nfd, err = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) })
		uc.Close()
		if err = errors.Join(cerr, err); err != nil {
			return nil, nil, fmt.Errorf("cannot take the socket's descriptor: %w", err)
		}
		if err := unix.SetNonblock(nfd, false); err != nil {
			unix.Close(nfd)
			return nil, nil, err
		}
		f := os.NewFile(uintptr(nfd), "seqpacket") // blocking: not in the poller
		frc, err := f.SyscallConn()
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		return &rawConn{f: f, fd: nfd}, shutdownFunc(frc), nil
	}
	uc.Close()
	return nil, nil, fmt.Errorf("unknown io mode %q", mode)
}

func shutdownFunc(rc syscall.RawConn) func() {
	return func() { rc.Control(func(fd uintptr) { unix.Shutdown(int(fd), unix.SHUT_RDWR) }) }
}

// write sends b as one record; it returns how many bytes went (all of them,
// for a record) or the error.
func write(fd int, b []byte) (int, error) {
	for {
		n, e := ipc.Write(fd, b)
		switch e {
		case 0:
			return n, nil
		case unix.EINTR:
			continue
		}
		return n, e
	}
}

// recvTrunc receives one record into b and returns the record's full length,
// which is larger than len(b) if the record did not fit (MSG_TRUNC).
func recvTrunc(fd int, b []byte) (int, error) {
	for {
		r, e := ipc.Syscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), unix.MSG_TRUNC, 0, 0)
		switch e {
		case 0:
			return int(r), nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return -1, unix.EAGAIN
		}
		return -1, e
	}
}

// checkSent and checkRecv turn a syscall's result into the Conn's.
func checkSent(n int, err error, want int) error {
	switch {
	case err == unix.EPIPE || err == unix.ECONNRESET || errors.Is(err, os.ErrClosed) || errors.Is(err, net.ErrClosed):
		return ipc.ErrClosed
	case err == unix.EMSGSIZE:
		return fmt.Errorf("write: a %d-byte record is longer than the socket's send buffer allows (SO_SNDBUF less 32): %w", want, err)
	case err != nil:
		return fmt.Errorf("write: %w", err)
	case n != want:
		return fmt.Errorf("write: sent %d bytes of a %d-byte record", n, want)
	}
	return nil
}

func checkRecv(n int, err error, want int) error {
	switch {
	case err == unix.ECONNRESET || errors.Is(err, os.ErrClosed) || errors.Is(err, net.ErrClosed):
		return ipc.ErrClosed
	case err != nil:
		return fmt.Errorf("recv: %w", err)
	case n == 0 && want != 0:
		return ipc.ErrClosed // end of file: the other side closed
	case n != want:
		return fmt.Errorf("recv: got a record of %d bytes, want %d: the two sides disagree on the message size", n, want)
	}
	return nil
}

// rawConn makes blocking syscalls on a descriptor outside the poller; the
// calling goroutine should be locked to its thread (the harness does that in
// raw mode). Close must not run during a call (see ipc.NewStreamConn).
type rawConn struct {
	f         *os.File // keeps fd open, closed once; nil for a connector's socket
	fd        int
	ipc.Calls // write and recvfrom calls, for the cost per message
}

// RecvFD is the socket, for a server that waits on many with epoll.
func (c *rawConn) RecvFD() int { return c.fd }

func (c *rawConn) Send(frame []byte) error {
	c.Calls.Send++
	n, err := write(c.fd, frame)
	return checkSent(n, err, len(frame))
}

func (c *rawConn) Recv(frame []byte) error {
	c.Calls.Recv++
	n, err := recvTrunc(c.fd, frame)
	return checkRecv(n, err, len(frame))
}

func (c *rawConn) Close() error {
	if c.f == nil {
		if c.fd < 0 {
			return nil
		}
		fd := c.fd
		c.fd = -1
		return unix.Close(fd)
	}
	return c.f.Close()
}

// goConn waits for readiness in the runtime poller. The functions the poller
// runs are made once, so that a call allocates nothing; Send and Recv may
// run at once in two goroutines, so each has its own fields.
type goConn struct {
	uc               *net.UnixConn
	rc               syscall.RawConn
	sendFn, recvFn   func(fd uintptr) bool
	sendBuf, recvBuf []byte
	sent, got        int
	sendErr, recvErr error
}

func (c *goConn) Send(frame []byte) error {
	c.sendBuf = frame
	if err := c.rc.Write(c.sendFn); err != nil {
		return checkSent(0, err, len(frame))
	}
	return checkSent(c.sent, c.sendErr, len(frame))
}

func (c *goConn) Recv(frame []byte) error {
	c.recvBuf = frame
	if err := c.rc.Read(c.recvFn); err != nil {
		return checkRecv(0, err, len(frame))
	}
	return checkRecv(c.got, c.recvErr, len(frame))
}

func (c *goConn) Close() error { return c.uc.Close() }
