package unixgram

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/harness/harnesstest"
	"github.com/ipcbench/ipcbench/ipc"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	harness.MaybeRunPeer([]ipc.Transport{New()})
	os.Exit(m.Run())
}

// TestConformance runs both workloads at every size between two processes,
// every payload verified, every message in order (the mechanism is not
// lossy), and no socket file or directory left.
func TestConformance(t *testing.T) { harnesstest.Run(t, New()) }

// connect makes a connected pair in this process.
func connect(t *testing.T, cfg ipc.Config) (ipc.Listener, ipc.Conn, ipc.Conn) {
	t.Helper()
	l, err := New().Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	peer, err := New().Dial(l.Endpoint(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	driver, err := l.Accept(time.Now().Add(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { driver.Close() })
	return l, driver, peer
}

// Caps.Lossy is false because a sender with too much unread blocks instead
// of dropping: a receiver that falls behind loses nothing, and the sender
// waits once its SO_SNDBUF is full of unread datagrams.
func TestNeverDrops(t *testing.T) {
	if New().Caps(ipc.Config{Size: 64}).Lossy {
		t.Fatal("unixgram says it is lossy")
	}
	for _, mode := range []ipc.IOMode{ipc.IORaw, ipc.IOGo} {
		t.Run(string(mode), func(t *testing.T) {
			_, driver, peer := connect(t, ipc.Config{Size: 64, IO: mode, Timeout: 5 * time.Second})
			const n = 1000
			var sent atomic.Int64
			errc := make(chan error, 1)
			go func() {
				msg := make([]byte, 64)
				for i := range n {
					binary.LittleEndian.PutUint64(msg, uint64(i))
					if err := driver.Send(msg); err != nil {
						errc <- err
						return
					}
					sent.Add(1)
				}
				errc <- nil
			}()
			time.Sleep(200 * time.Millisecond) // the receiver falls behind
			s := sent.Load()
			t.Logf("the sender blocked after %d datagrams", s)
			if s == n {
				t.Errorf("all %d datagrams sent to a receiver that read none: want the sender blocked", n)
			}
			msg := make([]byte, 64)
			for i := range n {
				if err := peer.Recv(msg); err != nil {
					t.Fatalf("datagram %d: %v", i, err)
				}
				if got := binary.LittleEndian.Uint64(msg); got != uint64(i) {
					t.Fatalf("datagram %d arrived as number %d", i, got)
				}
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The largest datagram is found from SO_SNDBUF and the kernel's answer, not
// assumed: with the send buffer made small, it is small, and the kernel
// takes it and refuses one byte more.
func TestLargestDatagramFollowsSndbuf(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	if err := unix.SetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_SNDBUF, 10000); err != nil {
		t.Fatal(err)
	}
	largest, sndbuf, err := largestDatagram(fds[0], fds[1])
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("SO_SNDBUF %d: largest datagram %d", sndbuf, largest)
	if sndbuf < 10000 || largest >= sndbuf || largest < sndbuf/2 {
		t.Errorf("SO_SNDBUF %d, largest datagram %d: want the buffer read (at least the 10000 set) and the datagram below it", sndbuf, largest)
	}
	buf := make([]byte, largest+1)
	if _, err := unix.Write(fds[0], buf[:largest]); err != nil {
		t.Errorf("a datagram of the largest size, %d: %v", largest, err)
	}
	if _, err := unix.Write(fds[0], buf); !errors.Is(err, unix.EMSGSIZE) {
		t.Errorf("a datagram one byte larger: %v, want EMSGSIZE", err)
	}

	// And the default is what Caps says.
	def, _, err := LargestDatagram()
	if err != nil {
		t.Fatal(err)
	}
	c := New().Caps(ipc.Config{Size: 1 << 20})
	if c.MaxMessage != def || c.Pieces(1<<20) != (1<<20-1)/def+1 || c.Err != nil {
		t.Errorf("Caps(1 MiB) = %+v, want pieces of %d", c, def)
	}
}

// Both socket files are in a private directory that Close removes.
func TestCloseRemovesSocketFiles(t *testing.T) {
	l, _, _ := connect(t, ipc.Config{Size: 64, IO: ipc.IORaw, Timeout: 5 * time.Second})
	path, _, err := ipc.SplitDatagramAddr(l.Endpoint().Addr)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("socket directory: %v, %v; want mode 0700", fi, err)
	}
	for _, f := range []string{driverSock, peerSock} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Mode().Type() != os.ModeSocket {
			t.Errorf("%s: %v, %v", f, fi, err)
		}
	}
	for range 2 {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Close, the socket directory: %v, want it gone", err)
	}
}

// Closing the Listener wakes a Recv blocked on the driver's socket, in
// either io mode, with ErrClosed.
func TestCloseWakesRecv(t *testing.T) {
	for _, mode := range []ipc.IOMode{ipc.IORaw, ipc.IOGo} {
		t.Run(string(mode), func(t *testing.T) {
			l, driver, _ := connect(t, ipc.Config{Size: 64, IO: mode, Timeout: 5 * time.Second})
			errc := make(chan error, 1)
			go func() { errc <- driver.Recv(make([]byte, 64)) }()
			time.Sleep(20 * time.Millisecond)
			l.Close()
			select {
			case err := <-errc:
				if !errors.Is(err, ipc.ErrClosed) {
					t.Errorf("Recv after Close: %v, want ErrClosed", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Close did not wake Recv")
			}
		})
	}
}

// net.unix.max_dgram_qlen bounds the queue of a receiver that is not
// connected back to its sender: the sender blocks (here, EAGAIN) after
// qlen+1 datagrams. A receiver connected back, as the Conns are, is bound by
// the sender's SO_SNDBUF only, which holds many more small datagrams.
func TestQueueLimit(t *testing.T) {
	qlen, err := ipc.ReadSysctl("net.unix.max_dgram_qlen")
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	fill := func(connectBack bool) int {
		r, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(r)
		s, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(s)
		ra := &unix.SockaddrUnix{Name: filepath.Join(dir, fmt.Sprint("r", connectBack))}
		sa := &unix.SockaddrUnix{Name: filepath.Join(dir, fmt.Sprint("s", connectBack))}
		if err := unix.Bind(r, ra); err != nil {
			t.Fatal(err)
		}
		if err := unix.Bind(s, sa); err != nil {
			t.Fatal(err)
		}
		if err := unix.Connect(s, ra); err != nil {
			t.Fatal(err)
		}
		if connectBack {
			if err := unix.Connect(r, sa); err != nil {
				t.Fatal(err)
			}
		}
		msg := make([]byte, 64)
		for n := 0; n < 100000; n++ {
			if _, err := unix.Write(s, msg); err != nil {
				if !errors.Is(err, unix.EAGAIN) {
					t.Fatal(err)
				}
				return n
			}
		}
		t.Fatal("the sender never had to wait")
		return 0
	}
	if n := fill(false); n != int(qlen)+1 {
		t.Errorf("to a receiver not connected back: %d datagrams queued, want net.unix.max_dgram_qlen+1 = %d", n, qlen+1)
	}
	if n := fill(true); n <= int(qlen)+1 {
		t.Errorf("to a receiver connected back: %d datagrams queued, want more than net.unix.max_dgram_qlen+1 = %d", n, qlen+1)
	} else {
		t.Logf("to a receiver connected back: %d datagrams before the sender waits (SO_SNDBUF)", n)
	}
}

// The server and connect workloads: one server socket for all clients, and
// a skipped connect row that says why.
func TestServer(t *testing.T) { harnesstest.RunServer(t, New()) }

// The shared server socket answers each client alone, passes over a
// client's close notice, and its Close wakes a client blocked in Recv and
// removes the directory.
func TestSharedServer(t *testing.T) {
	for _, mode := range []ipc.IOMode{ipc.IORaw, ipc.IOGo} {
		t.Run(string(mode), func(t *testing.T) {
			cfg := ipc.Config{Size: 64, IO: mode, Timeout: 5 * time.Second}
			l, err := listenShared(cfg, 3)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			var clients []ipc.Conn
			for i := range 3 {
				c, err := New().Dial(l.Endpoint(i), cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				clients = append(clients, c)
			}
			msg := make([]byte, 64)
			for _, i := range []int{2, 0, 1} {
				binary.LittleEndian.PutUint64(msg, uint64(100+i))
				if err := clients[i].Send(msg); err != nil {
					t.Fatal(err)
				}
			}
			clients[1].Close() // its close notice comes after its request
			for range 3 {
				i, err := l.Recv(msg)
				if err != nil {
					t.Fatal(err)
				}
				if got := binary.LittleEndian.Uint64(msg); got != uint64(100+i) {
					t.Fatalf("a request from client %d carries %d", i, got)
				}
				if i == 1 {
					continue // closed
				}
				binary.LittleEndian.PutUint64(msg, uint64(200+i))
				if err := l.Send(i, msg); err != nil {
					t.Fatal(err)
				}
			}
			for _, i := range []int{0, 2} {
				if err := clients[i].Recv(msg); err != nil || binary.LittleEndian.Uint64(msg) != uint64(200+i) {
					t.Fatalf("client %d's reply: %d, %v", i, binary.LittleEndian.Uint64(msg), err)
				}
			}
			errc := make(chan error, 1)
			go func() { errc <- clients[0].Recv(msg) }()
			time.Sleep(20 * time.Millisecond)
			path, _, _ := strings.Cut(strings.TrimPrefix(l.Endpoint(0).Addr, sharedPrefix), " ")
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if err := <-errc; !errors.Is(err, ipc.ErrClosed) {
				t.Errorf("a client's Recv after the server closed: %v, want ErrClosed", err)
			}
			if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the server's directory after Close: %v", err)
			}
		})
	}
	if _, err := listenShared(ipc.Config{Size: 1 << 20, IO: ipc.IORaw}, 2); err == nil {
		t.Error("a shared server took messages that need splitting")
	}
}
