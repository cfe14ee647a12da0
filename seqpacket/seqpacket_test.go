package seqpacket

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/ipc"

	"golang.org/x/sys/unix"
)

// connect is Listen, Dial and Accept in this process, without splitting.
func connect(t *testing.T, cfg ipc.Config) (ipc.Listener, ipc.Conn, ipc.Conn) {
	t.Helper()
	l, err := New().Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	type dialed struct {
		c   ipc.Conn
		err error
	}
	ch := make(chan dialed, 1)
	go func() {
		c, err := New().Dial(l.Endpoint(), cfg)
		ch <- dialed{c, err}
	}()
	driver, err := l.Accept(time.Now().Add(10 * time.Second))
	d := <-ch
	if d.err != nil {
		t.Fatal(d.err)
	}
	t.Cleanup(func() { d.c.Close() })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { driver.Close() })
	return l, driver, d.c
}

// TestBoundariesKept: records of different lengths sent back to back come
// out one per read, each whole: the kernel keeps the boundaries.
func TestBoundariesKept(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	for _, m := range []string{"one", "second", "3"} {
		if _, err := write(fds[0], []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 64)
	var got []string
	for range 3 {
		n, err := recvTrunc(fds[1], buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(buf[:n]))
	}
	if strings.Join(got, ",") != "one,second,3" {
		t.Errorf("records read: %q", got)
	}
}

// TestMaxMessage: Caps.MaxMessage is the longest record a socket sends
// (SO_SNDBUF less 32, found out by sending); one byte more fails with
// EMSGSIZE, which is why larger messages are split.
func TestMaxMessage(t *testing.T) {
	caps := New().Caps(ipc.Config{Size: 1 << 20})
	if caps.Err != nil {
		t.Fatal(caps.Err)
	}
	m := caps.MaxMessage
	if m <= 0 || !strings.Contains(caps.MaxMessageLimit, "SO_SNDBUF") || caps.Pieces(1<<20) != (1<<20-1)/m+1 {
		t.Fatalf("Caps = %+v", caps)
	}
	for _, mode := range []ipc.IOMode{ipc.IORaw, ipc.IOGo} {
		t.Run(string(mode), func(t *testing.T) {
			_, driver, peer := connect(t, ipc.Config{Size: m, IO: mode, Timeout: 10 * time.Second})
			errc := make(chan error, 1)
			go func() { errc <- peer.Recv(ipc.NewFrame(0, m, 0)) }()
			if err := driver.Send(ipc.NewFrame(0, m, 0)); err != nil {
				t.Fatalf("a record of MaxMessage %d bytes: %v", m, err)
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			err := driver.Send(ipc.NewFrame(0, m+1, 0))
			if !errors.Is(err, unix.EMSGSIZE) || !strings.Contains(err.Error(), "SO_SNDBUF") {
				t.Errorf("a record of MaxMessage+1 bytes: %v, want EMSGSIZE naming SO_SNDBUF", err)
			}
		})
	}
}

// TestLongerRecordIsAnError: a record longer than the message expected is
// an error, not cut silently to the buffer (MSG_TRUNC gives its length).
func TestLongerRecordIsAnError(t *testing.T) {
	for _, mode := range []ipc.IOMode{ipc.IORaw, ipc.IOGo} {
		t.Run(string(mode), func(t *testing.T) {
			_, driver, peer := connect(t, ipc.Config{Size: 64, IO: mode, Timeout: 10 * time.Second})
			if err := driver.Send(ipc.NewFrame(0, 100, 0)); err != nil {
				t.Fatal(err)
			}
			err := peer.Recv(ipc.NewFrame(0, 64, 0))
			if err == nil || !strings.Contains(err.Error(), "got a record of 100 bytes, want 64") {
				t.Errorf("Recv of a longer record: %v", err)
			}
		})
	}
}

// TestCloseRemoves checks the private directory, and that the Listener's
// Close removes it and wakes a Conn blocked in Recv.
func TestCloseRemoves(t *testing.T) {
	for _, mode := range []ipc.IOMode{ipc.IORaw, ipc.IOGo} {
		t.Run(string(mode), func(t *testing.T) {
			l, driver, _ := connect(t, ipc.Config{Size: 16, IO: mode, Timeout: 10 * time.Second})
			dir := filepath.Dir(l.Endpoint().Addr)
			fi, err := os.Stat(dir)
			if err != nil || fi.Mode().Perm() != 0o700 {
				t.Fatalf("socket directory: %v, %v; want mode 0700", fi, err)
			}
			errc := make(chan error, 1)
			go func() { errc <- driver.Recv(ipc.NewFrame(0, 16, 0)) }()
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-errc:
				if !errors.Is(err, ipc.ErrClosed) {
					t.Errorf("Recv when the listener closed: %v, want ErrClosed", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Recv still blocked 10s after the listener closed")
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("after Close, the socket directory: %v, want it gone", err)
			}
		})
	}
}
