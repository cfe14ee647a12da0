package ipc

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// This file is the part of a stream-socket Transport that does not depend on
// the address family: accepting with a deadline, turning a connected socket
// into a Conn for the cell's IO mode, and a Listener that cleans up after
// itself. The stream-socket mechanisms are thin layers over it.

// NetConn returns a Conn over a connected stream socket, which it owns from
// then on (also when it fails).
//
// With IOGo the net.Conn is used as it is, through the runtime poller. With
// IORaw the socket is taken out of the poller: File() duplicates the
// descriptor (which the poller watches again, as it does every non-blocking
// descriptor an os.File gets), the net.Conn is closed, and NewStreamConn
// puts the socket into blocking mode for plain read(2)/write(2) and takes
// the duplicate out of the poller too (see detach).
func NetConn(c net.Conn, mode IOMode) (Conn, error) {
	conn, _, err := NetConnShutdown(c, mode)
	return conn, err
}

// NetConnShutdown is NetConn that also returns a function that shuts the socket
// down in both directions, which wakes a Send or Recv blocked on it in
// another thread (close(2) would not). The function is safe to call after
// the Conn is closed: it then does nothing.
func NetConnShutdown(c net.Conn, mode IOMode) (Conn, func(), error) {
	switch mode {
	case IOGo:
		return newReadWriterConn(c, c), shutdownFunc(c), nil
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
		conn := NewStreamConn(f, f, IORaw).(*rawStream)
		return conn, shutdownFunc(conn.r), nil
	}
	c.Close()
	return nil, nil, fmt.Errorf("unknown io mode %q", mode)
}

// shutdownFunc returns a function that shuts down the socket behind c (a
// net.Conn or os.File). RawConn.Control holds a reference to the descriptor
// while it runs and fails once the descriptor is closed, so the call can
// never reach another file that reused its number.
func shutdownFunc(c any) func() {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return func() {}
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return func() {}
	}
	return func() {
		rc.Control(func(fd uintptr) { unix.Shutdown(int(fd), unix.SHUT_RDWR) })
	}
}

// deadlineListener is what net.UnixListener and net.TCPListener have in common.
type deadlineListener interface {
	net.Listener
	SetDeadline(t time.Time) error
}

// netListener is a Listener over a listening stream socket.
type netListener struct {
	ln      deadlineListener
	ep      Endpoint
	mode    IOMode
	wrap    func(net.Conn, IOMode) (Conn, func(), error)
	cleanup func() error

	once     sync.Once
	closeErr error

	mu       sync.Mutex
	closed   bool
	accepted []acceptedSocket // the sockets Accept returned that may still be open
	pruneAt  int              // when accepted has grown to this, forget the closed ones
}

// acceptedSocket is a socket Accept returned: how to shut it down (Close
// does, to wake a Conn blocked on it) and whether it is still open. A cell
// of workload connect accepts thousands of sockets a second and closes each
// at once, so the closed ones are forgotten as they pile up.
type acceptedSocket struct {
	shutdown func()
	open     func() bool
}

// NewNetListener returns a Listener over ln, which must have a SetDeadline
// method (net.UnixListener and net.TCPListener do). Endpoint returns ep.
// wrap makes a Conn of every accepted socket for mode, with a function that
// shuts the socket down; nil is NetConnShutdown, a byte stream. A mechanism
// wraps to set socket options first, or for a socket that keeps record
// boundaries. cleanup, if not nil, runs once in Close after ln is closed, to
// remove anything else Listen made (a directory).
//
// The Listener owns ln and closes it in Close, and Close also shuts down the
// sockets it accepted, waking a Conn blocked on one: Close ends the cell.
func NewNetListener(ln net.Listener, ep Endpoint, mode IOMode, wrap func(net.Conn, IOMode) (Conn, func(), error), cleanup func() error) (Listener, error) {
	dl, ok := ln.(deadlineListener)
	if !ok {
		ln.Close()
		if cleanup != nil {
			cleanup()
		}
		return nil, fmt.Errorf("a %T has no accept deadline", ln)
	}
	if wrap == nil {
		wrap = NetConnShutdown
	}
	return &netListener{ln: dl, ep: ep, mode: mode, wrap: wrap, cleanup: cleanup}, nil
}

// Endpoint is what the peer needs to dial.
func (l *netListener) Endpoint() Endpoint { return l.ep }

// Accept waits for the peer to connect until deadline. A deadline that has
// passed fails at once unless the peer is already waiting to be accepted.
func (l *netListener) Accept(deadline time.Time) (Conn, error) {
	wait := max(time.Until(deadline), 0).Round(time.Millisecond)
	if err := l.ln.SetDeadline(deadline); err != nil {
		return nil, l.acceptErr(err, wait)
	}
	c, err := l.ln.Accept()
	if err != nil {
		return nil, l.acceptErr(err, wait)
	}
	conn, shutdown, err := l.wrap(c, l.mode)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed { // Close ran while Accept was returning
		conn.Close()
		return nil, errListenerClosed
	}
	if len(l.accepted) >= l.pruneAt {
		open := l.accepted[:0]
		for _, a := range l.accepted {
			if a.open() {
				open = append(open, a)
			}
		}
		clear(l.accepted[len(open):])
		l.accepted = open
		l.pruneAt = max(2*len(open), 64) // amortised: a closed socket is looked at about twice
	}
	l.accepted = append(l.accepted, acceptedSocket{shutdown: shutdown, open: openFunc(conn)})
	return conn, nil
}

// openFunc returns a function that reports whether the socket behind a
// Conn NetConnShutdown made is still open: RawConn.Control fails once its
// descriptor is closed. A Conn it cannot ask counts as open.
func openFunc(c Conn) func() bool {
	var f any
	switch c := c.(type) {
	case *rawStream:
		f = c.r
	case *goStream:
		f = c.closer
	}
	sc, ok := f.(syscall.Conn)
	if !ok {
		return func() bool { return true }
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return func() bool { return false }
	}
	return func() bool { return rc.Control(func(uintptr) {}) == nil }
}

var errListenerClosed = errors.New("the listener was closed while waiting for the peer to connect")

func (l *netListener) acceptErr(err error, wait time.Duration) error {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("the peer did not connect within %v: %w", wait, err)
	case errors.Is(err, net.ErrClosed):
		return errListenerClosed
	}
	return fmt.Errorf("accept: %w", err)
}

// Close closes the listening socket, shuts down the accepted ones and runs
// cleanup. It may be called more than once and from any goroutine; every
// call returns the first call's result.
func (l *netListener) Close() error {
	l.once.Do(func() {
		l.mu.Lock()
		l.closed = true
		accepted := l.accepted
		l.accepted = nil
		l.mu.Unlock()

		l.closeErr = l.ln.Close()
		for _, a := range accepted {
			a.shutdown()
		}
		if l.cleanup != nil {
			if err := l.cleanup(); l.closeErr == nil {
				l.closeErr = err
			}
		}
	})
	return l.closeErr
}
