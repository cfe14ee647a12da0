package tcpsocket

import (
	"net"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ipcbench/ipcbench/harness/harnesstest"
	"github.com/ipcbench/ipcbench/ipc"
)

// What every stream-socket transport must do is in
// harnesstest.Run (its Contract part), run from conformance_test.go; here is
// only what is TCP's own.

func TestName(t *testing.T) {
	if got := New().Name(); got != "tcpsocket" {
		t.Errorf("Name() = %q", got)
	}
	c := New().Caps(harnesstest.CellConfig(ipc.IORaw, 16))
	if c.Note != "loopback, TCP_NODELAY on" {
		t.Errorf("Caps().Note = %q", c.Note)
	}
	if !c.Remote || c.Headroom != 0 || c.MaxMessage != 0 || c.Lossy || !c.HasIOMode(ipc.IOGo) {
		t.Errorf("Caps() = %+v: want a remote-capable stream with both io modes", c)
	}
}

// TestLoopback: the listener is on an ephemeral port of 127.0.0.1, passes
// no files, and its Close can be called twice.
func TestLoopback(t *testing.T) {
	l, _, _ := harnesstest.Connect(t, New(), harnesstest.CellConfig(ipc.IOGo, 16))
	ep := l.Endpoint()
	host, port, err := net.SplitHostPort(ep.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if host != "127.0.0.1" || port == "0" {
		t.Errorf("Endpoint.Addr = %q, want 127.0.0.1 and an ephemeral port", ep.Addr)
	}
	if len(ep.Files) != 0 {
		t.Errorf("Endpoint has %d files, want none", len(ep.Files))
	}
	for i := range 2 {
		if err := l.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	if c, err := net.Dial("tcp", ep.Addr); err == nil {
		c.Close()
		t.Error("the port still accepts connections after Close")
	}
}

func TestNoDelay(t *testing.T) {
	ln, err := net.Listen("tcp", loopback)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Turn it off first, so that the test does not pass on Go's default.
	if err := c.(*net.TCPConn).SetNoDelay(false); err != nil {
		t.Fatal(err)
	}
	if err := noDelay(c); err != nil {
		t.Fatal(err)
	}
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	if err := rc.Control(func(fd uintptr) {
		v, err = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NODELAY)
	}); err != nil {
		t.Fatal(err)
	}
	if err != nil || v == 0 {
		t.Errorf("TCP_NODELAY = %d, %v; want it on", v, err)
	}
}

// TestRemoteNeverListens: a remote run's sessions are the harness's; the
// transport refuses to stand in for them with a loopback channel.
func TestRemoteNeverListens(t *testing.T) {
	cfg := harnesstest.CellConfig(ipc.IORaw, 16)
	cfg.Remote = "192.0.2.1:7300"
	if l, err := New().Listen(cfg); err == nil {
		l.Close()
		t.Error("Listen with Remote set succeeded")
	}
	if c, err := New().Dial(ipc.Endpoint{Addr: cfg.Remote}, cfg); err == nil {
		c.Close()
		t.Error("Dial with Remote set succeeded")
	}
	if note := New().Caps(cfg).Note; !strings.Contains(note, "ipcbench serve at 192.0.2.1:7300") {
		t.Errorf("a remote cell's note %q does not name the server", note)
	}
}
