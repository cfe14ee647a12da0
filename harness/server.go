package harness

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipcbench/ipcbench/internal/host"
	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/results"
)

// The server and connect workloads: N client processes, ONE server process.
//
// The server is this process (the driver): it Listens as for pingpong and
// serves every client from one place, in the form the mechanism says it has
// (Caps.Server). Each client is a peer process that Dials, runs the
// pingpong loop (server) or one connection after another (connect), times
// its own requests, and sends its histogram in its final report. A client
// that dies fails the cell with a sentence; the run goes on.

// MaxClients bounds -clients: every client is a process.
const MaxClients = 1024

// isServerWorkload says whether the workload has clients and one server.
func isServerWorkload(w string) bool { return w == results.Server || w == results.Connect }

// serverClient is one client process and the server's end of its channel.
type serverClient struct {
	i        int
	proc     *peerProc
	l        ipc.Listener // its own channel (ipc.ServerChannels), else nil
	conn     ipc.Conn     // the server's end (server workload, unless shared)
	progress atomic.Int64

	// st is the server's view of this client's messages: the peer's own
	// bookkeeping (sequence, counts, loss), without its loop (see take).
	st      *peer
	pending int64 // a one-way delay to record
}

// serverCell is one server or connect cell while it runs.
type serverCell struct {
	o       *Options
	c       cell
	cfg     ipc.Config
	caps    ipc.Caps // the transport's, server fields included
	h       int      // its headroom: a frame's message is frame[h:]
	piece   int      // the pieces a message is split into, 0: whole
	form    ipc.ServerForm
	n       int
	clients []*serverClient
	ln      ipc.Listener       // the one Listener (ipc.ServerAccept, connect)
	shared  ipc.SharedListener // ipc.ServerShared
	how     string             // how the server served them, for the note

	mu      sync.Mutex
	why     error // why the cell was stopped; nil while it runs
	closers []interface{ Close() error }
}

// runServerCell measures one server or connect cell and returns its row;
// everything it created is gone when it returns.
func (o *Options) runServerCell(ctx context.Context, c cell) results.Result {
	res := results.Result{Mechanism: c.t.Name(), Workload: c.workload, SizeBytes: c.size, Round: c.round, Clients: c.clients, PayloadOffset: c.offset}
	cfg := ipc.Config{Size: c.size, Offset: c.offset, IO: o.IO, Timeout: o.Timeout}
	tc := c.t.Caps(cfg)
	res.Pieces, res.Note = describe(tc, cfg)
	if tc.Err != nil {
		res.Error = tc.Err.Error()
		return res
	}
	if tc.Lossy {
		cfg.RecvTimeout = LossyRecvTimeout(c.size) // both sides: a lost message is not waited for
	}
	s := &serverCell{o: o, c: c, cfg: cfg, caps: tc, h: tc.Headroom, piece: piece(tc, cfg), n: max(c.clients, 1)}
	if why := s.skipped(); why != "" {
		res.Skipped = why
		return res
	}
	s.form = s.caps.Server
	if c.workload == results.Connect {
		s.form = ipc.ServerAccept
	}
	defer context.AfterFunc(ctx, func() { s.stop(errInterrupted) })()
	err := s.limits()
	if err == nil {
		err = s.start()
	}
	if err == nil {
		err = s.serve(ctx)
	}
	if err == nil {
		err = s.collect(&res)
	}
	s.close()
	if err != nil {
		if why := s.reason(); why != nil {
			err = why
		}
		res.Error = err.Error()
		s.awaitSharedInterrupt(ctx)
	}
	res.Note = joinNotes(res.Note, s.note())
	return res
}

// skipped says why the cell does not apply to the mechanism, or "".
func (s *serverCell) skipped() string {
	name := s.c.t.Name()
	switch s.c.workload {
	case results.Connect:
		if s.caps.Connector == nil {
			if s.caps.NoConnect != "" {
				return s.caps.NoConnect
			}
			return name + " has no connections to make"
		}
	case results.Server:
		if s.caps.NoServer != "" {
			return s.caps.NoServer
		}

		if s.caps.Server == ipc.ServerShared && s.caps.ListenShared == nil {
			return name + " says it has a shared server form but cannot make one"
		}
	}
	return ""
}

// limits refuses, before anything starts, a cell that would run into a
// limit of this machine, naming the limit in one sentence.
func (s *serverCell) limits() error {
	n := s.n
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil {
		// Per client the server holds its control pipes (2) and its end of
		// the channel (a socket: 1, two pipes: 2), and the client's ends of
		// a pipe pair until the client has started; then the epoll
		// instance and what the process holds anyway.
		need := uint64(4*n + 64)
		if need > rl.Cur {
			return &ipc.LimitError{Limit: "ulimit -n", Value: int64(rl.Cur),
				What: fmt.Sprintf("%d clients need about %d open files in the server process: raise ulimit -n or use fewer -clients", n, need)}
		}
	}
	if os.Geteuid() != 0 && unix.Getrlimit(unix.RLIMIT_NPROC, &rl) == nil && rl.Cur != unix.RLIM_INFINITY {
		// A Go client process runs a handful of threads; ulimit -u counts
		// every thread of the user.
		if need := uint64(10 * n); need > rl.Cur {
			return &ipc.LimitError{Limit: "ulimit -u", Value: int64(rl.Cur),
				What: fmt.Sprintf("%d client processes need about %d threads: raise ulimit -u or use fewer -clients", n, need)}
		}
	}
	if per := s.caps.PortsPerClient; per > 0 {
		if lo, hi, ok := portRange(); ok && per*n > hi-lo+1 {
			return &ipc.LimitError{Limit: "net.ipv4.ip_local_port_range", Value: int64(hi - lo + 1),
				What: fmt.Sprintf("%d clients need %d ephemeral ports, more than the %d-%d range holds", n, per*n, lo, hi)}
		}
	}
	return nil
}

// portRange reads net.ipv4.ip_local_port_range.
func portRange() (lo, hi int, ok bool) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, 0, false
	}
	_, err = fmt.Sscan(string(b), &lo, &hi)
	return lo, hi, err == nil && hi >= lo
}

// own puts something the cell created under its guard, and closes it at
// once if the cell has been stopped already.
func (s *serverCell) own(c interface{ Close() error }) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closers = append(s.closers, c)
	if s.why != nil {
		c.Close()
	}
}

// setProc records a client's process, and kills it at once if the cell has
// been stopped already.
func (s *serverCell) setProc(cl *serverClient, p *peerProc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cl.proc = p
	if s.why != nil {
		p.cmd.Process.Kill()
	}
}

// stop ends the cell for the reason why, unless it was stopped already: it
// kills every client and closes every channel, which wakes every wait of
// the server (a socket or pipe whose other end is gone, a removed queue).
func (s *serverCell) stop(why error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.why != nil {
		return s.why
	}
	s.why = why
	for _, cl := range s.clients {
		if cl.proc != nil {
			cl.proc.cmd.Process.Kill()
		}
	}
	for _, c := range s.closers {
		c.Close()
	}
	return why
}

func (s *serverCell) reason() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.why
}

// close removes everything the cell created and reaps the clients. The
// server's loops have returned by now, so closing Conns is safe.
func (s *serverCell) close() {
	for _, cl := range s.clients {
		if cl.conn != nil {
			cl.conn.Close()
		}
	}
	s.mu.Lock()
	closers := s.closers
	s.mu.Unlock()
	for _, c := range closers {
		c.Close()
	}
	for _, cl := range s.clients {
		if cl.proc != nil {
			cl.proc.kill()
		}
	}
}

// clientErr names the client an error is about.
func (s *serverCell) clientErr(i int, err error) error {
	return fmt.Errorf("client %d of %d: %w", i+1, s.n, err)
}

// start creates the channels, starts every client and connects them.
func (s *serverCell) start() error {
	t, cfg := s.c.t, s.cfg
	switch s.form {
	case ipc.ServerShared:
		sl, err := s.caps.ListenShared(cfg, s.n)
		if err != nil {
			return explainLimit(err)
		}
		s.shared = sl
		s.own(sl)
	case ipc.ServerAccept:
		l, err := t.Listen(cfg)
		if err != nil {
			return explainLimit(err)
		}
		s.ln = l
		s.own(l)
	}
	var shared []*os.File // the one Endpoint's descriptors (ipc.ServerAccept)
	defer func() {
		for _, f := range shared {
			f.Close()
		}
	}()
	for i := 0; i < s.n; i++ {
		if why := s.reason(); why != nil {
			return why
		}
		cl := &serverClient{i: i}
		s.mu.Lock()
		s.clients = append(s.clients, cl)
		s.mu.Unlock()
		var ep ipc.Endpoint
		switch s.form {
		case ipc.ServerShared:
			ep = s.shared.Endpoint(i)
		case ipc.ServerAccept:
			ep = s.ln.Endpoint()
			shared = ep.Files
		default:
			l, err := t.Listen(cfg)
			if err != nil {
				return s.clientErr(i, explainLimit(err))
			}
			cl.l = l
			s.own(l)
			ep = l.Endpoint()
		}
		spec := peerSpec{
			Mechanism: t.Name(), Workload: s.c.workload, Size: s.c.size, IO: s.o.IO,
			TimeoutNS: int64(s.o.Timeout), Addr: ep.Addr, NFiles: len(ep.Files),
			CPU: -1, Verify: s.o.Verify, Offset: s.cfg.Offset, Piece: s.piece,
			Role: roleClient, Client: i, Clients: s.n, RecvTimeoutNS: int64(s.cfg.RecvTimeout),
			Count: s.o.Count, DurationNS: int64(s.o.Duration), WarmupNS: int64(s.o.Warmup),
		}
		if len(s.o.CPUs) == 2 {
			spec.CPU = s.o.CPUs[1]
		}
		proc, err := startPeer(spec, ep.Files)
		if s.form != ipc.ServerAccept {
			for _, f := range ep.Files {
				f.Close() // the client has its own copies
			}
		}
		if err != nil {
			return s.clientErr(i, explainLimit(err))
		}
		s.setProc(cl, proc)
	}
	for _, cl := range s.clients {
		if _, err := cl.proc.awaitReady(s.o.Timeout); err != nil {
			return s.clientErr(cl.i, err)
		}
	}
	if s.c.workload == results.Connect {
		return nil // each transaction is accepted as it comes
	}
	// The server's end of each client's channel. With one listening
	// socket the connections arrive in whatever order the clients made
	// them: connection i is not necessarily client i's.
	for _, cl := range s.clients {
		switch s.form {
		case ipc.ServerShared:
		case ipc.ServerAccept:
			conn, err := s.ln.Accept(time.Now().Add(s.o.Timeout))
			if err != nil {
				return fmt.Errorf("%s: connection %d of %d: the clients started but did not connect: %w", t.Name(), cl.i+1, s.n, err)
			}
			cl.conn = splitFor(conn, s.caps, s.piece)
		default:
			conn, err := cl.l.Accept(time.Now().Add(s.o.Timeout))
			if err != nil {
				return s.clientErr(cl.i, fmt.Errorf("%s: the client started but its channel did not connect: %w", t.Name(), err))
			}
			cl.conn = splitFor(conn, s.caps, s.piece)
		}
	}
	for _, cl := range s.clients {
		cl.st = newPeer(cl.conn, s.h, s.c.size, s.cfg.Offset, true, s.o.Verify)
		cl.st.lossy = s.caps.Lossy
	}
	return nil
}

// serve tells every client to start, serves them all until each has ended
// its part, and watches them: a client that dies, a server that makes no
// progress for -timeout, or an interrupt ends the cell.
func (s *serverCell) serve(ctx context.Context) error {
	if s.o.IO == ipc.IORaw {
		// The server's Send and Recv skip the runtime's syscall bookkeeping
		// until the loop has returned, as every path below waits for it to
		// (see ipc.Unmanaged): a thread per client at most, and the loop's.
		defer ipc.Unmanaged(s.n + 1)()
	}
	for _, cl := range s.clients {
		if _, err := cl.proc.ctrlOut.Write([]byte{'g'}); err != nil {
			return s.clientErr(cl.i, cl.proc.deathError())
		}
	}
	served := make(chan error, 1)
	go func() { served <- s.loop() }()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last int64 = -1
	lastChange := time.Now()
	for {
		select {
		case err := <-served:
			if err == nil {
				return nil
			}
			if why := s.reason(); why != nil {
				return why
			}
			// A client that died explains a broken channel better than
			// the channel's own error does.
			for _, cl := range s.clients {
				if cl.proc.wait(time.Second) && cl.proc.waitErr != nil {
					return s.clientErr(cl.i, cl.proc.deathError())
				}
			}
			return err
		case <-ctx.Done():
			s.stop(errInterrupted)
			<-served
			return errInterrupted
		case <-tick.C:
		}
		var sum int64
		for _, cl := range s.clients {
			sum += cl.progress.Load()
			if cl.proc.hasExited() && cl.proc.waitErr != nil {
				err := s.stop(s.clientErr(cl.i, cl.proc.deathError()))
				<-served
				return err
			}
		}
		if sum != last {
			last, lastChange = sum, time.Now()
		} else if time.Since(lastChange) > s.o.Timeout {
			err := s.stop(fmt.Errorf("the server made no progress for %v (-timeout)%s", s.o.Timeout, s.clientsSaid()))
			<-served
			return err
		}
	}
}

// clientsSaid is what the first client that wrote on stderr said.
func (s *serverCell) clientsSaid() string {
	for _, cl := range s.clients {
		if said := cl.proc.stderrSuffix(); said != "" {
			return fmt.Sprintf(" (client %d%s)", cl.i+1, said)
		}
	}
	return ""
}

// loop is the server: it picks the form of serving that fits the
// mechanism, the workload and the IO mode, and says which in s.how.
func (s *serverCell) loop() error {
	if s.c.workload == results.Connect {
		if s.o.IO == ipc.IOGo {
			s.how = "server: accepts each connection and echoes on a goroutine of its own (runtime poller); connect_ns is the whole net.Dial"
			return s.connectConcurrent()
		}
		s.how = "server: one thread accepts, echoes and closes one connection at a time; connect_ns is connect(2) alone"
		return s.connectIterative()
	}
	if s.form == ipc.ServerShared {
		s.how = "server: one shared channel, one thread"
		if s.caps.ServerNote != "" {
			s.how = "server: " + s.caps.ServerNote + ", one thread"
		}
		if s.o.IO == ipc.IOGo {
			s.how += " in both io modes (no poller path)"
		}
		return s.serveShared()
	}
	what := "one channel per client"
	if s.form == ipc.ServerAccept {
		what = "one listener, a connection per client"
	}
	if s.caps.ServerNote != "" {
		what = s.caps.ServerNote
	}
	if s.o.IO == ipc.IOGo {
		s.how = "server: " + what + ", a goroutine per client (runtime poller)"
		return s.serveThreads(false)
	}
	pollable := true
	for _, cl := range s.clients {
		if _, ok := ipc.RecvFD(cl.conn); !ok {
			pollable = false
		}
	}
	if pollable {
		s.how = "server: " + what + ", all served by one thread with epoll"
		return s.serveEpoll()
	}
	s.how = "server: " + what + ", a thread per client (no descriptor to poll)"
	return s.serveThreads(true)
}

// note is what the row says about how the cell ran.
func (s *serverCell) note() string {
	var notes []string
	if s.how != "" {
		notes = append(notes, s.how)
	}
	if len(s.o.CPUs) == 2 {
		notes = append(notes, fmt.Sprintf("server on CPU %d, every client on CPU %d", s.o.CPUs[0], s.o.CPUs[1]))
	}
	return strings.Join(notes, "; ")
}

// lockServerThread locks the calling goroutine to its thread and pins it
// as -cpus asks (with IOGo, Run has pinned the whole process). The returned
// function undoes both; a locked goroutine must unlock before it returns,
// or its thread exits and takes with it the clients started from it.
func (s *serverCell) lockServerThread() (func(), error) {
	runtime.LockOSThread()
	restore := func() {}
	if len(s.o.CPUs) == 2 && s.o.IO == ipc.IORaw {
		r, err := host.PinThread(s.o.CPUs[0])
		if err != nil {
			runtime.UnlockOSThread()
			return nil, err
		}
		restore = r
	}
	return func() {
		restore()
		runtime.UnlockOSThread()
	}, nil
}

// handle serves one message of a client: receive it, check it, answer.
// end says the client has just ended its part; done, that it needs the
// server no more (at once after its end, or over a lossy channel once it
// has been quiet for a while after it, in case the answer was lost).
func (s *serverCell) handle(cl *serverClient) (end, done bool, err error) {
	st := cl.st
	if err := cl.conn.Recv(st.frame); err != nil {
		done, err := st.recvFailed(err)
		return false, done, err
	}
	st.quiet = 0
	reply, end, err := cl.take(st.frame[s.h:])
	if err != nil {
		return false, false, err
	}
	if reply {
		if err := cl.conn.Send(st.frame); err != nil {
			return false, false, err
		}
	}
	cl.recordOneWay(end)
	return end, end && !st.lossy, nil
}

// connErr names the connection an error is about. With one listening
// socket, connection i need not be client i's (see start).
func (s *serverCell) connErr(cl *serverClient, err error) error {
	if s.form == ipc.ServerAccept {
		return fmt.Errorf("connection %d of %d: %w", cl.i+1, s.n, err)
	}
	return s.clientErr(cl.i, err)
}

// serveEpoll serves every client from one thread that waits on all their
// descriptors with epoll.
func (s *serverCell) serveEpoll() error {
	unlock, err := s.lockServerThread()
	if err != nil {
		return err
	}
	defer unlock()
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("epoll_create1: %w", err)
	}
	defer unix.Close(ep)
	for i, cl := range s.clients {
		fd, _ := ipc.RecvFD(cl.conn)
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(i)}
		if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			return s.connErr(cl, fmt.Errorf("epoll_ctl: %w", err))
		}
	}
	events := make([]unix.EpollEvent, min(s.n, 256))
	// Over a lossy channel the server stays, once every client has ended,
	// until none has asked again for lingerTimeouts receive deadlines.
	linger := int(max(s.cfg.RecvTimeout/time.Millisecond, 1))
	for left, quiet := s.n, 0; left > 0 || (s.caps.Lossy && quiet < lingerTimeouts); {
		wait := -1
		if left == 0 {
			wait = linger
		}
		k, err := unix.EpollWait(ep, events, wait)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return fmt.Errorf("epoll_wait: %w", err)
		}
		if k == 0 {
			quiet++
			continue
		}
		quiet = 0
		for _, ev := range events[:k] {
			cl := s.clients[ev.Fd]
			end, done, err := s.handle(cl)
			if err != nil {
				return s.connErr(cl, err)
			}
			if end {
				left--
			}
			if done {
				fd, _ := ipc.RecvFD(cl.conn)
				unix.EpollCtl(ep, unix.EPOLL_CTL_DEL, fd, nil)
			}
		}
	}
	return nil
}

// serveThreads serves each client on a goroutine of its own, locked to a
// thread of its own in raw mode. The first failure stops the cell, which
// wakes the others.
func (s *serverCell) serveThreads(lock bool) error {
	var wg sync.WaitGroup
	errs := make([]error, s.n)
	for i, cl := range s.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if lock {
				unlock, err := s.lockServerThread()
				if err != nil {
					errs[i] = err
					s.stop(err)
					return
				}
				defer unlock()
			}
			for {
				_, done, err := s.handle(cl)
				if err != nil {
					errs[i] = s.connErr(cl, err)
					s.stop(errs[i])
					return
				}
				if done {
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(firstErr(errs))
}

func firstErr(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// serveShared serves every client through the one shared channel from one
// thread: the next request from anyone, answered to its sender alone.
func (s *serverCell) serveShared() error {
	unlock, err := s.lockServerThread()
	if err != nil {
		return err
	}
	defer unlock()
	frame := ipc.NewFrame(s.h, s.c.size, s.cfg.Offset)
	msg := frame[s.h:]
	for left := s.n; left > 0; {
		i, err := s.shared.Recv(frame)
		if err != nil {
			return err
		}
		if i < 0 || i >= s.n {
			return fmt.Errorf("the shared channel delivered a request from client %d, but there are %d", i+1, s.n)
		}
		cl := s.clients[i]
		reply, end, err := cl.take(msg)
		if err != nil {
			return s.clientErr(i, err)
		}
		if reply {
			if err := s.shared.Send(i, frame); err != nil {
				return s.clientErr(i, err)
			}
		}
		cl.recordOneWay(end)
		if end {
			left--
		}
	}
	return nil
}

// connectIterative is the connect server of raw mode: one thread accepts a
// connection, receives one message, echoes it and closes, then the next.
func (s *serverCell) connectIterative() error {
	unlock, err := s.lockServerThread()
	if err != nil {
		return err
	}
	defer unlock()
	frame := ipc.NewFrame(s.h, s.c.size, s.cfg.Offset)
	var done atomic.Int64
	for ended := 0; ended < s.n; {
		end, err := s.transaction(frame, &done)
		if err != nil {
			return err
		}
		if end {
			ended++
		}
	}
	return nil
}

// connectConcurrent is the connect server of go mode, as a Go server is
// written: an accept loop and a goroutine per connection.
func (s *serverCell) connectConcurrent() error {
	var wg sync.WaitGroup
	var ended, done atomic.Int64
	var firstErr atomic.Pointer[error]
	allEnded := make(chan struct{})
	defer wg.Wait()
	for {
		conn, err := s.ln.Accept(time.Now().Add(s.o.Timeout))
		if err != nil {
			select {
			case <-allEnded:
				return nil
			default:
			}
			if p := firstErr.Load(); p != nil {
				return *p
			}
			return fmt.Errorf("accepting a connection: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			frame := ipc.NewFrame(s.h, s.c.size, s.cfg.Offset)
			end, err := s.echoOnce(conn, frame, &done)
			if err != nil {
				firstErr.CompareAndSwap(nil, &err)
				s.stop(err)
				return
			}
			if end && ended.Add(1) == int64(s.n) {
				close(allEnded)
				s.ln.Close() // wakes the accept loop: the clients are done
			}
		}()
	}
}

// transaction accepts one connection and serves it.
func (s *serverCell) transaction(frame []byte, done *atomic.Int64) (bool, error) {
	conn, err := s.ln.Accept(time.Now().Add(s.o.Timeout))
	if err != nil {
		return false, fmt.Errorf("accepting a connection: %w", err)
	}
	return s.echoOnce(conn, frame, done)
}

// echoOnce receives one message on a new connection, echoes it (or
// acknowledges a client's end) and closes the connection.
func (s *serverCell) echoOnce(conn ipc.Conn, frame []byte, done *atomic.Int64) (bool, error) {
	defer conn.Close()
	conn = split(conn, s.h, s.piece)
	msg := frame[s.h:]
	if err := conn.Recv(frame); err != nil {
		return false, fmt.Errorf("receiving on an accepted connection: %w", err)
	}
	seq, flags, _ := header(msg)
	end := flags&flagEnd != 0
	if end {
		putHeader(msg, seq, flagAck, 0)
	} else if s.o.Verify {
		if err := checkPayload(msg, seq); err != nil {
			return false, err
		}
	}
	if err := conn.Send(frame); err != nil {
		return false, fmt.Errorf("echoing on an accepted connection: %w", err)
	}
	n := done.Add(1)
	s.clients[int(n)%s.n].progress.Store(n) // any client's counter: only the sum counts
	return end, nil
}

// collect reads every client's final report and fills in the row.
func (s *serverCell) collect(res *results.Result) error {
	rtt, conn, oneWay := NewRecorder(), NewRecorder(), NewRecorder()
	counts := make([]float64, 0, s.n)
	for _, cl := range s.clients {
		rep, err := cl.proc.report("send its final report", s.o.Timeout)
		if err != nil {
			return s.clientErr(cl.i, err)
		}
		if !rep.Done || rep.RTT == nil {
			return s.clientErr(cl.i, fmt.Errorf("sent %+v instead of its final report", rep))
		}
		if !cl.proc.wait(s.o.Timeout) {
			return s.clientErr(cl.i, fmt.Errorf("did not exit within %v (-timeout) after its final report", s.o.Timeout))
		}
		if cl.proc.waitErr != nil {
			return s.clientErr(cl.i, cl.proc.deathError())
		}
		rtt.Merge(rep.RTT)
		if rep.Connect != nil {
			conn.Merge(rep.Connect)
		}
		if cl.st != nil {
			oneWay.Merge(cl.st.oneWay)
		}
		res.Messages += rep.Received
		res.ElapsedNS = max(res.ElapsedNS, rep.ElapsedNS)
		if rep.ElapsedNS > 0 {
			// Only answered requests count (all of them but over a lossy
			// mechanism).
			res.MsgsPerS += float64(rep.Received-rep.Lost) / (float64(rep.ElapsedNS) / 1e9)
		}
		if s.caps.Lossy {
			if res.Lost == nil {
				res.Lost, res.Reordered = new(int64), new(int64)
			}
			*res.Lost += rep.Lost
			*res.Reordered += rep.Reordered
		}
		counts = append(counts, float64(rep.Received-rep.Lost))
	}
	res.BytesPerS = res.MsgsPerS * float64(s.c.size)
	res.RTT = rtt.Stats()
	if h, err := rtt.Encode(); err == nil && res.RTT != nil {
		res.RTTHistogram = h
	}
	switch s.c.workload {
	case results.Server:
		res.Fairness = Jain(counts)
		res.OneWay = oneWay.Stats()
	case results.Connect:
		res.ConnectionsPerS = res.MsgsPerS
		res.Connect = conn.Stats()
	}
	return nil
}

// Jain is Jain's fairness index of x, (sum x)^2 / (n sum x^2): 1 when every
// value is the same, 1/n when one holds everything. It is 0 for no values
// or all zero.
func Jain(x []float64) float64 {
	var sum, squares float64
	for _, v := range x {
		sum += v
		squares += v * v
	}
	if len(x) == 0 || squares == 0 {
		return 0
	}
	j := sum * sum / (float64(len(x)) * squares)
	return math.Min(j, 1) // rounding must not push it past 1
}

// awaitSharedInterrupt: see the function of that name for pairs in cell.go.
func (s *serverCell) awaitSharedInterrupt(ctx context.Context) {
	for _, cl := range s.clients {
		if cl.proc == nil || !cl.proc.hasExited() {
			continue
		}
		switch cl.proc.killedBy() {
		case syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT:
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			return
		}
	}
}

func joinNotes(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// take is what the server does with one message of a client, msg, already
// received: check its sequence number (and payload when verifying) with
// the peer's own bookkeeping (over a lossy channel a gap is skipped and a
// late message counted), and turn it into the reply in place. reply says
// whether to send msg back; end, that the client has just ended its part
// (a lossy client may ask again: answered, not counted twice). The one-way
// delay of a stamped message is kept for recordOneWay, called once the
// reply is sent, so that recording stays off the round trip's critical
// path. (The server's side of what peer.serve does for one driver.)
func (cl *serverClient) take(msg []byte) (reply, end bool, err error) {
	st := cl.st
	seq, flags, stamp := header(msg)
	if stamp != 0 {
		cl.pending = Now() - stamp
	}
	if err := st.checkSeq(seq, flags); err != nil {
		return false, false, err
	}
	switch {
	case flags&flagEnd != 0:
		putHeader(msg, seq, flagAck, st.counts())
		first := !st.ending
		st.ending = true
		return true, first, nil
	case flags&flagCtl != 0: // a lossy client asks again for an acknowledgement
		putHeader(msg, seq, flagAck, st.counts())
		return true, false, nil
	}
	st.received++
	if st.verify {
		if err := checkPayload(msg, seq); err != nil {
			return false, false, err
		}
	}
	if flags&flagAck != 0 {
		putHeader(msg, seq, flagAck, st.counts())
	}
	return true, false, nil
}

// recordOneWay records the one-way delay take kept, if any, and publishes
// the client's progress for the watchdog now and then.
func (cl *serverClient) recordOneWay(end bool) {
	if cl.pending != 0 {
		cl.st.oneWay.Record(cl.pending)
		cl.pending = 0
	}
	if cl.st.received&15 == 0 || end {
		cl.progress.Store(cl.st.received + 1)
	}
}
