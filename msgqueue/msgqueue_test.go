package msgqueue

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/ipc"

	"golang.org/x/sys/unix"
)

// ours records every queue the tests created, so that TestMain can tell a
// queue these tests leaked from one another process (a concurrent test
// binary, say) made meanwhile.
var ours struct {
	sync.Mutex
	ids map[int]bool
}

func TestMain(m *testing.M) {
	harness.MaybeRunPeer([]ipc.Transport{New()}) // for the conformance suite
	before, err := queueIDs()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	after, err := queueIDs()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for id := range after {
		if before[id] {
			continue
		}
		ours.Lock()
		leaked := ours.ids[id]
		ours.Unlock()
		if leaked {
			fmt.Fprintf(os.Stderr, "FAIL: the tests left System V message queue %d behind\n", id)
			remove(id)
			code = 1
		} else {
			fmt.Fprintf(os.Stderr, "note: System V message queue %d appeared during the tests but is not theirs\n", id)
		}
	}
	os.Exit(code)
}

// record notes queues the tests made, for TestMain's leak check.
func record(ids ...int) {
	ours.Lock()
	defer ours.Unlock()
	if ours.ids == nil {
		ours.ids = map[int]bool{}
	}
	for _, id := range ids {
		ours.ids[id] = true
	}
}

// queueIDs lists the System V message queues that exist now.
func queueIDs() (map[int]bool, error) {
	b, err := os.ReadFile("/proc/sysvipc/msg")
	if err != nil {
		return nil, err
	}
	ids := map[int]bool{}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for _, line := range lines[1:] { // the first line is the header
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		id, err := strconv.Atoi(f[1])
		if err != nil {
			return nil, fmt.Errorf("/proc/sysvipc/msg: msqid %q: %v", f[1], err)
		}
		ids[id] = true
	}
	return ids, nil
}

// pair is one driver/peer channel in this process.
type pair struct {
	ln        ipc.Listener
	drv, peer ipc.Conn
	d2p, p2d  int
	size      int
	piece     int
}

// newPair listens, accepts and dials for messages of size bytes, and checks
// at cleanup that the queues are gone.
func newPair(t *testing.T, size int, mode ipc.IOMode) *pair {
	t.Helper()
	tr := New()
	cfg := ipc.Config{Size: size, IO: mode, Timeout: 10 * time.Second}
	ln, err := tr.Listen(cfg)
	if err != nil {
		t.Fatalf("Listen(size %d): %v", size, err)
	}
	caps := tr.Caps(cfg)
	if caps.Err != nil {
		ln.Close()
		t.Fatalf("Caps(size %d): %v", size, caps.Err)
	}
	p := &pair{ln: ln, size: size, piece: caps.MaxMessage}
	if _, err := fmt.Sscanf(ln.Endpoint().Addr, "%d,%d", &p.d2p, &p.p2d); err != nil {
		ln.Close()
		t.Fatalf("Endpoint().Addr %q: %v", ln.Endpoint().Addr, err)
	}
	record(p.d2p, p.p2d)
	t.Cleanup(func() {
		if err := ln.Close(); err != nil {
			t.Errorf("Listener.Close: %v", err)
		}
		ids, err := queueIDs()
		if err != nil {
			t.Fatal(err)
		}
		if ids[p.d2p] || ids[p.p2d] {
			t.Errorf("queues %d and %d still exist after Listener.Close", p.d2p, p.p2d)
		}
	})
	if len(ln.Endpoint().Files) != 0 {
		t.Errorf("Endpoint has %d files, want none", len(ln.Endpoint().Files))
	}
	p.drv, err = ln.Accept(time.Now().Add(cfg.Timeout))
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	p.peer, err = tr.Dial(ln.Endpoint(), cfg)
	if err != nil {
		t.Fatalf("Dial(%q): %v", ln.Endpoint().Addr, err)
	}
	if caps.Pieces(size) > 1 { // as the harness does on both sides
		p.drv = ipc.Split(p.drv, caps.Headroom, caps.MaxMessage)
		p.peer = ipc.Split(p.peer, caps.Headroom, caps.MaxMessage)
	}
	return p
}

func sysLimits(t *testing.T) limits {
	t.Helper()
	l, err := readLimits()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// fill writes a pattern into msg that differs for every message, direction
// and position (a xorshift stream seeded by both), so that a piece that is
// lost, repeated, reordered or shifted shows.
func fill(msg []byte, seed uint64) {
	x := seed*0x9E3779B97F4A7C15 | 1
	for i := range msg {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		msg[i] = byte(x)
	}
}

// verify checks msg against fill(seed) and says where it first differs.
func verify(msg []byte, seed uint64) error {
	want := make([]byte, len(msg))
	fill(want, seed)
	if bytes.Equal(msg, want) {
		return nil
	}
	for i := range msg {
		if msg[i] != want[i] {
			return fmt.Errorf("message %#x of %d bytes differs first at byte %d: got %#02x, want %#02x", seed, len(msg), i, msg[i], want[i])
		}
	}
	panic("unreachable")
}

func seed(size, i, dir int) uint64 { return uint64(size)<<24 | uint64(i)<<4 | uint64(dir) }

// bothPaths runs f with ordinary calls and again inside an ipc.Unmanaged
// window for threads raw threads, where conn's calls are raw and, on
// amd64, made by the assembly of pieces_amd64.s: each path is its own code.
func bothPaths(t *testing.T, threads int, f func(t *testing.T)) {
	t.Helper()
	t.Run("calls", f)
	t.Run("raw", func(t *testing.T) {
		// A cleanup registered first runs last: after the pair's, which
		// removes the queues, so no raw call is left when the window closes.
		t.Cleanup(ipc.Unmanaged(threads))
		if !ipc.RawCalls() {
			t.Fatal("ipc.RawCalls is false inside an Unmanaged window")
		}
		f(t)
	})
}

var sizes = []int{16, 100, 8192, 8193, 16384, 20000, 65536, 65536 + 5}

// TestRoundTrip echoes several messages of every size through a peer
// goroutine and checks every byte both ways, and that Send leaves the
// sender's frame as it was.
func TestRoundTrip(t *testing.T) {
	for _, mode := range []ipc.IOMode{ipc.IORaw, ipc.IOGo} {
		for _, size := range sizes {
			test := func(t *testing.T) {
				const n = 5
				p := newPair(t, size, mode)
				done := make(chan error, 1)
				go func() {
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
					err := echo(p.peer, size, n)
					if err != nil {
						p.ln.Close() // wake the driver rather than hang
					}
					done <- err
				}()
				frame := ipc.NewFrame(headroom, size, 0)
				for i := range n {
					fill(frame[headroom:], seed(size, i, 0))
					if err := p.drv.Send(frame); err != nil {
						t.Fatalf("driver Send %d: %v", i, err)
					}
					if err := verify(frame[headroom:], seed(size, i, 0)); err != nil {
						t.Fatalf("Send changed the sender's frame: %v", err)
					}
					clear(frame)
					if err := p.drv.Recv(frame); err != nil {
						if perr := <-done; perr != nil {
							t.Fatal(perr)
						}
						t.Fatalf("driver Recv %d: %v", i, err)
					}
					if err := verify(frame[headroom:], seed(size, i, 1)); err != nil {
						t.Fatalf("driver received: %v", err)
					}
				}
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			}
			name := fmt.Sprintf("%s/%d", mode, size)
			if mode == ipc.IORaw {
				t.Run(name, func(t *testing.T) { bothPaths(t, 2, test) })
			} else {
				t.Run(name, test)
			}
		}
	}
}

// echo receives n messages, checks each, and answers with a different one.
func echo(c ipc.Conn, size, n int) error {
	frame := ipc.NewFrame(headroom, size, 0)
	for i := range n {
		clear(frame)
		if err := c.Recv(frame); err != nil {
			return fmt.Errorf("peer Recv %d: %w", i, err)
		}
		if err := verify(frame[headroom:], seed(size, i, 0)); err != nil {
			return fmt.Errorf("peer received: %w", err)
		}
		fill(frame[headroom:], seed(size, i, 1))
		if err := c.Send(frame); err != nil {
			return fmt.Errorf("peer Send %d: %w", i, err)
		}
	}
	return nil
}

// lockedThread runs f on a goroutine locked to its thread and returns the
// thread id, so that the test can see when f blocks in a syscall.
func lockedThread(f func() error) (tid int, done <-chan error) {
	tids := make(chan int)
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tids <- unix.Gettid()
		errc <- f()
	}()
	return <-tids, errc
}

// waitBlocked waits until thread tid sits in syscall nr (polling: a thread's
// current syscall is in /proc/self/task/TID/syscall). The time limit is only a
// guard against hanging the test, not a measure of anything.
func waitBlocked(t *testing.T, tid int, nr uintptr, done <-chan error) {
	t.Helper()
	path := fmt.Sprintf("/proc/self/task/%d/syscall", tid)
	want := strconv.FormatUint(uint64(nr), 10) + " "
	limit := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("cannot see what thread %d does: %v", tid, err)
		}
		if strings.HasPrefix(string(b), want) {
			return
		}
		select {
		case err := <-done:
			t.Fatalf("returned instead of blocking in syscall %d: %v", nr, err)
		default:
		}
		if time.Now().After(limit) {
			t.Fatalf("thread %d never blocked in syscall %d (last: %q)", tid, nr, b)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSenderAhead sends messages back to back before the receiver reads any,
// so msgsnd blocks on a full queue, then receives them all.
func TestSenderAhead(t *testing.T) {
	for _, size := range []int{16, 8193, 65536 + 5} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			l := sysLimits(t)
			// More than the queue holds (msgmnb bytes), whatever the limits.
			n := int(l.msgmnb)/size + 3
			p := newPair(t, size, ipc.IORaw)
			tid, done := lockedThread(func() error {
				frame := ipc.NewFrame(headroom, size, 0)
				for i := range n {
					fill(frame[headroom:], seed(size, i, 0))
					if err := p.drv.Send(frame); err != nil {
						return fmt.Errorf("Send %d: %w", i, err)
					}
				}
				return nil
			})
			waitBlocked(t, tid, unix.SYS_MSGSND, done)
			frame := ipc.NewFrame(headroom, size, 0)
			for i := range n {
				clear(frame)
				if err := p.peer.Recv(frame); err != nil {
					t.Fatalf("Recv %d: %v", i, err)
				}
				if err := verify(frame[headroom:], seed(size, i, 0)); err != nil {
					t.Fatal(err)
				}
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestCaps: an 8-byte headroom, the piece size and the sysctl that sets it,
// only the raw path, the sysctls recorded, and queues as named objects.
func TestCaps(t *testing.T) {
	l := sysLimits(t)
	pc, limit, err := l.piece(1)
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []ipc.IOMode{ipc.IORaw, ipc.IOGo} {
		c := New().Caps(ipc.Config{Size: 65536, IO: mode})
		if c.Err != nil || c.Headroom != 8 || c.MaxMessage != pc || c.MaxMessageLimit != limit {
			t.Errorf("Caps(%s) = %+v, want headroom 8, MaxMessage %d set by %s", mode, c, pc, limit)
		}
		if !c.HasIOMode(ipc.IORaw) || c.HasIOMode(ipc.IOGo) || c.RawPath != "blocking msgsnd/msgrcv" {
			t.Errorf("Caps(%s): io modes %v, raw path %q: want raw only, by blocking msgsnd/msgrcv", mode, c.IOModes, c.RawPath)
		}
		if !slices.Equal(c.Sysctls, []string{"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni"}) {
			t.Errorf("Caps(%s).Sysctls = %q", mode, c.Sysctls)
		}
		if len(c.Objects) != 1 || c.Objects[0].Kind != "sysvmsg" || c.Objects[0].Remove == nil || c.Objects[0].Exists == nil {
			t.Errorf("Caps(%s).Objects = %+v, want the System V queue kind", mode, c.Objects)
		}
		if c.Lossy || c.Remote {
			t.Errorf("Caps(%s): lossy %v, remote %v", mode, c.Lossy, c.Remote)
		}
	}
	if l.msgmax == 8192 && l.msgmnb == 16384 {
		if c := New().Caps(ipc.Config{Size: 65536}); c.Pieces(65536) != 8 || c.MaxMessageLimit != "kernel.msgmax" {
			t.Errorf("Caps(65536) = %+v: want 8 pieces of kernel.msgmax", c)
		}
	}
}

// TestCapsLimitError: limits that leave no room make Caps.Err a LimitError,
// so that the cell is a row with the error.
func TestCapsLimitError(t *testing.T) {
	if _, _, err := (limits{8192, 0}).piece(100); err == nil {
		t.Fatal("no error for kernel.msgmnb 0")
	}
}

func TestPieceLimits(t *testing.T) {
	for _, tc := range []struct {
		l       limits
		size    int
		piece   int
		limit   string
		limitOf string // the sysctl of the LimitError, if any
	}{
		{limits{8192, 16384}, 65536, 8192, "kernel.msgmax", ""},
		{limits{65536, 16384}, 65536, 16384, "kernel.msgmnb", ""},
		{limits{8192, 8192}, 100, 8192, "kernel.msgmax", ""},
		{limits{0, 16384}, 100, 0, "", "kernel.msgmax"},
		{limits{0, 16384}, 0, 1, "kernel.msgmax", ""},
		{limits{8192, 0}, 100, 0, "", "kernel.msgmnb"},
	} {
		p, limit, err := tc.l.piece(tc.size)
		if tc.limitOf != "" {
			var le *ipc.LimitError
			if !errors.As(err, &le) || le.Limit != tc.limitOf {
				t.Errorf("%+v.piece(%d) error = %v, want a LimitError on %s", tc.l, tc.size, err, tc.limitOf)
			}
			continue
		}
		if err != nil || p != tc.piece || limit != tc.limit {
			t.Errorf("%+v.piece(%d) = %d, %q, %v; want %d, %q", tc.l, tc.size, p, limit, err, tc.piece, tc.limit)
		}
	}
	for _, tc := range []struct{ size, p, want int }{
		{0, 8192, 1}, {1, 8192, 1}, {8192, 8192, 1}, {8193, 8192, 2}, {16384, 8192, 2}, {65541, 8192, 9},
	} {
		if got := (ipc.Caps{MaxMessage: tc.p}).Pieces(tc.size); got != tc.want {
			t.Errorf("Pieces(%d) with MaxMessage %d = %d, want %d", tc.size, tc.p, got, tc.want)
		}
	}
}

// TestEmptyMessage carries a message with no text: one empty kernel message.
func TestEmptyMessage(t *testing.T) {
	bothPaths(t, 1, func(t *testing.T) {
		p := newPair(t, 0, ipc.IORaw)
		frame := ipc.NewFrame(headroom, 0, 0)
		if err := p.drv.Send(frame); err != nil {
			t.Fatal(err)
		}
		if err := p.peer.Recv(frame); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSizeMismatch: sides that disagree on the size get an error, not a
// short or merged message.
func TestSizeMismatch(t *testing.T) {
	bothPaths(t, 1, func(t *testing.T) {
		p := newPair(t, 100, ipc.IORaw)
		other, err := New().Dial(p.ln.Endpoint(), ipc.Config{Size: 50})
		if err != nil {
			t.Fatal(err)
		}
		frame := ipc.NewFrame(headroom, 100, 0)
		if err := p.drv.Send(frame); err != nil {
			t.Fatal(err)
		}
		if err := other.Recv(ipc.NewFrame(headroom, 50, 0)); err == nil || !strings.Contains(err.Error(), "disagree") {
			t.Errorf("Recv of a 100-byte message as 50 bytes: %v, want a disagreement", err)
		}
		// msgrcv refused the message with E2BIG, so it is still there; a
		// shorter one is caught by its length.
		if err := p.peer.Recv(frame); err != nil {
			t.Fatal(err)
		}
		if err := other.Send(ipc.NewFrame(headroom, 50, 0)); err != nil {
			t.Fatal(err)
		}
		if err := p.drv.Recv(frame); err == nil || !strings.Contains(err.Error(), "disagree") {
			t.Errorf("Recv of a 50-byte message as 100 bytes: %v, want a disagreement", err)
		}
		if err := p.drv.Send(frame[:headroom-1]); err == nil {
			t.Error("Send of a frame without room for the type succeeded")
		}
	})
}

// TestForeignType: a message of another type than the sender's (another
// program's, on a queue it can write) is an error, also when it is a later
// piece of a split message.
func TestForeignType(t *testing.T) {
	bothPaths(t, 1, func(t *testing.T) {
		for _, size := range []int{100, 65536 + 5} {
			p := newPair(t, size, ipc.IORaw)
			n := min(size, p.piece)
			b := make([]byte, mtypeLen+n)
			if size > n { // the first piece is as it should be
				putMtype(b)
				if err := msgsnd(p.d2p, unsafe.Pointer(&b[0]), n, 0); err != nil {
					t.Fatal(err)
				}
			}
			putType(b, mtype+1)
			if err := msgsnd(p.d2p, unsafe.Pointer(&b[0]), n, 0); err != nil {
				t.Fatal(err)
			}
			err := p.peer.Recv(ipc.NewFrame(headroom, size, 0))
			if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("type %d", mtype+1)) {
				t.Errorf("%d B: Recv of a piece of type %d: %v, want an error naming the type", size, mtype+1, err)
			}
		}
	})
}

func TestCloseRemovesQueues(t *testing.T) {
	tr := New()
	ln, err := tr.Listen(ipc.Config{Size: 64})
	if err != nil {
		t.Fatal(err)
	}
	var d2p, p2d int
	if _, err := fmt.Sscanf(ln.Endpoint().Addr, "%d,%d", &d2p, &p2d); err != nil {
		ln.Close()
		t.Fatal(err)
	}
	record(d2p, p2d)
	ids, err := queueIDs()
	if err != nil {
		t.Fatal(err)
	}
	if !ids[d2p] || !ids[p2d] {
		t.Fatalf("queues %d and %d of Addr %q are not in /proc/sysvipc/msg", d2p, p2d, ln.Endpoint().Addr)
	}
	c, err := ln.Accept(time.Now().Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := ln.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	if ids, err = queueIDs(); err != nil {
		t.Fatal(err)
	}
	if ids[d2p] || ids[p2d] {
		t.Fatalf("queues %d and %d are still in /proc/sysvipc/msg after Close", d2p, p2d)
	}
	// The queues are gone before these calls: EINVAL, reported as ErrClosed.
	frame := ipc.NewFrame(headroom, 64, 0)
	if err := c.Send(frame); !errors.Is(err, ipc.ErrClosed) {
		t.Errorf("Send after Listener.Close: %v, want ErrClosed", err)
	}
	if err := c.Recv(frame); !errors.Is(err, ipc.ErrClosed) {
		t.Errorf("Recv after Listener.Close: %v, want ErrClosed", err)
	}
	if _, err := ln.Accept(time.Now().Add(time.Second)); !errors.Is(err, ipc.ErrClosed) {
		t.Errorf("Accept after Close: %v, want ErrClosed", err)
	}
	if _, err := tr.Dial(ln.Endpoint(), ipc.Config{Size: 64}); err == nil {
		t.Error("Dial to removed queues succeeded")
	}
}

// TestListenHalfFailed: when the second queue cannot be made, the first is
// removed, not leaked.
func TestListenHalfFailed(t *testing.T) {
	var made []int
	defer func() { newQueue = create }()
	newQueue = func() (int, error) {
		if len(made) == 1 {
			return -1, errors.New("no second queue")
		}
		id, err := create()
		if err == nil {
			made = append(made, id)
			record(id)
		}
		return id, err
	}
	if ln, err := New().Listen(ipc.Config{Size: 64}); err == nil {
		ln.Close()
		t.Fatal("Listen succeeded without its second queue")
	}
	if len(made) != 1 {
		t.Fatalf("made %d queues, want 1", len(made))
	}
	ids, err := queueIDs()
	if err != nil {
		t.Fatal(err)
	}
	if ids[made[0]] {
		remove(made[0])
		t.Fatalf("the first queue, %d, is left behind", made[0])
	}
}

// TestCloseAfterRemovedByHand: a queue someone else removed (ipcrm, ipcbench
// clean) does not make Close fail.
func TestCloseAfterRemovedByHand(t *testing.T) {
	p := newPair(t, 64, ipc.IORaw)
	if err := remove(p.d2p); err != nil {
		t.Fatal(err)
	}
	if err := p.ln.Close(); err != nil {
		t.Fatalf("Close with one queue already removed: %v", err)
	}
}

// TestCloseWakesBlocked: Listener.Close from another goroutine wakes a Conn
// blocked in msgrcv or msgsnd, and the Conn reports ErrClosed.
func TestCloseWakesBlocked(t *testing.T) {
	bothPaths(t, 1, func(t *testing.T) {
		for _, tc := range []struct {
			name string
			size int
			nr   uintptr
			run  func(p *pair) error
		}{
			{"driver Recv", 100, unix.SYS_MSGRCV, func(p *pair) error {
				return p.drv.Recv(ipc.NewFrame(headroom, p.size, 0))
			}},
			{"peer Recv", 100, unix.SYS_MSGRCV, func(p *pair) error {
				return p.peer.Recv(ipc.NewFrame(headroom, p.size, 0))
			}},
			{"peer Recv of a split message", 65536 + 5, unix.SYS_MSGRCV, func(p *pair) error {
				// The first piece arrives, the rest never does.
				b := make([]byte, mtypeLen+p.piece)
				putMtype(b)
				if err := msgsnd(p.d2p, unsafe.Pointer(&b[0]), p.piece, 0); err != nil {
					return err
				}
				return p.peer.Recv(ipc.NewFrame(headroom, p.size, 0))
			}},
			{"driver Send on a full queue", 65536 + 5, unix.SYS_MSGSND, func(p *pair) error {
				f := ipc.NewFrame(headroom, p.size, 0)
				for {
					if err := p.drv.Send(f); err != nil {
						return err
					}
				}
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := newPair(t, tc.size, ipc.IORaw)
				tid, done := lockedThread(func() error { return tc.run(p) })
				waitBlocked(t, tid, tc.nr, done)
				if err := p.ln.Close(); err != nil {
					t.Fatal(err)
				}
				err := <-done
				if !errors.Is(err, ipc.ErrClosed) {
					t.Fatalf("%s after Listener.Close: %v, want ErrClosed", tc.name, err)
				}
			})
		}
	})
}

// TestSignalled: a signal to a thread blocked in msgrcv or msgsnd makes the
// call fail with EINTR (they are never restarted); Recv and Send retry and
// the message still arrives whole. SIGURG is Go's own preemption signal.
func TestSignalled(t *testing.T) {
	bothPaths(t, 2, func(t *testing.T) {
		const size = 65536 + 5
		p := newPair(t, size, ipc.IORaw)
		peer := func() error {
			f := ipc.NewFrame(headroom, size, 0)
			if err := p.peer.Recv(f); err != nil {
				return fmt.Errorf("Recv: %w", err)
			}
			if err := verify(f[headroom:], seed(size, 0, 0)); err != nil {
				return err
			}
			// Two messages, more than the queue holds: Send blocks.
			for i := range 2 {
				fill(f[headroom:], seed(size, i, 1))
				if err := p.peer.Send(f); err != nil {
					return fmt.Errorf("Send %d: %w", i, err)
				}
			}
			return nil
		}
		tid, done := lockedThread(func() error {
			err := peer()
			if err != nil {
				p.ln.Close() // wake the driver rather than hang
			}
			return err
		})
		signal := func() {
			for range 3 {
				if err := unix.Tgkill(os.Getpid(), tid, unix.SIGURG); err != nil {
					t.Fatal(err)
				}
			}
		}
		waitBlocked(t, tid, unix.SYS_MSGRCV, done)
		signal()
		f := ipc.NewFrame(headroom, size, 0)
		fill(f[headroom:], seed(size, 0, 0))
		if err := p.drv.Send(f); err != nil {
			if perr := <-done; perr != nil {
				t.Fatal(perr)
			}
			t.Fatal(err)
		}
		waitBlocked(t, tid, unix.SYS_MSGSND, done)
		signal()
		for i := range 2 {
			if err := p.drv.Recv(f); err != nil {
				if perr := <-done; perr != nil {
					t.Fatal(perr)
				}
				t.Fatal(err)
			}
			if err := verify(f[headroom:], seed(size, i, 1)); err != nil {
				t.Fatal(err)
			}
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

func TestConnClose(t *testing.T) {
	p := newPair(t, 100, ipc.IORaw)
	if err := p.peer.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.peer.Send(ipc.NewFrame(headroom, 100, 0)); !errors.Is(err, ipc.ErrClosed) {
		t.Errorf("Send on a closed Conn: %v, want ErrClosed", err)
	}
	// The queues still work for the driver: the Listener owns them.
	f := ipc.NewFrame(headroom, 100, 0)
	if err := p.drv.Send(f); err != nil {
		t.Fatalf("driver Send after the peer's Conn.Close: %v", err)
	}
	ids, err := queueIDs()
	if err != nil {
		t.Fatal(err)
	}
	if !ids[p.d2p] || !ids[p.p2d] {
		t.Error("Conn.Close removed a queue")
	}
}

func TestDialBadAddr(t *testing.T) {
	// A queue id that existed once and is gone for sure.
	id, err := create()
	if err != nil {
		t.Fatal(err)
	}
	if err := remove(id); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ addr, want string }{
		{"", "malformed"},
		{"123", "malformed"},
		{"123,456,8192", "malformed"},
		{"a,456", "not a number"},
		{"123, 456", "not a number"},
		{"123,", "not a number"},
		{"-1,456", "negative"},
		{"123,123", "same queue"},
		{fmt.Sprintf("%d,%d", id, id+1), "cannot be used"},
	} {
		c, err := New().Dial(ipc.Endpoint{Addr: tc.addr}, ipc.Config{Size: 64})
		if err == nil {
			c.Close()
			t.Errorf("Dial(%q) succeeded", tc.addr)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Dial(%q) = %v, want an error saying %q", tc.addr, err, tc.want)
		}
	}
}

// TestNoAllocs: Send and Recv run in the timed loop and must not allocate,
// whole or split.
func TestNoAllocs(t *testing.T) {
	t.Run("whole, one goroutine", func(t *testing.T) {
		p := newPair(t, 100, ipc.IORaw)
		a, b := ipc.NewFrame(headroom, 100, 0), ipc.NewFrame(headroom, 100, 0)
		var err error
		allocs := testing.AllocsPerRun(1000, func() {
			// Each message fits in an empty queue, so nothing blocks.
			if err == nil {
				err = p.drv.Send(a)
			}
			if err == nil {
				err = p.peer.Recv(b)
			}
			if err == nil {
				err = p.peer.Send(b)
			}
			if err == nil {
				err = p.drv.Recv(a)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if allocs != 0 {
			t.Errorf("Send+Recv allocate %v times per round trip", allocs)
		}
	})
	t.Run("split, with an echo goroutine", func(t *testing.T) {
		const runs = 200
		size := 65536 + 5
		p := newPair(t, size, ipc.IORaw)
		done := make(chan error, 1)
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			f := ipc.NewFrame(headroom, size, 0)
			for range runs + 1 { // AllocsPerRun runs f once more to warm up
				err := p.peer.Recv(f)
				if err == nil {
					err = p.peer.Send(f)
				}
				if err != nil {
					p.ln.Close() // wake the driver rather than hang
					done <- err
					return
				}
			}
			done <- nil
		}()
		f := ipc.NewFrame(headroom, size, 0)
		var err error
		allocs := testing.AllocsPerRun(runs, func() {
			if err == nil {
				err = p.drv.Send(f)
			}
			if err == nil {
				err = p.drv.Recv(f)
			}
		})
		if perr := <-done; perr != nil {
			t.Fatal(perr)
		}
		if err != nil {
			t.Fatal(err)
		}
		if allocs != 0 {
			t.Errorf("split Send+Recv allocate %v times per round trip", allocs)
		}
	})
	t.Run("error path", func(t *testing.T) {
		// The wrappers box common errnos once: an error allocates nothing.
		var buf [64]byte
		var err error
		allocs := testing.AllocsPerRun(100, func() {
			if _, e := msgrcv(-1, unsafe.Pointer(&buf[0]), 8, 0, unix.IPC_NOWAIT); e != errEINVAL {
				err = e
			}
		})
		if err != nil {
			t.Fatalf("msgrcv on queue -1: %v, want EINVAL", err)
		}
		if allocs != 0 {
			t.Errorf("msgrcv's error path allocates %v times", allocs)
		}
	})
}

func TestName(t *testing.T) {
	if got := New().Name(); got != "msgqueue" {
		t.Errorf("Name() = %q", got)
	}
}

// TestSplitsItself: the harness's ipc.Split of a queue Conn is the queue's
// own piece loop (pieceConn), which the split tests above then carry data
// through, and it still counts its calls.
func TestSplitsItself(t *testing.T) {
	const size = 3*8192 + 5
	if New().Caps(ipc.Config{Size: size}).Pieces(size) < 2 {
		t.Skipf("kernel.msgmax takes %d bytes whole: nothing to split", size)
	}
	p := newPair(t, size, ipc.IORaw)
	for _, c := range []ipc.Conn{p.drv, p.peer} {
		if _, ok := c.(*pieceConn); !ok {
			t.Errorf("split Conn is %T, want *pieceConn", c)
		}
		if _, ok := c.(ipc.SyscallCounter); !ok {
			t.Errorf("split Conn %T does not count its calls", c)
		}
	}
}
