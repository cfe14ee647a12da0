package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/ipcbench/ipcbench/internal/units"
	"github.com/ipcbench/ipcbench/ipc"
	"golang.org/x/sys/unix"
)

// ServeOptions configures `ipcbench serve`, the peer for cross-host TCP runs.
// Every limit bounds what a client, friend or stranger, can make the server
// spend: memory is at most MaxSessions frames of MaxSize bytes.
type ServeOptions struct {
	Listen           string
	MaxSize          int           // largest message a client may ask for
	MaxSessions      int           // sessions served at once; more are refused
	IdleTimeout      time.Duration // a session silent this long is dropped
	HandshakeTimeout time.Duration // a connection must send its hello this fast
	Version          string        // this ipcbench's version, told to clients
	Log              io.Writer     // one line per session
	// MinSize and Largest bound the sizes of a well-formed hello (the
	// sizes ipcbench measures); MaxSize, below Largest, is this server's.
	MinSize, Largest int
	// Info is what the server tells clients about its machine.
	Info ServerInfo
	// Peer runs the peer's side of one session's cell over conn (raw io,
	// on a locked thread) and returns how many messages it received.
	Peer func(conn ipc.Conn, h Hello) (received int64, err error)
	// Ready, if set, is called once the server listens (tests learn the port).
	Ready func(net.Addr)
	// Listener, if set, is served instead of listening on Listen (tests
	// give one whose Accept fails).
	Listener net.Listener
}

// Serve serves sessions until ctx is cancelled, then closes every session
// and returns nil. Its error is for a server that could not start.
func Serve(ctx context.Context, o ServeOptions) error {
	ln := o.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", o.Listen); err != nil {
			return fmt.Errorf("cannot listen on %s: %w", o.Listen, unwrapOp(err))
		}
	}
	s := &server{o: o, info: o.Info, active: map[*session]bool{}}
	s.logf("listening on %s (protocol %d; messages up to %s, %d sessions at once, idle limit %v)",
		ln.Addr(), ProtocolVersion, units.Size(o.MaxSize), o.MaxSessions, o.IdleTimeout)
	if o.Ready != nil {
		o.Ready(ln.Addr())
	}
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-stopped:
		}
		ln.Close()
		s.closeAll()
	}()
	// On the way out, first close the listener and every session (stopped),
	// then wait for their goroutines: the other order waits for live
	// sessions to end on their own, up to their idle timeout.
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(stopped)
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				wg.Wait()
				s.logf("stopped")
				return nil
			}
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				s.logf("accept: %v; waiting a moment", err)
				time.Sleep(100 * time.Millisecond)
				continue
			}
			return fmt.Errorf("accept: %w", err)
		}
		ss, ok := s.admit(c)
		if !ok {
			s.refuse(c, StatusBusy, fmt.Sprintf("the server is serving %d sessions already (its -max-sessions)", o.MaxSessions))
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.release(ss)
			s.serve(ss)
		}()
	}
}

type server struct {
	o    ServeOptions
	info ServerInfo

	mu     sync.Mutex
	active map[*session]bool
	logMu  sync.Mutex
}

// session is one client connection; shutdown wakes its blocked I/O.
type session struct {
	c        net.Conn
	mu       sync.Mutex
	shutdown func()
}

func (s *server) logf(format string, a ...any) {
	if s.o.Log == nil {
		return
	}
	s.logMu.Lock()
	defer s.logMu.Unlock()
	fmt.Fprintf(s.o.Log, "%s ipcbench serve: %s\n", time.Now().UTC().Format(time.RFC3339), fmt.Sprintf(format, a...))
}

func (s *server) admit(c net.Conn) (*session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.active) >= s.o.MaxSessions {
		return nil, false
	}
	ss := &session{c: c, shutdown: func() { c.Close() }}
	s.active[ss] = true
	return ss, true
}

func (s *server) release(ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.active, ss)
}

func (s *server) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ss := range s.active {
		ss.mu.Lock()
		ss.shutdown()
		ss.mu.Unlock()
	}
}

// refuse answers a connection the server will not serve, and closes it.
func (s *server) refuse(c net.Conn, status uint16, why string) {
	s.logf("%s: refused: %s", c.RemoteAddr(), why)
	c.SetWriteDeadline(time.Now().Add(time.Second))
	c.Write(EncodeReply(status, ReplyBody{Error: why}))
	c.Close()
}

// serve is one session: the handshake, then the peer's side of one cell.
func (s *server) serve(ss *session) {
	c, from := ss.c, ss.c.RemoteAddr()
	c.SetDeadline(time.Now().Add(s.o.HandshakeTimeout))
	buf := make([]byte, HelloSize)
	if _, err := io.ReadFull(c, buf); err != nil {
		s.logf("%s: dropped: no complete hello within %v (%v)", from, s.o.HandshakeTimeout, unwrapOp(err))
		c.Close()
		return
	}
	h, err := DecodeHello(buf, s.o.MinSize, s.o.Largest)
	var ve *VersionError
	switch {
	case errors.As(err, &ve):
		s.refuse(c, StatusVersion, err.Error())
		return
	case err != nil:
		s.refuse(c, StatusBadRequest, err.Error())
		return
	case h.Size > s.o.MaxSize:
		s.refuse(c, StatusTooLarge, fmt.Sprintf("message size %s is above this server's limit of %s (-max-size)", units.Size(h.Size), units.Size(s.o.MaxSize)))
		return
	}
	if _, err := c.Write(EncodeReply(StatusOK, ReplyBody{Server: &s.info})); err != nil {
		s.logf("%s: dropped: cannot answer the hello: %v", from, unwrapOp(err))
		c.Close()
		return
	}
	c.SetDeadline(time.Time{})
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	// The idle limit is the socket's own timeout: a blocking read or write
	// that waits longer fails with EAGAIN, at no cost to the timed loop.
	if err := setIdleTimeout(c, s.o.IdleTimeout); err != nil {
		s.logf("%s: dropped: %v", from, err)
		c.Close()
		return
	}
	ss.mu.Lock()
	conn, shutdown, err := ipc.NetConnShutdown(c, ipc.IORaw)
	if err == nil {
		ss.shutdown = shutdown
	}
	ss.mu.Unlock()
	if err != nil {
		s.logf("%s: dropped: %v", from, err)
		return
	}
	defer conn.Close()

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := time.Now()
	received, err := s.o.Peer(conn, h)
	took := time.Since(start).Round(time.Millisecond)
	switch {
	case err == nil:
		s.logf("%s: %s %s: %d messages in %v, ok", from, h.Workload, units.Size(h.Size), received, took)
	case errors.Is(err, unix.EAGAIN):
		s.logf("%s: %s %s: dropped after %d messages: idle for %v", from, h.Workload, units.Size(h.Size), received, s.o.IdleTimeout)
	default:
		s.logf("%s: %s %s: ended after %d messages: %v", from, h.Workload, units.Size(h.Size), received, err)
	}
}

// setIdleTimeout sets SO_RCVTIMEO and SO_SNDTIMEO on a TCP connection.
func setIdleTimeout(c net.Conn, d time.Duration) error {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return fmt.Errorf("a %T has no socket options", c)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	tv := unix.NsecToTimeval(d.Nanoseconds())
	var serr error
	err = rc.Control(func(fd uintptr) {
		if serr = unix.SetsockoptTimeval(int(fd), unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); serr == nil {
			serr = unix.SetsockoptTimeval(int(fd), unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
		}
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("cannot set the idle limit: %w", err)
	}
	return nil
}

// unwrapOp drops the net package's "read tcp a->b:" prefix from an error.
func unwrapOp(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err
	}
	return err
}
