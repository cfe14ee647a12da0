package ipc

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// This file is what the datagram-socket Transports (udp, unixgram) share: a
// Listener whose socket is connected to the peer's once the peer has said
// hello, and a Conn over a connected datagram socket for either IO mode. The
// mechanisms only make the sockets.
//
// Both sides connect(2): the peer's socket to the driver's address when it
// dials, the driver's to the peer's address when the peer's hello arrives.
// From then on each sends and receives without addresses, and the kernel
// delivers to each socket only what its peer sent.
//
// A datagram socket tells its peer nothing when it closes (a stream socket's
// peer reads end of file). So closing sends an empty datagram first, the
// close notice: no message is empty (each carries at least its header), and
// the other side's Recv returns ErrClosed on it. It is a courtesy, not a
// guarantee: over udp it may be dropped like any datagram, and a killed
// process sends none (the harness's watchdog and deadlines cover both).

// DatagramConn returns a Conn over a connected datagram socket c (a
// *net.UDPConn or *net.UnixConn), which it owns from then on (also when it
// fails). Every message is one datagram: Send writes frame as it is, Recv
// reads one datagram and fails unless it is exactly len(frame) bytes (the
// real length, with MSG_TRUNC, so a longer one cannot pass for the
// message). The Conn has no headroom.
//
// recvTimeout, if not 0, is the longest one Recv waits: then it returns
// ErrTimeout (SO_RCVTIMEO with IORaw, a read deadline with IOGo).
//
// With IOGo, Send is c.Write and Recv reads through c's RawConn, so both wait
// in the runtime poller. With IORaw the socket leaves the poller (see
// detach) and both are blocking syscalls.
func DatagramConn(c net.Conn, mode IOMode, recvTimeout time.Duration) (Conn, error) {
	conn, _, err := datagramConn(c, mode, recvTimeout)
	return conn, err
}

// deadlineConn is what *net.UDPConn and *net.UnixConn have in common.
type deadlineConn interface {
	net.Conn
	syscall.Conn
}

// datagramConn is DatagramConn that also returns a function that wakes a
// Recv blocked on the socket in another thread, and makes it return
// ErrClosed.
func datagramConn(c net.Conn, mode IOMode, recvTimeout time.Duration) (Conn, func(), error) {
	dc, ok := c.(deadlineConn)
	if !ok {
		c.Close()
		return nil, nil, fmt.Errorf("a %T is not a datagram socket", c)
	}
	switch mode {
	case IOGo:
		rc, err := dc.SyscallConn()
		if err != nil {
			c.Close()
			return nil, nil, err
		}
		g := &goDatagram{c: dc, rc: rc, timeout: recvTimeout}
		g.readFn = g.read
		// Not shutdown(2): a non-blocking datagram socket that is shut down
		// still answers a read with EAGAIN (only a blocking one returns 0),
		// so the poller would go on waiting. Closing the net.Conn wakes it,
		// and is safe while another goroutine reads.
		return g, func() { closeNotice(rc); dc.Close() }, nil
	case IORaw:
		fc, ok := c.(interface{ File() (*os.File, error) })
		if !ok {
			c.Close()
			return nil, nil, fmt.Errorf("a %T cannot give up its descriptor for raw io", c)
		}
		f, err := fc.File()
		c.Close() // the duplicate in f keeps the socket open
		if err != nil {
			return nil, nil, fmt.Errorf("cannot take the socket's descriptor: %w", err)
		}
		f = detach(f)
		r := &rawDatagram{f: f, fd: int(f.Fd())}
		if recvTimeout > 0 {
			tv := unix.NsecToTimeval(recvTimeout.Nanoseconds())
			if err := unix.SetsockoptTimeval(r.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
				f.Close()
				return nil, nil, fmt.Errorf("cannot set SO_RCVTIMEO: %w", err)
			}
		}
		shutdown := shutdownFunc(f)
		sc, err := f.SyscallConn()
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		r.sc = sc
		return r, func() { closeNotice(sc); shutdown() }, nil
	}
	c.Close()
	return nil, nil, fmt.Errorf("unknown io mode %q", mode)
}

// closeNotice sends the peer an empty datagram, without waiting (see the
// close notice above). RawConn.Control holds the descriptor while it runs,
// so it never reaches a file that reused the number.
func closeNotice(rc syscall.RawConn) {
	rc.Control(func(fd uintptr) { unix.Send(int(fd), nil, unix.MSG_DONTWAIT) })
}

// recvTrunc receives one datagram into p and returns its real length, which
// is more than len(p) if the datagram did not fit (MSG_TRUNC). It is
// recvfrom(2) without an address, which the x/sys/unix wrapper would
// allocate.
func recvTrunc(fd int, p []byte) (int, unix.Errno) {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	n, e := Syscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(ptr), uintptr(len(p)), unix.MSG_TRUNC, 0, 0)
	return int(n), e
}

// checkDatagram turns what one recvfrom returned into Recv's result.
func checkDatagram(n, want int) error {
	switch {
	case n == want:
		return nil
	case n == 0:
		// Every message carries at least its header: an empty read is a
		// socket that was shut down (Listener.Close).
		return ErrClosed
	}
	return fmt.Errorf("received a datagram of %d bytes where one of %d was expected", n, want)
}

// datagramErr names what went wrong; the other side going away (a connected
// socket whose peer is closed: ECONNREFUSED) becomes ErrClosed.
func datagramErr(op string, err error) error {
	switch {
	case errors.Is(err, unix.ECONNREFUSED), errors.Is(err, unix.ENOTCONN),
		errors.Is(err, unix.EPIPE), errors.Is(err, os.ErrClosed), errors.Is(err, net.ErrClosed):
		return ErrClosed
	case errors.Is(err, os.ErrDeadlineExceeded):
		return ErrTimeout
	}
	return fmt.Errorf("%s: %w", op, err)
}

// rawDatagram is a connected datagram socket driven with blocking syscalls
// on the caller's (locked) thread. Like rawStream it holds a bare
// descriptor number: Close must not run while another goroutine is inside
// Send or Recv; the Listener shuts the socket down instead.
type rawDatagram struct {
	f  *os.File
	fd int
	sc syscall.RawConn // f's, for the close notice
	Calls
}

// RecvFD is the descriptor a server can wait on with epoll.
func (c *rawDatagram) RecvFD() int { return c.fd }

func (c *rawDatagram) Send(frame []byte) error {
	for {
		c.Calls.Send++
		n, e := Write(c.fd, frame)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return datagramErr("send", e)
		}
		if n != len(frame) {
			return fmt.Errorf("send: %d of a %d-byte datagram sent", n, len(frame))
		}
		return nil
	}
}

func (c *rawDatagram) Recv(frame []byte) error {
	for {
		c.Calls.Recv++
		n, e := recvTrunc(c.fd, frame)
		switch e {
		case 0:
			return checkDatagram(n, len(frame))
		case unix.EINTR:
			// SO_RCVTIMEO makes recvfrom return EINTR on a signal rather
			// than restart; the wait starts again, a little longer.
			continue
		case unix.EAGAIN:
			return ErrTimeout // SO_RCVTIMEO passed
		}
		return datagramErr("recv", e)
	}
}

func (c *rawDatagram) Close() error {
	closeNotice(c.sc)
	return c.f.Close()
}

// goDatagram is a connected datagram socket through the runtime poller.
type goDatagram struct {
	c       deadlineConn
	rc      syscall.RawConn
	timeout time.Duration
	readFn  func(fd uintptr) bool // g.read, made once: a method value per call would allocate

	// What read got, for Recv.
	buf []byte
	n   int
	e   unix.Errno
}

func (c *goDatagram) Send(frame []byte) error {
	n, err := c.c.Write(frame)
	if err != nil {
		return datagramErr("send", err)
	}
	if n != len(frame) {
		return fmt.Errorf("send: %d of a %d-byte datagram sent", n, len(frame))
	}
	return nil
}

// read is the RawConn.Read callback: false asks the poller to wait.
func (c *goDatagram) read(fd uintptr) bool {
	c.n, c.e = recvTrunc(int(fd), c.buf)
	return c.e != unix.EAGAIN && c.e != unix.EINTR
}

func (c *goDatagram) Recv(frame []byte) error {
	if c.timeout > 0 {
		if err := c.c.SetReadDeadline(time.Now().Add(c.timeout)); err != nil {
			return datagramErr("recv", err)
		}
	}
	c.buf = frame
	err := c.rc.Read(c.readFn)
	c.buf = nil
	if err != nil {
		return datagramErr("recv", err)
	}
	if c.e != 0 {
		return datagramErr("recv", c.e)
	}
	return checkDatagram(c.n, len(frame))
}

func (c *goDatagram) Close() error {
	closeNotice(c.rc)
	return c.c.Close()
}

// helloPrefix starts the datagram a peer sends to introduce itself; the
// listener's token follows.
const helloPrefix = "ipcbench hello "

// DatagramListener is a Listener over an unconnected datagram socket bound
// to the address the peer dials. Accept waits for the peer's hello, which
// carries a token only the Endpoint holds, and connects the socket to the
// address it came from.
type DatagramListener struct {
	c       deadlineConn
	ep      Endpoint
	token   string
	mode    IOMode
	timeout time.Duration
	cleanup func() error

	once     sync.Once
	closeErr error

	mu       sync.Mutex
	closed   bool
	accepted bool
	shutdown func()
}

// NewDatagramListener returns a Listener over the bound, unconnected socket
// c (a *net.UDPConn or *net.UnixConn), whose address for the peer is addr.
// The Endpoint's Addr is addr and a random token (see SplitDatagramAddr).
// cfg gives the IO mode and the RecvTimeout of the accepted Conn. cleanup,
// if not nil, runs once in Close after the socket is closed (removing a
// directory).
func NewDatagramListener(c net.Conn, addr string, cfg Config, cleanup func() error) (*DatagramListener, error) {
	fail := func(err error) (*DatagramListener, error) {
		c.Close()
		if cleanup != nil {
			cleanup()
		}
		return nil, err
	}
	dc, ok := c.(deadlineConn)
	if !ok {
		return fail(fmt.Errorf("a %T is not a datagram socket", c))
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fail(err)
	}
	token := hex.EncodeToString(b[:])
	return &DatagramListener{
		c: dc, ep: Endpoint{Addr: addr + " " + token}, token: token,
		mode: cfg.IO, timeout: cfg.RecvTimeout, cleanup: cleanup,
	}, nil
}

// SplitDatagramAddr splits a DatagramListener's Endpoint.Addr into the
// address to dial and the token to say hello with.
func SplitDatagramAddr(epAddr string) (addr, token string, err error) {
	i := strings.LastIndexByte(epAddr, ' ')
	if i < 0 {
		return "", "", fmt.Errorf("bad datagram endpoint %q: no token", epAddr)
	}
	return epAddr[:i], epAddr[i+1:], nil
}

// Endpoint is what the peer needs: the address and the token.
func (l *DatagramListener) Endpoint() Endpoint { return l.ep }

// Accept waits until deadline for the peer's hello, connects the socket to
// the peer's address and returns the driver's Conn. Datagrams without the
// token are ignored. It can be called once.
func (l *DatagramListener) Accept(deadline time.Time) (Conn, error) {
	l.mu.Lock()
	if l.closed || l.accepted {
		l.mu.Unlock()
		return nil, errListenerClosed
	}
	l.accepted = true
	l.mu.Unlock()

	wait := max(time.Until(deadline), 0).Round(time.Millisecond)
	rc, err := l.c.SyscallConn()
	if err != nil {
		return nil, err
	}
	if err := l.c.SetReadDeadline(deadline); err != nil {
		return nil, l.acceptErr(err, wait)
	}
	want := []byte(helloPrefix + l.token)
	buf := make([]byte, len(want)+1)
	var from unix.Sockaddr
	for {
		var n int
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			n, from, rerr = unix.Recvfrom(int(fd), buf, 0)
			return rerr != unix.EAGAIN
		})
		if err == nil {
			err = rerr
		}
		if err != nil {
			return nil, l.acceptErr(err, wait)
		}
		if bytes.Equal(buf[:n], want) && from != nil {
			break
		}
	}
	var cerr error
	if err := rc.Control(func(fd uintptr) { cerr = unix.Connect(int(fd), from) }); err == nil {
		err = cerr
	}
	if cerr != nil {
		return nil, fmt.Errorf("cannot connect to the peer's socket: %w", cerr)
	}
	if err := l.c.SetReadDeadline(time.Time{}); err != nil {
		return nil, err
	}
	conn, shutdown, err := datagramConn(l.c, l.mode, l.timeout)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed { // Close ran while Accept was returning
		conn.Close()
		return nil, errListenerClosed
	}
	l.shutdown = shutdown
	return conn, nil
}

func (l *DatagramListener) acceptErr(err error, wait time.Duration) error {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("the peer did not say hello within %v: %w", wait, err)
	case errors.Is(err, net.ErrClosed):
		return errListenerClosed
	}
	return fmt.Errorf("waiting for the peer's hello: %w", err)
}

// Close closes the socket, or shuts it down if Accept made a Conn of it
// (waking a Recv blocked on it; the Conn's Close releases it), and runs
// cleanup. It may be called more than once and from any goroutine.
func (l *DatagramListener) Close() error {
	l.once.Do(func() {
		l.mu.Lock()
		l.closed = true
		shutdown := l.shutdown
		accepted := l.accepted
		l.mu.Unlock()
		switch {
		case shutdown != nil:
			shutdown()
		case !accepted:
			l.closeErr = l.c.Close()
		default:
			// Accept is running: closing wakes it. If it has just made the
			// Conn, the socket is the Conn's, which Accept closes on
			// seeing l.closed.
			l.c.Close()
		}
		if l.cleanup != nil {
			if err := l.cleanup(); l.closeErr == nil {
				l.closeErr = err
			}
		}
	})
	return l.closeErr
}

// JoinDatagram is the peer's side of DatagramListener: c is the peer's
// socket, already connected to the driver's address; JoinDatagram says hello
// with the token and returns the peer's Conn (see DatagramConn).
func JoinDatagram(c net.Conn, token string, cfg Config) (Conn, error) {
	if _, err := c.Write([]byte(helloPrefix + token)); err != nil {
		c.Close()
		return nil, fmt.Errorf("saying hello to the driver: %w", err)
	}
	return DatagramConn(c, cfg.IO, cfg.RecvTimeout)
}
