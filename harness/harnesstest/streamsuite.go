package harnesstest

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/ipc"
)

// streamModes and streamSizes are the cells of the stream-socket suite's
// table-driven tests: both io modes, and sizes from 16 B to 1 MiB.
var (
	streamModes = []ipc.IOMode{ipc.IORaw, ipc.IOGo}
	streamSizes = []int{16, 100, 4096, 65536, 65536 + 7, 1 << 20}
)

// RunStreamSocketSuite is the in-process suite for a stream-socket Transport
// (unixsocket, tcpsocket): one whose Listen returns a ipc.NewNetListener
// over a listening socket, whose Endpoint is an address and no files, and
// whose Dial connects to that address and returns a ipc.NetConn.
//
// Unlike Run, it dials from a goroutine of the test process, not from a peer
// process. That is fine here: it tests the transport's own contract, not
// measurements. Every byte of every message arrives in order and whole, in
// both directions and both io modes; Accept keeps its deadline and returns
// once the Listener is closed; a Conn whose other side has closed returns
// ipc.ErrClosed; Listener.Close wakes a blocked Conn; Send and Recv do
// not allocate. None of that depends on which process the other end is in,
// and an address is all Dial needs, so no descriptors have to be inherited.
// Timing two processes against each other is Run's job.
//
// A mechanism's tests use it like this:
//
//	func TestStreamSocketSuite(t *testing.T) {
//		harnesstest.RunStreamSocketSuite(t, unixsocket.New())
//	}
func RunStreamSocketSuite(t *testing.T, tr ipc.Transport) {
	t.Run("Messages", func(t *testing.T) { testMessages(t, tr) })
	t.Run("AcceptDeadline", func(t *testing.T) { testAcceptDeadline(t, tr) })
	t.Run("CloseAcceptWaiting", func(t *testing.T) { testCloseAcceptWaiting(t, tr) })
	t.Run("OtherSideCloses", func(t *testing.T) { testOtherSideCloses(t, tr) })
	t.Run("CloseWakesConn", func(t *testing.T) { testCloseWakesConn(t, tr) })
	t.Run("NoAllocs", func(t *testing.T) { testNoAllocs(t, tr) })
}

// waitLimit bounds the waits for a call that Close must wake, so that a
// transport that fails to wake it fails the test instead of hanging it.
const waitLimit = 10 * time.Second

// CellConfig is the Config of an in-process test cell: messages of size
// bytes in the given io mode, and a timeout long enough for a loaded
// machine.
func CellConfig(mode ipc.IOMode, size int) ipc.Config {
	return ipc.Config{Size: size, IO: mode, Timeout: 10 * time.Second}
}

// Connect listens with tr, dials the Listener's Endpoint from another
// goroutine and accepts, returning the Listener and both ends: driver is
// the one Accept returned, peer the one Dial did. Everything is closed when
// the test ends.
func Connect(t *testing.T, tr ipc.Transport, cfg ipc.Config) (l ipc.Listener, driver, peer ipc.Conn) {
	t.Helper()
	l, err := tr.Listen(cfg)
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
		c, err := tr.Dial(l.Endpoint(), cfg)
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
	p := frame
	for i := range p {
		p[i] = byte(seed*131 + i + i>>8 + i>>16)
	}
}

func check(frame []byte, seed int) error {
	p := frame
	for i := range p {
		if want := byte(seed*131 + i + i>>8 + i>>16); p[i] != want {
			return fmt.Errorf("message %d: byte %d of %d is %#x, want %#x", seed, i, len(p), p[i], want)
		}
	}
	return nil
}

// testMessages sends messages each way, one-way bursts and then round trips,
// and checks every byte of every message.
func testMessages(t *testing.T, tr ipc.Transport) {
	const n = 4
	for _, mode := range streamModes {
		for _, size := range streamSizes {
			t.Run(fmt.Sprintf("%s/%d", mode, size), func(t *testing.T) {
				cfg := CellConfig(mode, size)
				_, driver, peer := Connect(t, tr, cfg)

				done := make(chan error, 1)
				go func() {
					err := func() error {
						f := ipc.NewFrame(0, size, 0)
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
					if err != nil {
						// The driver would wait for a message that
						// never comes: closing makes its call fail.
						peer.Close()
					}
					done <- err
				}()
				// fatal ends the test with the driver's error and the
				// peer's, which is often the cause. Closing the driver
				// wakes a peer that waits for it; the ErrClosed that
				// this gives the peer is no news.
				fatal := func(format string, args ...any) {
					t.Helper()
					driver.Close()
					select {
					case err := <-done:
						if err != nil && !errors.Is(err, ipc.ErrClosed) {
							t.Errorf("peer: %v", err)
						}
					case <-time.After(waitLimit):
						t.Errorf("peer still running %v after the driver closed", waitLimit)
					}
					t.Fatalf(format, args...)
				}

				f := ipc.NewFrame(0, size, 0)
				for i := range n {
					fill(f, i)
					if err := driver.Send(f); err != nil {
						fatal("driver Send: %v", err)
					}
				}
				for i := range n {
					clear(f)
					if err := driver.Recv(f); err != nil {
						fatal("driver Recv: %v", err)
					}
					if err := check(f, 100+i); err != nil {
						fatal("%v", err)
					}
				}
				for i := range n {
					fill(f, 200+i)
					if err := driver.Send(f); err != nil {
						fatal("driver Send: %v", err)
					}
					clear(f)
					if err := driver.Recv(f); err != nil {
						fatal("driver Recv: %v", err)
					}
					if err := check(f, 300+i); err != nil {
						fatal("%v", err)
					}
				}
				if err := <-done; err != nil {
					t.Fatalf("peer: %v", err)
				}
			})
		}
	}
}

// testAcceptDeadline: Accept with no peer fails once its deadline has
// passed, with an error that says so and wraps os.ErrDeadlineExceeded.
func testAcceptDeadline(t *testing.T, tr ipc.Transport) {
	for _, tc := range []struct {
		name     string
		deadline time.Time
	}{
		{"past", time.Now().Add(-time.Second)},
		{"nopeer", time.Now().Add(20 * time.Millisecond)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := tr.Listen(CellConfig(ipc.IORaw, 16))
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

// testCloseAcceptWaiting closes the listener while Accept waits: Accept must
// return an error, not hang.
func testCloseAcceptWaiting(t *testing.T, tr ipc.Transport) {
	l, err := tr.Listen(CellConfig(ipc.IORaw, 16))
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
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("Accept succeeded on a closed listener")
		}
	case <-time.After(waitLimit):
		t.Fatalf("Accept still waiting %v after the listener closed", waitLimit)
	}
}

// testOtherSideCloses: when one side closes its Conn, Recv on the other
// returns ErrClosed, and so does Send, at the latest once the kernel knows.
func testOtherSideCloses(t *testing.T, tr ipc.Transport) {
	for _, mode := range streamModes {
		for _, who := range []string{"driver", "peer"} {
			t.Run(fmt.Sprintf("%s/%s", mode, who), func(t *testing.T) {
				_, driver, peer := Connect(t, tr, CellConfig(mode, 4096))
				closer, other := driver, peer
				if who == "peer" {
					closer, other = peer, driver
				}
				if err := closer.Close(); err != nil {
					t.Fatal(err)
				}
				f := ipc.NewFrame(0, 4096, 0)
				if err := other.Recv(f); !errors.Is(err, ipc.ErrClosed) {
					t.Errorf("Recv after the other side closed: %v, want ErrClosed", err)
				}
				var err error
				for range 100 {
					if err = other.Send(f); err != nil {
						break
					}
				}
				if !errors.Is(err, ipc.ErrClosed) {
					t.Errorf("Send after the other side closed: %v, want ErrClosed", err)
				}
			})
		}
	}
}

// testCloseWakesConn: Listener.Close ends the cell, waking a Recv blocked
// on the driver's Conn, in raw mode too where closing the descriptor would
// not.
func testCloseWakesConn(t *testing.T, tr ipc.Transport) {
	for _, mode := range streamModes {
		t.Run(string(mode), func(t *testing.T) {
			l, driver, _ := Connect(t, tr, CellConfig(mode, 16))
			errc := make(chan error, 1)
			go func() { errc <- driver.Recv(ipc.NewFrame(0, 16, 0)) }()
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-errc:
				if !errors.Is(err, ipc.ErrClosed) {
					t.Errorf("Recv blocked when the listener closed: %v, want ErrClosed", err)
				}
			case <-time.After(waitLimit):
				t.Fatalf("Recv still blocked %v after the listener closed", waitLimit)
			}
		})
	}
}

// testNoAllocs: a round trip through the driver's Send and Recv allocates
// nothing, as the timed loop requires.
func testNoAllocs(t *testing.T, tr ipc.Transport) {
	for _, mode := range streamModes {
		for _, size := range streamSizes {
			t.Run(fmt.Sprintf("%s/%d", mode, size), func(t *testing.T) {
				_, driver, peer := Connect(t, tr, CellConfig(mode, size))
				echoed := make(chan struct{})
				go func() { // echo until the driver's Conn closes
					defer close(echoed)
					f := ipc.NewFrame(0, size, 0)
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
				f := ipc.NewFrame(0, size, 0)
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
