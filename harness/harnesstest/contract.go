package harnesstest

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/ipc"
)

// TB is what the suite needs of a test: a *testing.T is one. The suite's own
// tests run it under a recorder instead, to prove that a broken Transport
// fails it (as testing/fstest's tests do with fstest.TestFS).
type TB interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
	Cleanup(func())
	Failed() bool
	Name() string
}

// T is a TB that runs subtests.
type T interface {
	TB
	Run(name string, f func(T)) bool
}

// Wrap makes a *testing.T a T.
func Wrap(t *testing.T) T { return testingT{t} }

type testingT struct{ *testing.T }

func (t testingT) Run(name string, f func(T)) bool {
	return t.T.Run(name, func(t *testing.T) { f(testingT{t}) })
}

// waitLimit bounds every wait for a call that must return (one that Close
// must wake, an Accept past its deadline), so that a Transport that fails to
// return fails the suite instead of hanging it. It is a guard, not a measure
// of anything: on a loaded machine a correct call returns long before.
var waitLimit = 10 * time.Second

var ioModes = []ipc.IOMode{ipc.IORaw, ipc.IOGo}

// CellConfig is the Config of an in-process test cell: messages of size
// bytes in the given io mode, and a timeout long enough for a loaded
// machine.
func CellConfig(mode ipc.IOMode, size int) ipc.Config {
	return ipc.Config{Size: size, IO: mode, Timeout: 10 * time.Second, RecvTimeout: 2 * time.Second}
}

// Contract checks the in-process contract of a Transport (package ipc), as
// its Caps describe it, with both ends in this process: Dial runs on a
// goroutine with duplicates of the Endpoint's files, as a peer process
// inherits them. That is enough for the Transport's own promises; timing two
// processes is the workloads' job (Run).
//
//   - Messages: whole messages of sizes around the mechanism's MaxMessage,
//     the pipe buffer and 1 MiB go both ways, every byte checked (a Lossy
//     mechanism: every message that arrives is intact, a lost one is an
//     ErrTimeout within Config.RecvTimeout);
//   - CloseTwice: Listener.Close and Conn.Close may be called twice;
//   - CloseWakes: Listener.Close from another goroutine wakes a Recv blocked
//     on the driver's Conn, with ErrClosed (unless Caps.NoCloseWake says why
//     it cannot);
//   - ErrClosed: once one side has closed its Conn, the other's Recv and Send
//     return ErrClosed (with Caps.NoCloseNotice: once the Listener has
//     closed);
//   - AcceptDeadline: Accept with no peer returns by its deadline, and
//     Listener.Close wakes an Accept that waits;
//   - NoAllocs: Send and Recv allocate nothing, whole or split.
func Contract(t T, tr ipc.Transport) {
	t.Run("Messages", func(t T) { testMessages(t, tr) })
	t.Run("CloseTwice", func(t T) { testCloseTwice(t, tr) })
	t.Run("CloseWakes", func(t T) { testCloseWakes(t, tr) })
	t.Run("ErrClosed", func(t T) { testErrClosed(t, tr) })
	t.Run("AcceptDeadline", func(t T) { testAcceptDeadline(t, tr) })
	t.Run("NoAllocs", func(t T) { testNoAllocs(t, tr) })
}

// RunStreamSocketSuite is Contract, under its former name.
//
// Deprecated: Run runs Contract for every mechanism.
func RunStreamSocketSuite(t *testing.T, tr ipc.Transport) { Contract(Wrap(t), tr) }

// SizesFor are the message sizes that bite for a mechanism with these Caps:
// the smallest message, small ones, one either side of MaxMessage (where
// splitting starts), one above the 64 KiB default pipe buffer, and 1 MiB.
func SizesFor(caps ipc.Caps) []int {
	s := []int{harness.MinSize, 64, 4096, 65536 + 1, 1 << 20}
	if m := caps.MaxMessage; m > 0 {
		s = append(s, m-1, m, m+1, 2*m+3)
	}
	s = slices.DeleteFunc(s, func(n int) bool { return n < harness.MinSize || n > 1<<20 })
	slices.Sort(s)
	return slices.Compact(s)
}

// Pair is one channel set up in process: the Listener and both ends, with
// the headroom their frames need. The ends are split as the harness splits
// them when the mechanism cannot carry a message whole.
type Pair struct {
	L            ipc.Listener
	Driver, Peer ipc.Conn
	Caps         ipc.Caps
	Cfg          ipc.Config
}

// Frame is a frame for the pair's messages.
func (p *Pair) Frame() []byte { return ipc.NewFrame(p.Caps.Headroom, p.Cfg.Size, p.Cfg.Offset) }

// Connect sets up a channel in process as the harness does across two:
// Listen, Dial (on a goroutine, with duplicates of the Endpoint's files,
// whose originals are then closed), and once Dial has returned, Accept.
// Everything is closed when the test ends: the peer first, which ends any
// call still blocked on the driver's side.
func Connect(t TB, tr ipc.Transport, cfg ipc.Config) (l ipc.Listener, driver, peer ipc.Conn) {
	t.Helper()
	p := ConnectPair(t, tr, cfg)
	return p.L, p.Driver, p.Peer
}

// ConnectPair is Connect returning the Pair.
func ConnectPair(t TB, tr ipc.Transport, cfg ipc.Config) *Pair {
	t.Helper()
	caps := tr.Caps(cfg)
	if caps.Err != nil {
		t.Fatalf("Caps(size %d): %v", cfg.Size, caps.Err)
	}
	l, err := tr.Listen(cfg)
	if err != nil {
		t.Fatalf("Listen(size %d, %s): %v", cfg.Size, cfg.IO, err)
	}
	t.Cleanup(func() { l.Close() })
	ep := l.Endpoint()
	peerEP, err := inherit(ep, cfg.IO)
	if err != nil {
		t.Fatalf("%v", err)
	}
	type dialed struct {
		c   ipc.Conn
		err error
	}
	ch := make(chan dialed, 1)
	go func() {
		c, err := tr.Dial(peerEP, cfg)
		ch <- dialed{c, err}
	}()
	var d dialed
	select {
	case d = <-ch:
	case <-time.After(waitLimit):
		t.Fatalf("Dial did not return within %v", waitLimit)
	}
	if d.err != nil {
		t.Fatalf("Dial: %v", d.err)
	}
	for _, f := range ep.Files {
		f.Close() // the peer has its own copies, as after the harness starts it
	}
	driver, err := l.Accept(time.Now().Add(cfg.Timeout))
	if err != nil {
		d.c.Close()
		t.Fatalf("Accept: %v", err)
	}
	p := &Pair{L: l, Driver: driver, Peer: d.c, Caps: caps, Cfg: cfg}
	if n := caps.Pieces(cfg.Size); n > 1 {
		p.Driver = ipc.Split(p.Driver, caps.Headroom, caps.MaxMessage)
		p.Peer = ipc.Split(p.Peer, caps.Headroom, caps.MaxMessage)
	}
	t.Cleanup(func() {
		d.c.Close()
		driver.Close()
	})
	return p
}

// inherit duplicates the Endpoint's files as a peer process inherits them.
func inherit(ep ipc.Endpoint, mode ipc.IOMode) (ipc.Endpoint, error) {
	out := ipc.Endpoint{Addr: ep.Addr}
	for i, f := range ep.Files {
		nf, err := dupFile(f, fmt.Sprintf("inherited-%d", i), mode)
		if err != nil {
			for _, g := range out.Files {
				g.Close()
			}
			return out, fmt.Errorf("duplicating the Endpoint's file %d: %w", i, err)
		}
		out.Files = append(out.Files, nf)
	}
	return out, nil
}

// fill writes a pattern that differs for every seed and, within a message,
// does not repeat every 256 bytes, so a shifted or stale message shows.
func fill(msg []byte, seed int) {
	for i := range msg {
		msg[i] = byte(seed*131 + i + i>>8 + i>>16)
	}
}

func check(msg []byte, seed int) error {
	for i := range msg {
		if want := byte(seed*131 + i + i>>8 + i>>16); msg[i] != want {
			return fmt.Errorf("message %d: byte %d of %d is %#x, want %#x", seed, i, len(msg), msg[i], want)
		}
	}
	return nil
}

// each runs f for every io mode and size, as subtests, skipping a size the
// mechanism cannot carry here (Caps.Err).
func each(t T, tr ipc.Transport, sizes func(ipc.Caps) []int, f func(t T, cfg ipc.Config)) {
	for _, mode := range ioModes {
		for _, size := range sizes(tr.Caps(CellConfig(mode, harness.MinSize))) {
			cfg := CellConfig(mode, size)
			if err := tr.Caps(cfg).Err; err != nil {
				t.Logf("%s %d B: not carried here: %v", mode, size, err)
				continue
			}
			t.Run(fmt.Sprintf("%s/%d", mode, size), func(t T) { f(t, cfg) })
		}
	}
}

// testMessages sends messages each way, one-way bursts and then round trips
// (a lossy mechanism: round trips only), and checks every byte.
func testMessages(t T, tr ipc.Transport) {
	each(t, tr, SizesFor, func(t T, cfg ipc.Config) {
		p := ConnectPair(t, tr, cfg)
		h := p.Caps.Headroom
		if p.Caps.Lossy {
			lossyRoundTrips(t, p)
			return
		}
		const n = 4
		done := make(chan error, 1)
		go func() {
			err := func() error {
				f := p.Frame()
				for i := range n { // driver -> peer
					if err := p.Peer.Recv(f); err != nil {
						return fmt.Errorf("peer Recv: %w", err)
					}
					if err := check(f[h:], i); err != nil {
						return err
					}
				}
				for i := range n { // peer -> driver
					fill(f[h:], 100+i)
					if err := p.Peer.Send(f); err != nil {
						return fmt.Errorf("peer Send: %w", err)
					}
				}
				for i := range n { // echo with a new pattern
					if err := p.Peer.Recv(f); err != nil {
						return fmt.Errorf("peer Recv: %w", err)
					}
					if err := check(f[h:], 200+i); err != nil {
						return err
					}
					fill(f[h:], 300+i)
					if err := p.Peer.Send(f); err != nil {
						return fmt.Errorf("peer Send: %w", err)
					}
				}
				return nil
			}()
			if err != nil {
				// The driver would wait for a message that never
				// comes: closing the channel makes its call fail.
				p.L.Close()
				p.Peer.Close()
			}
			done <- err
		}()
		fatal := func(format string, args ...any) {
			t.Helper()
			p.L.Close()
			p.Driver.Close()
			select {
			case err := <-done:
				if err != nil && !errors.Is(err, ipc.ErrClosed) {
					t.Errorf("%v", err)
				}
			case <-time.After(waitLimit):
				t.Errorf("peer still running %v after the driver closed", waitLimit)
			}
			t.Fatalf(format, args...)
		}
		f := p.Frame()
		for i := range n {
			fill(f[h:], i)
			if err := p.Driver.Send(f); err != nil {
				fatal("driver Send: %v", err)
			}
			if err := check(f[h:], i); err != nil {
				fatal("Send changed the sender's message: %v", err)
			}
		}
		for i := range n {
			clear(f)
			if err := p.Driver.Recv(f); err != nil {
				fatal("driver Recv: %v", err)
			}
			if err := check(f[h:], 100+i); err != nil {
				fatal("driver received: %v", err)
			}
		}
		for i := range n {
			fill(f[h:], 200+i)
			if err := p.Driver.Send(f); err != nil {
				fatal("driver Send: %v", err)
			}
			clear(f)
			if err := p.Driver.Recv(f); err != nil {
				fatal("driver Recv: %v", err)
			}
			if err := check(f[h:], 300+i); err != nil {
				fatal("driver received: %v", err)
			}
		}
		if err := <-done; err != nil {
			t.Fatalf("%v", err)
		}
	})
}

// lossyRoundTrips: over a lossy mechanism, round trips whose messages may
// be lost, but never corrupted; a loss is an ErrTimeout, not a hang.
func lossyRoundTrips(t T, p *Pair) {
	const n = 8
	h := p.Caps.Headroom
	stop := make(chan struct{})
	echoed := make(chan error, 1)
	go func() {
		f := p.Frame()
		for {
			err := p.Peer.Recv(f)
			select {
			case <-stop:
				echoed <- nil
				return
			default:
			}
			if errors.Is(err, ipc.ErrTimeout) {
				continue
			}
			if err == nil {
				err = p.Peer.Send(f)
			}
			if err != nil && !errors.Is(err, ipc.ErrTimeout) {
				echoed <- fmt.Errorf("peer: %w", err)
				return
			}
		}
	}()
	f := p.Frame()
	lost := 0
	for i := range n {
		fill(f[h:], i)
		if err := p.Driver.Send(f); err != nil && !errors.Is(err, ipc.ErrTimeout) {
			t.Fatalf("driver Send: %v", err)
		}
		clear(f)
		err := p.Driver.Recv(f)
		switch {
		case errors.Is(err, ipc.ErrTimeout):
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("ErrTimeout %v does not wrap os.ErrDeadlineExceeded", err)
			}
			lost++
		case err != nil:
			t.Fatalf("driver Recv: %v", err)
		default:
			// A late echo of an earlier message is a loss counted
			// already; anything else must be the message intact.
			if check(f[h:], i) != nil {
				ok := false
				for j := range i {
					ok = ok || check(f[h:], j) == nil
				}
				if !ok {
					t.Fatalf("round trip %d: the echo is none of the messages sent", i)
				}
			}
		}
	}
	close(stop)
	fill(f[h:], 0)
	p.Driver.Send(f) // wakes the echo loop if it waits
	select {
	case err := <-echoed:
		if err != nil {
			t.Errorf("%v", err)
		}
	case <-time.After(waitLimit + p.Cfg.RecvTimeout):
		t.Errorf("the peer's Recv did not return within its RecvTimeout")
	}
	t.Logf("%d of %d round trips lost", lost, n)
}

// testCloseTwice: Listener.Close twice returns no error either time, and a
// Conn may be closed twice (the second may report it, but must not panic).
func testCloseTwice(t T, tr ipc.Transport) {
	for _, mode := range ioModes {
		t.Run(string(mode), func(t T) {
			p := ConnectPair(t, tr, CellConfig(mode, 64))
			for i := range 2 {
				if err := p.L.Close(); err != nil {
					t.Errorf("Listener.Close #%d: %v", i+1, err)
				}
			}
			for i := range 2 {
				p.Peer.Close()
				p.Driver.Close()
				_ = i
			}
		})
	}
}

// testCloseWakes: Listener.Close from another goroutine ends the cell,
// waking a Recv blocked on the driver's Conn with ErrClosed, in raw mode
// too, where closing a descriptor would not.
func testCloseWakes(t T, tr ipc.Transport) {
	for _, mode := range ioModes {
		t.Run(string(mode), func(t T) {
			cfg := CellConfig(mode, 64)
			cfg.RecvTimeout = 0 // a lossy Recv must wait too
			p := ConnectPair(t, tr, cfg)
			if why := p.Caps.NoCloseWake; why != "" {
				t.Logf("not checked: %s", why)
				return
			}
			errc := make(chan error, 1)
			var once sync.Once
			go func() { errc <- p.Driver.Recv(p.Frame()) }()
			// Whatever happens, the blocked call must end before the
			// Conns are closed (a raw Conn reads its descriptor by
			// number): closing the peer's end is what a peer's exit does.
			t.Cleanup(func() {
				once.Do(func() {
					p.Peer.Close()
					select {
					case <-errc:
					case <-time.After(waitLimit):
					}
				})
			})
			waitBlocked()
			if err := p.L.Close(); err != nil {
				t.Fatalf("Listener.Close: %v", err)
			}
			select {
			case err := <-errc:
				once.Do(func() {})
				if !errors.Is(err, ipc.ErrClosed) {
					t.Errorf("Recv blocked when the listener closed returned %v, want ErrClosed", err)
				}
			case <-time.After(waitLimit):
				t.Fatalf("Recv still blocked %v after Listener.Close (if the mechanism cannot wake it, Caps.NoCloseWake must say why)", waitLimit)
			}
		})
	}
}

// waitBlocked gives a goroutine that is about to block a moment to get
// there. The checks do not depend on it: a call that has not blocked yet
// when Close runs must fail just the same.
func waitBlocked() { time.Sleep(20 * time.Millisecond) }

// testErrClosed: when one side closes its Conn, Recv on the other returns
// ErrClosed, and so does Send, at the latest once the kernel knows. A
// mechanism whose channel outlives its Conns (Caps.NoCloseNotice) ends it
// with Listener.Close instead, and then both sides get ErrClosed.
func testErrClosed(t T, tr ipc.Transport) {
	for _, mode := range ioModes {
		for _, who := range []string{"driver", "peer", "listener"} {
			t.Run(fmt.Sprintf("%s/%s", mode, who), func(t T) {
				cfg := CellConfig(mode, 4096)
				cfg.RecvTimeout = 0
				p := ConnectPair(t, tr, cfg)
				notice := p.Caps.NoCloseNotice == ""
				var others []ipc.Conn
				switch {
				case who == "listener" && !notice:
					if err := p.L.Close(); err != nil {
						t.Fatalf("Listener.Close: %v", err)
					}
					others = []ipc.Conn{p.Driver, p.Peer}
				case who == "listener":
					t.Logf("the Conns' Close ends the channel: checked by the other cases")
					return
				case !notice:
					t.Logf("not checked: %s", p.Caps.NoCloseNotice)
					return
				case who == "driver":
					p.Driver.Close()
					others = []ipc.Conn{p.Peer}
				default:
					p.Peer.Close()
					others = []ipc.Conn{p.Driver}
				}
				for _, other := range others {
					f := p.Frame()
					errc := make(chan error, 1)
					go func() { errc <- other.Recv(f) }()
					select {
					case err := <-errc:
						if !errors.Is(err, ipc.ErrClosed) {
							t.Errorf("Recv after the %s closed: %v, want ErrClosed", who, err)
						}
					case <-time.After(waitLimit):
						t.Fatalf("Recv still blocked %v after the %s closed", waitLimit, who)
					}
					var err error
					for range 100 {
						if err = other.Send(f); err != nil {
							break
						}
					}
					if !errors.Is(err, ipc.ErrClosed) {
						t.Errorf("Send after the %s closed: %v, want ErrClosed", who, err)
					}
				}
			})
		}
	}
}

// testAcceptDeadline: Accept with no peer returns by its deadline (at once
// for a mechanism that needs no connecting, which hands out its Conn), and
// Listener.Close wakes an Accept that waits.
func testAcceptDeadline(t T, tr ipc.Transport) {
	accept := func(t T, l ipc.Listener, deadline time.Time) {
		t.Helper()
		type accepted struct {
			c   ipc.Conn
			err error
		}
		ch := make(chan accepted, 1)
		go func() {
			c, err := l.Accept(deadline)
			ch <- accepted{c, err}
		}()
		select {
		case a := <-ch:
			if a.err == nil {
				a.c.Close()
			}
		case <-time.After(time.Until(deadline) + waitLimit):
			t.Fatalf("Accept with no peer still waiting %v past its deadline", waitLimit)
		}
	}
	for _, tc := range []struct {
		name     string
		deadline time.Duration
	}{{"past", -time.Second}, {"soon", 20 * time.Millisecond}} {
		t.Run(tc.name, func(t T) {
			l, err := tr.Listen(CellConfig(ipc.IORaw, harness.MinSize))
			if err != nil {
				t.Fatalf("Listen: %v", err)
			}
			defer l.Close()
			defer closeFiles(l.Endpoint())
			accept(t, l, time.Now().Add(tc.deadline))
		})
	}
	t.Run("closed while waiting", func(t T) {
		l, err := tr.Listen(CellConfig(ipc.IORaw, harness.MinSize))
		if err != nil {
			t.Fatalf("Listen: %v", err)
		}
		defer closeFiles(l.Endpoint())
		errc := make(chan error, 1)
		go func() {
			c, err := l.Accept(time.Now().Add(time.Hour))
			if err == nil {
				c.Close()
			}
			errc <- err
		}()
		waitBlocked()
		if err := l.Close(); err != nil {
			t.Fatalf("Listener.Close: %v", err)
		}
		select {
		case <-errc:
		case <-time.After(waitLimit):
			t.Fatalf("Accept still waiting %v after the listener closed", waitLimit)
		}
	})
}

func closeFiles(ep ipc.Endpoint) {
	for _, f := range ep.Files {
		f.Close()
	}
}

// testNoAllocs: a round trip through the driver's Send and Recv allocates
// nothing, as the timed loop requires, for a small message, one split into
// pieces (if the mechanism splits) and a large one.
func testNoAllocs(t T, tr ipc.Transport) {
	sizes := func(c ipc.Caps) []int {
		s := []int{64, 65536}
		if c.MaxMessage > 0 {
			s = append(s, 2*c.MaxMessage+3)
		}
		return s
	}
	each(t, tr, sizes, func(t T, cfg ipc.Config) {
		p := ConnectPair(t, tr, cfg)
		lossy := p.Caps.Lossy
		echoed := make(chan struct{})
		go func() { // echo until the channel closes
			defer close(echoed)
			f := p.Frame()
			for {
				err := p.Peer.Recv(f)
				if err == nil {
					err = p.Peer.Send(f)
				}
				if err != nil && !(lossy && errors.Is(err, ipc.ErrTimeout)) {
					return
				}
			}
		}()
		// The echo must end before the Conns are closed: a raw Conn
		// reads its descriptor by number, and a Recv called after Close
		// could read a later test's descriptor that reused the number.
		t.Cleanup(func() {
			p.L.Close()
			p.Driver.Close()
			select {
			case <-echoed:
			case <-time.After(waitLimit):
			}
		})
		f := p.Frame()
		var err error
		allocs := testing.AllocsPerRun(50, func() {
			if err == nil {
				err = p.Driver.Send(f)
			}
			if err == nil {
				err = p.Driver.Recv(f)
			}
			if lossy && errors.Is(err, ipc.ErrTimeout) {
				err = nil
			}
		})
		if err != nil {
			t.Fatalf("%v", err)
		}
		if allocs != 0 {
			t.Errorf("Send+Recv allocated %v times per round trip, want 0", allocs)
		}
	})
}
