package harness

import (
	"bytes"
	"context"
	"errors"

	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/internal/remote"
	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/results"
)

// syncBuffer is a log the server writes from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls until the log contains want; the wait is generous because
// this checks behaviour, not speed.
func (s *syncBuffer) waitFor(t *testing.T, want string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(s.String(), want) {
			return
		}
	}
	t.Fatalf("the server log never said %q:\n%s", want, s.String())
}

// startServer runs Serve on a loopback port until the test ends.
func startServer(t *testing.T, o remote.ServeOptions) (addr string, log *syncBuffer) {
	t.Helper()
	log = &syncBuffer{}
	o.Listen, o.Log, o.Version = "127.0.0.1:0", log, "test"
	if o.MaxSize == 0 {
		o.MaxSize = 1 << 20
	}
	if o.MaxSessions == 0 {
		o.MaxSessions = 8
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = 30 * time.Second
	}
	if o.HandshakeTimeout == 0 {
		o.HandshakeTimeout = 5 * time.Second
	}
	ready := make(chan net.Addr, 1)
	o.Ready = func(a net.Addr) { ready <- a }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, o) }()
	select {
	case a := <-ready:
		addr = a.String()
	case err := <-done:
		t.Fatalf("Serve: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve returned %v after being stopped", err)
		}
		if !strings.Contains(log.String(), "stopped") {
			t.Errorf("the server did not say it stopped:\n%s", log.String())
		}
	})
	return addr, log
}

func TestServeProbe(t *testing.T) {
	addr, log := startServer(t, remote.ServeOptions{})
	info, err := ProbeRemote(addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if info.Protocol != remote.ProtocolVersion || info.Version != "test" || info.Host == "" || info.NCPU < 1 || info.Address != addr {
		t.Errorf("server facts incomplete: %+v", *info)
	}
	log.waitFor(t, "pingpong 16 B: 0 messages")
}

// TestRunAgainstServer runs both workloads through Run against the server,
// with payloads verified: the same path as `run -remote`.
func TestRunAgainstServer(t *testing.T) {
	addr, log := startServer(t, remote.ServeOptions{})
	for _, mode := range []ipc.IOMode{ipc.IORaw, ipc.IOGo} {
		f, err := Run(context.Background(), Options{
			Transports: []ipc.Transport{namedTransport("tcpsocket")},
			Workloads:  []string{results.PingPong, results.Stream},
			Sizes:      []int{64, 65536 + 3},
			Count:      300, Rounds: 1, Pairs: 2, IO: mode,
			Timeout: 10 * time.Second, Verify: true, Remote: addr,
		})
		if err != nil {
			t.Fatal(err)
		}
		if f.Meta.Remote == nil || f.Meta.Remote.Address != addr {
			t.Errorf("meta does not record the server: %+v", f.Meta.Remote)
		}
		for _, r := range f.Results {
			if r.Error != "" || r.Messages != 600 {
				t.Errorf("%s %d: %d messages, error %q", r.Workload, r.SizeBytes, r.Messages, r.Error)
			}
			if r.Workload == results.PingPong && (r.RTT == nil || r.OneWay != nil) {
				t.Errorf("a remote pingpong row must have a round trip and no one-way delay: %+v", r)
			}
		}
	}
	log.waitFor(t, "stream 65539 B: 300 messages")
}

// namedTransport stands in for tcpsocket: a remote run never calls Listen.
type namedTransport string

func (n namedTransport) Name() string { return string(n) }
func (n namedTransport) Caps(ipc.Config) ipc.Caps {
	return ipc.Caps{Remote: true}
}
func (n namedTransport) Listen(ipc.Config) (ipc.Listener, error) {
	return nil, errors.New("Listen must not be called in a remote run")
}
func (n namedTransport) Dial(ipc.Endpoint, ipc.Config) (ipc.Conn, error) {
	return nil, errors.New("Dial must not be called in a remote run")
}

func TestServeRefusesAndKeepsServing(t *testing.T) {
	addr, log := startServer(t, remote.ServeOptions{MaxSize: 1024, HandshakeTimeout: 200 * time.Millisecond})
	garbage := bytes.Repeat([]byte("GET / HTTP/1.1\r\n"), 2)
	badVersion := remote.Hello{Version: remote.ProtocolVersion + 1, Workload: results.PingPong, Size: 64}.Encode()
	tooLarge := remote.Hello{Version: remote.ProtocolVersion, Workload: results.Stream, Size: 4096}.Encode()
	for _, c := range []struct {
		name, send, log, reply string
	}{
		{"garbage", string(garbage), "refused: not an ipcbench client", "not an ipcbench client"},
		{"other protocol version", string(badVersion), "refused: the client speaks ipcbench protocol 2", "protocol 2 and the server protocol 1"},
		{"too large", string(tooLarge), "refused: message size 4 KiB is above this server's limit of 1 KiB", "above this server's limit"},
		{"half a hello, then silence", string(tooLarge[:10]), "dropped: no complete hello within 200ms", ""},
		{"nothing at all", "", "dropped: no complete hello within 200ms", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.Write([]byte(c.send))
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, err = remote.ReadReply(conn)
			if c.reply != "" && (err == nil || !strings.Contains(err.Error(), c.reply)) {
				t.Errorf("the client was told %v, want %q", err, c.reply)
			}
			log.waitFor(t, c.log)
			if _, err := ProbeRemote(addr, 5*time.Second); err != nil {
				t.Errorf("the server stopped serving after %s: %v", c.name, err)
			}
		})
	}
}

func TestServeBusyAndIdle(t *testing.T) {
	addr, log := startServer(t, remote.ServeOptions{MaxSessions: 1, IdleTimeout: 300 * time.Millisecond})
	s, _, err := dialRemote(addr, remote.Hello{Version: remote.ProtocolVersion, Workload: results.PingPong, Size: 64}, ipc.IORaw, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Conn.Close()
	if _, err := ProbeRemote(addr, 5*time.Second); err == nil || !strings.Contains(err.Error(), "serving 1 sessions already") {
		t.Errorf("a second session beyond -max-sessions: got %v", err)
	}
	// The held session sends nothing: the server drops it, and the client
	// sees the connection close.
	log.waitFor(t, "idle for 300ms")
	if err := s.Conn.Recv(ipc.NewFrame(0, 64, 0)); !errors.Is(err, ipc.ErrClosed) {
		t.Errorf("after the server dropped the idle session, Recv = %v, want ErrClosed", err)
	}
	if _, err := ProbeRemote(addr, 5*time.Second); err != nil {
		t.Errorf("the server did not free the idle session's place: %v", err)
	}
}

func TestDialErrorsAreNamed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	_, err = ProbeRemote(addr, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "nothing is listening at "+addr+" (connection refused)") {
		t.Errorf("refused: got %v", err)
	}
	for _, c := range []struct {
		err  error
		want string
	}{
		{&net.OpError{Op: "dial", Err: &timeoutErr{}}, "connection timed out"},
		{&net.DNSError{Err: "no such host", Name: "nowhere"}, "cannot resolve"},
	} {
		if got := remote.DialError("nowhere:1", time.Second, c.err); !strings.Contains(got.Error(), c.want) {
			t.Errorf("remote.DialError(%v) = %v, want %q", c.err, got, c.want)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// failingListener accepts as its listener does until fail is closed; then
// Accept fails with errAccept, as on a listener the system took away.
type failingListener struct {
	net.Listener
	fail chan struct{}
}

var errAccept = errors.New("accept failed for the test")

func (l *failingListener) Accept() (net.Conn, error) {
	type accepted struct {
		c   net.Conn
		err error
	}
	ch := make(chan accepted, 1)
	go func() {
		c, err := l.Listener.Accept()
		ch <- accepted{c, err}
	}()
	select {
	case a := <-ch:
		return a.c, a.err
	case <-l.fail:
		return nil, errAccept
	}
}

// TestServeAcceptErrorClosesSessions: when Accept fails, Serve returns its
// error and closes the live sessions first, rather than waiting for them to
// end by themselves (here never: their idle limit is an hour).
func TestServeAcceptErrorClosesSessions(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &failingListener{Listener: inner, fail: make(chan struct{})}
	o := remote.ServeOptions{MaxSize: 1 << 20, MaxSessions: 8, IdleTimeout: time.Hour, HandshakeTimeout: 5 * time.Second,
		Version: "test", Log: &syncBuffer{}, Listener: ln}
	done := make(chan error, 1)
	go func() { done <- Serve(context.Background(), o) }()
	s, _, err := dialRemote(inner.Addr().String(), remote.Hello{Version: remote.ProtocolVersion, Workload: results.PingPong, Size: 64}, ipc.IORaw, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Conn.Close()
	close(ln.fail)
	select {
	case err := <-done:
		if !errors.Is(err, errAccept) {
			t.Errorf("Serve = %v, want the accept error", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Serve did not return after its accept failed: it waits for the live session")
	}
	if err := s.Conn.Recv(ipc.NewFrame(0, 64, 0)); !errors.Is(err, ipc.ErrClosed) {
		t.Errorf("the live session after Serve returned: Recv = %v, want ErrClosed", err)
	}
}
