package tcpsocket

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ipcbench/harness"
)

var (
	modes = []harness.IOMode{harness.IORaw, harness.IOGo}
	sizes = []int{16, 100, 4096, 65536, 65536 + 7, 1 << 20}
)

func config(mode harness.IOMode, size int) harness.Config {
	return harness.Config{Size: size, IO: mode, Timeout: 10 * time.Second}
}

// connect listens, dials from another goroutine and accepts. Everything is
// closed when the test ends.
func connect(t *testing.T, cfg harness.Config) (l harness.Listener, driver, peer harness.Conn) {
	t.Helper()
	l, err := New().Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	type dialed struct {
		c   harness.Conn
		err error
	}
	ch := make(chan dialed, 1)
	go func() {
		c, err := New().Dial(l.Endpoint(), cfg)
		ch <- dialed{c, err}
	}()
	driver, err = l.Accept(time.Now().Add(cfg.Timeout))
	d := <-ch
	if d.err != nil {
		t.Fatalf("Dial: %v", d.err)
	}
	t.Cleanup(func() { d.c.Close() })
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	t.Cleanup(func() { driver.Close() })
	return l, driver, d.c
}

// fill writes a pattern that differs for every seed and, within a message,
// does not repeat every 256 bytes, so a shifted or stale message shows.
func fill(frame []byte, seed int) {
	p := frame[harness.Headroom:]
	for i := range p {
		p[i] = byte(seed*131 + i + i>>8 + i>>16)
	}
}

func check(frame []byte, seed int) error {
	p := frame[harness.Headroom:]
	for i := range p {
		if want := byte(seed*131 + i + i>>8 + i>>16); p[i] != want {
			return fmt.Errorf("message %d: byte %d of %d is %#x, want %#x", seed, i, len(p), p[i], want)
		}
	}
	return nil
}

// TestMessages sends messages each way, one-way bursts and then round trips,
// and checks every byte of every message.
func TestMessages(t *testing.T) {
	const n = 4
	for _, mode := range modes {
		for _, size := range sizes {
			t.Run(fmt.Sprintf("%s/%d", mode, size), func(t *testing.T) {
				cfg := config(mode, size)
				_, driver, peer := connect(t, cfg)

				done := make(chan error, 1)
				go func() {
					done <- func() error {
						f := harness.NewFrame(size)
						for i := range n { // driver -> peer
							if err := peer.Recv(f); err != nil {
								return err
							}
							if err := check(f, i); err != nil {
								return err
							}
						}
						for i := range n { // peer -> driver
							fill(f, 100+i)
							if err := peer.Send(f); err != nil {
								return err
							}
						}
						for i := range n { // echo with a new pattern
							if err := peer.Recv(f); err != nil {
								return err
							}
							if err := check(f, 200+i); err != nil {
								return err
							}
							fill(f, 300+i)
							if err := peer.Send(f); err != nil {
								return err
							}
						}
						return nil
					}()
				}()

				f := harness.NewFrame(size)
				for i := range n {
					fill(f, i)
					if err := driver.Send(f); err != nil {
						t.Fatalf("driver Send: %v", err)
					}
				}
				for i := range n {
					clear(f)
					if err := driver.Recv(f); err != nil {
						t.Fatalf("driver Recv: %v", err)
					}
					if err := check(f, 100+i); err != nil {
						t.Fatal(err)
					}
				}
				for i := range n {
					fill(f, 200+i)
					if err := driver.Send(f); err != nil {
						t.Fatalf("driver Send: %v", err)
					}
					clear(f)
					if err := driver.Recv(f); err != nil {
						t.Fatalf("driver Recv: %v", err)
					}
					if err := check(f, 300+i); err != nil {
						t.Fatal(err)
					}
				}
				if err := <-done; err != nil {
					t.Fatalf("peer: %v", err)
				}
			})
		}
	}
}

func TestAcceptDeadline(t *testing.T) {
	for _, tc := range []struct {
		name     string
		deadline time.Time
	}{
		{"past", time.Now().Add(-time.Second)},
		{"nopeer", time.Now().Add(20 * time.Millisecond)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := New().Listen(config(harness.IORaw, 16))
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			c, err := l.Accept(tc.deadline)
			if err == nil {
				c.Close()
				t.Fatal("Accept with no peer succeeded")
			}
			if !strings.Contains(err.Error(), "the peer did not connect within") || !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("Accept error = %q, want one saying the peer did not connect in time", err)
			}
		})
	}
}

// TestCloseAcceptWaiting closes the listener while Accept waits: Accept must
// return an error, not hang.
func TestCloseAcceptWaiting(t *testing.T) {
	l, err := New().Listen(config(harness.IORaw, 16))
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		c, err := l.Accept(time.Now().Add(time.Hour))
		if err == nil {
			c.Close()
		}
		errc <- err
	}()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err == nil {
		t.Fatal("Accept succeeded on a closed listener")
	}
}

// TestOtherSideCloses: when one side closes its Conn, Recv on the other
// returns ErrClosed, and so does Send, at the latest once the kernel knows.
func TestOtherSideCloses(t *testing.T) {
	for _, mode := range modes {
		for _, who := range []string{"driver", "peer"} {
			t.Run(fmt.Sprintf("%s/%s", mode, who), func(t *testing.T) {
				_, driver, peer := connect(t, config(mode, 4096))
				closer, other := driver, peer
				if who == "peer" {
					closer, other = peer, driver
				}
				if err := closer.Close(); err != nil {
					t.Fatal(err)
				}
				f := harness.NewFrame(4096)
				if err := other.Recv(f); !errors.Is(err, harness.ErrClosed) {
					t.Errorf("Recv after the other side closed: %v, want ErrClosed", err)
				}
				var err error
				for range 100 {
					if err = other.Send(f); err != nil {
						break
					}
				}
				if !errors.Is(err, harness.ErrClosed) {
					t.Errorf("Send after the other side closed: %v, want ErrClosed", err)
				}
			})
		}
	}
}

// TestCloseWakesConn: Listener.Close ends the cell, waking a Recv blocked
// on the driver's Conn, in raw mode too where closing the descriptor would
// not.
func TestCloseWakesConn(t *testing.T) {
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			l, driver, _ := connect(t, config(mode, 16))
			errc := make(chan error, 1)
			go func() { errc <- driver.Recv(harness.NewFrame(16)) }()
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if err := <-errc; !errors.Is(err, harness.ErrClosed) {
				t.Errorf("Recv blocked when the listener closed: %v, want ErrClosed", err)
			}
		})
	}
}

func TestNoAllocs(t *testing.T) {
	for _, mode := range modes {
		for _, size := range sizes {
			t.Run(fmt.Sprintf("%s/%d", mode, size), func(t *testing.T) {
				_, driver, peer := connect(t, config(mode, size))
				echoed := make(chan struct{})
				go func() { // echo until the driver's Conn closes
					defer close(echoed)
					f := harness.NewFrame(size)
					for peer.Recv(f) == nil && peer.Send(f) == nil {
					}
				}()
				// Wait for the echo to end before the peer's Conn is closed:
				// a raw Conn reads its descriptor by number, and a Recv
				// called after Close could read a later test's socket
				// that reused the number.
				t.Cleanup(func() {
					driver.Close()
					<-echoed
				})
				f := harness.NewFrame(size)
				var err error
				allocs := testing.AllocsPerRun(50, func() {
					if err == nil {
						err = driver.Send(f)
					}
					if err == nil {
						err = driver.Recv(f)
					}
				})
				if err != nil {
					t.Fatal(err)
				}
				if allocs != 0 {
					t.Errorf("Send+Recv allocated %v times, want 0", allocs)
				}
			})
		}
	}
}

func TestName(t *testing.T) {
	if got := New().Name(); got != "tcpsocket" {
		t.Errorf("Name() = %q", got)
	}
	d, ok := New().(harness.Describer)
	if !ok {
		t.Fatal("tcpsocket is not a harness.Describer")
	}
	if got := d.Describe(config(harness.IORaw, 16)).Note; got != "loopback, TCP_NODELAY on" {
		t.Errorf("Describe().Note = %q", got)
	}
}

// TestLoopback: the listener is on an ephemeral port of 127.0.0.1, passes
// no files, and its Close can be called twice.
func TestLoopback(t *testing.T) {
	l, _, _ := connect(t, config(harness.IOGo, 16))
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
	cfg := config(harness.IORaw, 16)
	cfg.Remote = "192.0.2.1:7300"
	if l, err := New().Listen(cfg); err == nil {
		l.Close()
		t.Error("Listen with Remote set succeeded")
	}
	if c, err := New().Dial(harness.Endpoint{Addr: cfg.Remote}, cfg); err == nil {
		c.Close()
		t.Error("Dial with Remote set succeeded")
	}
	if note := New().(harness.Describer).Describe(cfg).Note; !strings.Contains(note, "ipcbench serve at 192.0.2.1:7300") {
		t.Errorf("a remote cell's note %q does not name the server", note)
	}
}
