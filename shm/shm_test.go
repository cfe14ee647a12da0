package shm_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/harness/harnesstest"
	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/results"
	"github.com/ipcbench/ipcbench/shm"
)

// The tests in this file run both ends in this process: the driver's from
// Listen and Accept, the peer's from Dial on the Listener's own descriptors.
// They map the same memfd twice, exactly as two processes do.

// pair is both ends of one channel in process.
type pair struct {
	l              ipc.Listener
	driver, peer   ipc.Conn
	closed         bool
	tr             ipc.Transport
	mapsBefore     int
	descriptorsBef int
}

func open(t *testing.T, tr ipc.Transport) *pair {
	t.Helper()
	p := &pair{tr: tr, mapsBefore: mappings(t), descriptorsBef: len(shmDescriptors(t))}
	cfg := ipc.Config{Size: 64, IO: ipc.IORaw, Timeout: 10 * time.Second}
	l, err := tr.Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.l = l
	if p.peer, err = tr.Dial(l.Endpoint(), cfg); err != nil {
		l.Close()
		t.Fatal(err)
	}
	if p.driver, err = l.Accept(time.Now().Add(time.Second)); err != nil {
		p.peer.Close()
		l.Close()
		t.Fatal(err)
	}
	t.Cleanup(p.close)
	return p
}

func (p *pair) close() {
	if p.closed {
		return
	}
	p.closed = true
	p.driver.Close()
	p.peer.Close()
	p.l.Close()
}

// frame is a frame holding msg.
// headroom is the mechanism's Caps.Headroom.
var headroom = shm.NewSpin().Caps(ipc.Config{}).Headroom

func frame(msg []byte) []byte { return append(make([]byte, headroom), msg...) }

// pattern is n bytes that differ from message to message and byte to byte.
func pattern(n, seed int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + seed*13 + i>>8)
	}
	return b
}

// TestPiecesAndWrapAround sends messages smaller than, equal to and larger
// than a one-page ring, in an order that leaves the indices at every kind of
// offset, so that copies wrap and large messages go through in many pieces
// while the receiver copies out; every byte is checked.
func TestPiecesAndWrapAround(t *testing.T) {
	sizes := []int{1, 100, 4095, 4096, 4097, 3*4096 + 5, 7, 1 << 20, 64, 65536 + 1}
	for _, m := range mechs {
		t.Run(m.Name(), func(t *testing.T) {
			p := open(t, small(m))
			errc := make(chan error, 1)
			go func() {
				for i, n := range sizes {
					if err := p.driver.Send(frame(pattern(n, i))); err != nil {
						errc <- err
						return
					}
				}
				errc <- nil
			}()
			for i, n := range sizes {
				in := make([]byte, headroom+n)
				if err := p.peer.Recv(in); err != nil {
					t.Fatalf("message %d (%d B): %v", i, n, err)
				}
				if want := pattern(n, i); string(in[headroom:]) != string(want) {
					t.Fatalf("message %d (%d B) arrived corrupt", i, n)
				}
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestCloseWakesWaiter: the Listener's Close, which is how the watchdog
// stops a cell, wakes a side that waits to receive and one that waits for
// room to send, whichever way it waits, and both get ErrClosed. What was
// sent before the close is still delivered.
func TestCloseWakesWaiter(t *testing.T) {
	for _, m := range mechs {
		for _, side := range []string{"driver", "peer"} {
			for _, op := range []string{"recv", "send"} {
				t.Run(fmt.Sprintf("%s/%s-%s", m.Name(), side, op), func(t *testing.T) {
					p := open(t, small(m))
					c := p.driver
					if side == "peer" {
						c = p.peer
					}
					errc := make(chan error, 1)
					go func() {
						if op == "recv" {
							errc <- c.Recv(make([]byte, headroom+64))
						} else {
							// Twice the ring: the second half never fits.
							errc <- c.Send(frame(pattern(8192, 0)))
						}
					}()
					// Give it time to go to sleep (if it does not, the test
					// only checks less).
					time.Sleep(100 * time.Millisecond)
					select {
					case err := <-errc:
						t.Fatalf("%s returned before the close: %v", op, err)
					default:
					}
					p.l.Close()
					select {
					case err := <-errc:
						if !errors.Is(err, ipc.ErrClosed) {
							t.Errorf("%s after the close: %v, want ErrClosed", op, err)
						}
					case <-time.After(20 * time.Second):
						t.Fatalf("%s still waits after the Listener's Close", op)
					}
				})
			}
		}
	}
}

// TestDeliveredBeforeClose: a message sent just before the sender closes
// arrives; only a receive after it gets ErrClosed.
func TestDeliveredBeforeClose(t *testing.T) {
	for _, m := range mechs {
		t.Run(m.Name(), func(t *testing.T) {
			p := open(t, m)
			want := pattern(64, 3)
			if err := p.peer.Send(frame(want)); err != nil {
				t.Fatal(err)
			}
			p.peer.Close()
			in := make([]byte, headroom+64)
			if err := p.driver.Recv(in); err != nil {
				t.Fatalf("the message sent before the close: %v", err)
			}
			if string(in[headroom:]) != string(want) {
				t.Fatal("the message sent before the close arrived corrupt")
			}
			if err := p.driver.Recv(in); !errors.Is(err, ipc.ErrClosed) {
				t.Errorf("a receive after the close: %v, want ErrClosed", err)
			}
			if err := p.driver.Send(in); !errors.Is(err, ipc.ErrClosed) {
				t.Errorf("a send after the close: %v, want ErrClosed", err)
			}
		})
	}
}

// TestNoAllocations: neither Send nor Recv allocates, for any way of
// waiting, with the other end echoing in another goroutine (so that the
// waits really wait) and with messages that go through in pieces.
func TestNoAllocations(t *testing.T) {
	for _, m := range mechs {
		for _, size := range []int{64, 64 << 10} {
			t.Run(fmt.Sprintf("%s/%d", m.Name(), size), func(t *testing.T) {
				p := open(t, small(m))
				done := make(chan error, 1)
				go func() {
					buf := make([]byte, headroom+size)
					for {
						if err := p.peer.Recv(buf); err != nil {
							done <- err
							return
						}
						if err := p.peer.Send(buf); err != nil {
							done <- err
							return
						}
					}
				}()
				out, in := frame(pattern(size, 1)), make([]byte, headroom+size)
				allocs := testing.AllocsPerRun(200, func() {
					if err := p.driver.Send(out); err != nil {
						t.Fatal(err)
					}
					if err := p.driver.Recv(in); err != nil {
						t.Fatal(err)
					}
				})
				if allocs != 0 {
					t.Errorf("%v allocations per round trip, want 0", allocs)
				}
				// The driver's Close ends the echo; the peer's end is closed
				// only once its goroutine is out of Recv (see ipc.Conn).
				p.driver.Close()
				if err := <-done; !errors.Is(err, ipc.ErrClosed) {
					t.Errorf("the echo ended with %v, want ErrClosed", err)
				}
			})
		}
	}
}

// TestSyscalls: a Conn counts the syscalls it makes, the hook for the cost
// of a message. A futex or eventfd side that has to wait for every message
// makes some; the count is a plain counter, so this checks only that it
// counts, not how much.
func TestSyscalls(t *testing.T) {
	for _, m := range []ipc.Transport{shm.NewFutex(), shm.NewEventfd()} {
		t.Run(m.Name(), func(t *testing.T) {
			p := open(t, m)
			go func() {
				time.Sleep(50 * time.Millisecond)
				p.peer.Send(frame(pattern(64, 0)))
			}()
			if err := p.driver.Recv(make([]byte, headroom+64)); err != nil {
				t.Fatal(err)
			}
			n := p.driver.(interface{ Syscalls() int64 }).Syscalls()
			if n < 1 {
				t.Errorf("a receive that had to sleep counted %d syscalls", n)
			}
		})
	}
}

// TestNothingLeft: once both ends and the Listener are closed, in either
// order, the memory is unmapped and no descriptor of it or of an eventfd is
// left open.
func TestNothingLeft(t *testing.T) {
	for _, m := range mechs {
		for _, order := range []string{"conns first", "listener first"} {
			t.Run(m.Name()+"/"+order, func(t *testing.T) {
				p := open(t, m)
				if got := mappings(t) - p.mapsBefore; got != 2 {
					t.Errorf("%d new mappings of the memfd while open, want 2 (driver and peer)", got)
				}
				if order == "listener first" {
					p.l.Close()
				}
				p.close()
				if got := mappings(t); got != p.mapsBefore {
					t.Errorf("%d mappings of the memfd after Close, %d before", got, p.mapsBefore)
				}
				if got := shmDescriptors(t); len(got) != p.descriptorsBef {
					t.Errorf("descriptors left open after Close: %v", got)
				}
			})
		}
	}
}

// TestOneCPU: shm-spin with both sides on one CPU completes every cell: a
// spinning side yields the CPU to its peer instead of holding it.
func TestOneCPU(t *testing.T) {
	for _, mode := range []ipc.IOMode{ipc.IORaw, ipc.IOGo} {
		t.Run("io="+string(mode), func(t *testing.T) {
			before := harnesstest.Snapshot(t)
			f, err := harness.Run(context.Background(), harness.Options{
				Transports: []ipc.Transport{shm.NewSpin(), small(shm.NewSpin())},
				Workloads:  []string{results.PingPong, results.Stream},
				Sizes:      []int{64, 64 << 10},
				Count:      200,
				Rounds:     1,
				IO:         mode,
				CPUs:       []int{0, 0},
				Pairs:      1,
				Timeout:    30 * time.Second,
				Verify:     true,
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Results) != 8 {
				t.Fatalf("got %d rows, want 8", len(f.Results))
			}
			for _, r := range f.Results {
				harnesstest.CheckRow(t, r, 200)
			}
			before.CheckNothingLeft(t)
			if n := mappings(t); n != 0 {
				t.Errorf("the driver still maps the memfd %d times", n)
			}
		})
	}
}

// mappings counts this process's mappings of an ipcbench memfd.
func mappings(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "/memfd:ipcbench ")
}

// shmDescriptors lists this process's open memfds and eventfds.
func shmDescriptors(t *testing.T) []string {
	t.Helper()
	fds, err := filepath.Glob("/proc/self/fd/*")
	if err != nil {
		t.Fatal(err)
	}
	var open []string
	for _, fd := range fds {
		target, err := os.Readlink(fd)
		if err != nil {
			continue
		}
		if strings.Contains(target, "memfd:ipcbench") || strings.Contains(target, "[eventfd]") {
			open = append(open, fd+" -> "+target)
		}
	}
	return open
}

// TestCaps: each mechanism carries any size whole with no headroom, has
// only the raw path (so -io go rows say "no poller path"), and says how it
// waits.
func TestCaps(t *testing.T) {
	for _, m := range mechs {
		c := m.Caps(ipc.Config{Size: 64, IO: ipc.IOGo})
		if c.Headroom != 0 || c.MaxMessage != 0 || c.Err != nil || c.Lossy || len(c.Objects) != 0 {
			t.Errorf("%s: caps %+v, want whole messages, no headroom, nothing named", m.Name(), c)
		}
		if c.HasIOMode(ipc.IOGo) || !c.HasIOMode(ipc.IORaw) || c.RawPath == "" {
			t.Errorf("%s: io modes %v (raw path %q), want only raw, named", m.Name(), c.IOModes, c.RawPath)
		}
		if c.Note == "" {
			t.Errorf("%s: no note saying how a side waits", m.Name())
		}
	}
}

// TestSendWhileReceiving: one side's Send and Recv run at once in two
// goroutines, as an open-loop driver runs them, with messages larger than
// the ring, so that the side sleeps for room and for data at the same time
// in two places; every echo arrives, checked, and nothing waits for ever.
func TestSendWhileReceiving(t *testing.T) {
	const n, size = 50, 3*4096 + 100
	for _, m := range mechs {
		t.Run(m.Name(), func(t *testing.T) {
			p := open(t, small(m))
			echo := make(chan error, 1)
			go func() {
				buf := make([]byte, size)
				for i := 0; i < n; i++ {
					if err := p.peer.Recv(buf); err != nil {
						echo <- err
						return
					}
					if err := p.peer.Send(buf); err != nil {
						echo <- err
						return
					}
				}
				echo <- nil
			}()
			sent := make(chan error, 1)
			go func() {
				for i := 0; i < n; i++ {
					if err := p.driver.Send(pattern(size, i)); err != nil {
						sent <- err
						return
					}
				}
				sent <- nil
			}()
			in := make([]byte, size)
			for i := 0; i < n; i++ {
				if err := p.driver.Recv(in); err != nil {
					t.Fatalf("echo %d: %v", i, err)
				}
				if string(in) != string(pattern(size, i)) {
					t.Fatalf("echo %d arrived corrupt", i)
				}
			}
			for _, c := range []chan error{sent, echo} {
				if err := <-c; err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
