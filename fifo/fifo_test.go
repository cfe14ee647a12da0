package fifo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/ipc"
)

// connect is Listen, Dial (in another goroutine: each side waits for the
// other's read end) and Accept in this process.
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
	driver, err := l.Accept(time.Now().Add(cfg.Timeout))
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

func cfg(mode ipc.IOMode, size int) ipc.Config {
	return ipc.Config{Size: size, IO: mode, Timeout: 10 * time.Second}
}

// TestMessages: round trips of messages up to above a FIFO's 64 KiB buffer,
// every byte checked, in both io modes.
func TestMessages(t *testing.T) {
	for _, mode := range []ipc.IOMode{ipc.IORaw, ipc.IOGo} {
		for _, size := range []int{16, 4096, 65536 + 7, 1 << 20} {
			t.Run(fmt.Sprintf("%s/%d", mode, size), func(t *testing.T) {
				_, driver, peer := connect(t, cfg(mode, size))
				errc := make(chan error, 1)
				go func() {
					f := ipc.NewFrame(0, size, 0)
					for range 3 {
						if err := peer.Recv(f); err != nil {
							errc <- err
							return
						}
						for i := range f {
							f[i]++
						}
						if err := peer.Send(f); err != nil {
							errc <- err
							return
						}
					}
					errc <- nil
				}()
				f := ipc.NewFrame(0, size, 0)
				for n := range 3 {
					for i := range f {
						f[i] = byte(n + i + i>>8)
					}
					if err := driver.Send(f); err != nil {
						t.Fatal(err)
					}
					if err := driver.Recv(f); err != nil {
						t.Fatal(err)
					}
					for i := range f {
						if f[i] != byte(n+i+i>>8)+1 {
							t.Fatalf("round trip %d: byte %d is %#x", n, i, f[i])
						}
					}
				}
				if err := <-errc; err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// TestSetUp: both FIFOs are in a private 0700 directory with mode 0600, the
// descriptors are blocking for raw and non-blocking for go, and Close
// removes the directory (twice is fine).
func TestSetUp(t *testing.T) {
	for _, mode := range []ipc.IOMode{ipc.IORaw, ipc.IOGo} {
		t.Run(string(mode), func(t *testing.T) {
			l, _, _ := connect(t, cfg(mode, 16))
			dir := l.Endpoint().Addr
			if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
				t.Fatalf("directory: %v, %v; want mode 0700", fi, err)
			}
			for _, name := range []string{toPeer, toDriver} {
				fi, err := os.Stat(filepath.Join(dir, name))
				if err != nil || fi.Mode().Type() != os.ModeNamedPipe || fi.Mode().Perm() != 0o600 {
					t.Errorf("%s: %v, %v; want a FIFO of mode 0600", name, fi, err)
				}
			}
			for i := range 2 {
				if err := l.Close(); err != nil {
					t.Fatalf("Close #%d: %v", i+1, err)
				}
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("after Close, the directory: %v, want it gone", err)
			}
		})
	}
}

// TestNoPeer: Accept with no peer fails once its deadline has passed, or at
// once when the listener closes, saying so; it never blocks in open(2).
func TestNoPeer(t *testing.T) {
	l, err := New().Listen(cfg(ipc.IORaw, 16))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.Accept(time.Now().Add(30 * time.Millisecond)); !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), "the peer did not connect within") {
		t.Errorf("Accept with no peer: %v, want a deadline error", err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := l.Accept(time.Now().Add(time.Hour))
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond)
	l.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, ipc.ErrClosed) {
			t.Errorf("Accept when the listener closed: %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Accept still waiting 10s after Close")
	}
}

// TestOtherSideCloses: once one side has closed, the other's Recv and Send
// say so (end of file, EPIPE) instead of blocking.
func TestOtherSideCloses(t *testing.T) {
	for _, mode := range []ipc.IOMode{ipc.IORaw, ipc.IOGo} {
		for _, who := range []string{"driver", "peer"} {
			t.Run(string(mode)+"/"+who, func(t *testing.T) {
				_, driver, peer := connect(t, cfg(mode, 4096))
				closer, other := driver, peer
				if who == "peer" {
					closer, other = peer, driver
				}
				closer.Close()
				f := ipc.NewFrame(0, 4096, 0)
				if err := other.Recv(f); !errors.Is(err, ipc.ErrClosed) {
					t.Errorf("Recv: %v, want ErrClosed", err)
				}
				if err := other.Send(f); !errors.Is(err, ipc.ErrClosed) {
					t.Errorf("Send: %v, want ErrClosed", err)
				}
			})
		}
	}
}

// TestNotAFIFO: a file put in a FIFO's place is refused, not written to.
func TestNotAFIFO(t *testing.T) {
	l, err := New().Listen(cfg(ipc.IORaw, 16))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p := filepath.Join(l.Endpoint().Addr, toPeer)
	os.Remove(p)
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New().Dial(l.Endpoint(), cfg(ipc.IORaw, 16)); err == nil {
		t.Error("Dial opened a regular file in place of a FIFO")
	}
	os.Remove(p)
	if err := os.Symlink("/dev/null", p); err != nil {
		t.Fatal(err)
	}
	if _, err := New().Dial(l.Endpoint(), cfg(ipc.IORaw, 16)); err == nil {
		t.Error("Dial followed a symbolic link in place of a FIFO")
	}
}

// TestNoAllocs: a round trip through the driver's Send and Recv allocates
// nothing.
func TestNoAllocs(t *testing.T) {
	for _, mode := range []ipc.IOMode{ipc.IORaw, ipc.IOGo} {
		t.Run(string(mode), func(t *testing.T) {
			_, driver, peer := connect(t, cfg(mode, 4096))
			done := make(chan struct{})
			go func() {
				defer close(done)
				f := ipc.NewFrame(0, 4096, 0)
				for peer.Recv(f) == nil && peer.Send(f) == nil {
				}
			}()
			t.Cleanup(func() { driver.Close(); <-done })
			f := ipc.NewFrame(0, 4096, 0)
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
