package msgqueue

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/ipcbench/ipcbench/harness"

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
	harness.MaybeRunPeer([]harness.Transport{New()}) // for the conformance suite
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
	ln        harness.Listener
	drv, peer harness.Conn
	d2p, p2d  int
	size      int
	piece     int
}

// newPair listens, accepts and dials for messages of size bytes, and checks
// at cleanup that the queues are gone.
func newPair(t *testing.T, size int, mode harness.IOMode) *pair {
	t.Helper()
	tr := New()
	cfg := harness.Config{Size: size, IO: mode, Timeout: 10 * time.Second}
	ln, err := tr.Listen(cfg)
	if err != nil {
		t.Fatalf("Listen(size %d): %v", size, err)
	}
	p := &pair{ln: ln, size: size}
	var sz int
	if _, err := fmt.Sscanf(ln.Endpoint().Addr, "%d,%d,%d", &p.d2p, &p.p2d, &sz); err != nil {
		ln.Close()
		t.Fatalf("Endpoint().Addr %q: %v", ln.Endpoint().Addr, err)
	}
	p.piece = sz
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

var sizes = []int{16, 100, 8192, 8193, 16384, 20000, 65536, 65536 + 5}

// TestRoundTrip echoes several messages of every size through a peer
// goroutine and checks every byte both ways, and that Send leaves the
// sender's frame as it was.
func TestRoundTrip(t *testing.T) {
	for _, mode := range []harness.IOMode{harness.IORaw, harness.IOGo} {
		for _, size := range sizes {
			t.Run(fmt.Sprintf("%s/%d", mode, size), func(t *testing.T) {
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
				frame := harness.NewFrame(size)
				for i := range n {
					fill(frame[harness.Headroom:], seed(size, i, 0))
					if err := p.drv.Send(frame); err != nil {
						t.Fatalf("driver Send %d: %v", i, err)
					}
					if err := verify(frame[harness.Headroom:], seed(size, i, 0)); err != nil {
						t.Fatalf("Send changed the sender's frame: %v", err)
					}
					clear(frame)
					if err := p.drv.Recv(frame); err != nil {
						if perr := <-done; perr != nil {
							t.Fatal(perr)
						}
						t.Fatalf("driver Recv %d: %v", i, err)
					}
					if err := verify(frame[harness.Headroom:], seed(size, i, 1)); err != nil {
						t.Fatalf("driver received: %v", err)
					}
				}
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// echo receives n messages, checks each, and answers with a different one.
func echo(c harness.Conn, size, n int) error {
	frame := harness.NewFrame(size)
	for i := range n {
		clear(frame)
		if err := c.Recv(frame); err != nil {
			return fmt.Errorf("peer Recv %d: %w", i, err)
		}
		if err := verify(frame[harness.Headroom:], seed(size, i, 0)); err != nil {
			return fmt.Errorf("peer received: %w", err)
		}
		fill(frame[harness.Headroom:], seed(size, i, 1))
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
			p := newPair(t, size, harness.IORaw)
			tid, done := lockedThread(func() error {
				frame := harness.NewFrame(size)
				for i := range n {
					fill(frame[harness.Headroom:], seed(size, i, 0))
					if err := p.drv.Send(frame); err != nil {
						return fmt.Errorf("Send %d: %w", i, err)
					}
				}
				return nil
			})
			waitBlocked(t, tid, unix.SYS_MSGSND, done)
			frame := harness.NewFrame(size)
			for i := range n {
				clear(frame)
				if err := p.peer.Recv(frame); err != nil {
					t.Fatalf("Recv %d: %v", i, err)
				}
				if err := verify(frame[harness.Headroom:], seed(size, i, 0)); err != nil {
					t.Fatal(err)
				}
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	l := sysLimits(t)
	pc, limit, err := l.piece(1)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := New().(harness.Describer)
	if !ok {
		t.Fatal("New() is not a harness.Describer")
	}
	for _, tc := range []struct {
		size, pieces int
		note         string
	}{
		{16, 0, ""},
		{pc, 0, ""},
		{pc + 1, 2, fmt.Sprintf("split into 2 pieces of up to %d B (%s %d)", pc, limit, pc)},
		{2 * pc, 2, fmt.Sprintf("split into 2 pieces of %d B (%s %d)", pc, limit, pc)},
		{8 * pc, 8, fmt.Sprintf("split into 8 pieces of %d B (%s %d)", pc, limit, pc)},
		{8*pc + 5, 9, fmt.Sprintf("split into 9 pieces of up to %d B (%s %d)", pc, limit, pc)},
	} {
		got := d.Describe(harness.Config{Size: tc.size, IO: harness.IORaw})
		if got.Pieces != tc.pieces || got.Note != tc.note {
			t.Errorf("Describe(size %d, raw) = %+v, want {Pieces:%d Note:%q}", tc.size, got, tc.pieces, tc.note)
		}
		got = d.Describe(harness.Config{Size: tc.size, IO: harness.IOGo})
		if got.Pieces != tc.pieces || !strings.Contains(got.Note, tc.note) || !strings.Contains(got.Note, "no poller path") {
			t.Errorf("Describe(size %d, go) = %+v, want %d pieces and a note with %q and the missing poller path", tc.size, got, tc.pieces, tc.note)
		}
	}
	if l.msgmax == 8192 && l.msgmnb == 16384 {
		got := d.Describe(harness.Config{Size: 65536})
		if want := "split into 8 pieces of 8192 B (kernel.msgmax 8192)"; got.Note != want {
			t.Errorf("Describe(65536).Note = %q, want %q", got.Note, want)
		}
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
			var le *harness.LimitError
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
		if got := pieces(tc.size, tc.p); got != tc.want {
			t.Errorf("pieces(%d, %d) = %d, want %d", tc.size, tc.p, got, tc.want)
		}
	}
}

// TestEmptyMessage carries a message with no text: one empty kernel message.
func TestEmptyMessage(t *testing.T) {
	p := newPair(t, 0, harness.IORaw)
	frame := harness.NewFrame(0)
	if err := p.drv.Send(frame); err != nil {
		t.Fatal(err)
	}
	if err := p.peer.Recv(frame); err != nil {
		t.Fatal(err)
	}
}

// TestSizeMismatch: sides that disagree on the size get an error, not a
// short or merged message.
func TestSizeMismatch(t *testing.T) {
	p := newPair(t, 100, harness.IORaw)
	other, err := New().Dial(p.ln.Endpoint(), harness.Config{Size: 50})
	if err != nil {
		t.Fatal(err)
	}
	frame := harness.NewFrame(100)
	if err := p.drv.Send(frame); err != nil {
		t.Fatal(err)
	}
	if err := other.Recv(harness.NewFrame(50)); err == nil || !strings.Contains(err.Error(), "disagree") {
		t.Errorf("Recv of a 100-byte message as 50 bytes: %v, want a disagreement", err)
	}
	// msgrcv refused the message with E2BIG, so it is still there; a
	// shorter one is caught by its length.
	if err := p.peer.Recv(frame); err != nil {
		t.Fatal(err)
	}
	if err := other.Send(harness.NewFrame(50)); err != nil {
		t.Fatal(err)
	}
	if err := p.drv.Recv(frame); err == nil || !strings.Contains(err.Error(), "disagree") {
		t.Errorf("Recv of a 50-byte message as 100 bytes: %v, want a disagreement", err)
	}
	if err := p.drv.Send(frame[:10]); err == nil {
		t.Error("Send of a frame of the wrong size succeeded")
	}
}

func TestCloseRemovesQueues(t *testing.T) {
	tr := New()
	ln, err := tr.Listen(harness.Config{Size: 64})
	if err != nil {
		t.Fatal(err)
	}
	var d2p, p2d, pc int
	if _, err := fmt.Sscanf(ln.Endpoint().Addr, "%d,%d,%d", &d2p, &p2d, &pc); err != nil {
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
	frame := harness.NewFrame(64)
	if err := c.Send(frame); !errors.Is(err, harness.ErrClosed) {
		t.Errorf("Send after Listener.Close: %v, want ErrClosed", err)
	}
	if err := c.Recv(frame); !errors.Is(err, harness.ErrClosed) {
		t.Errorf("Recv after Listener.Close: %v, want ErrClosed", err)
	}
	if _, err := ln.Accept(time.Now().Add(time.Second)); !errors.Is(err, harness.ErrClosed) {
		t.Errorf("Accept after Close: %v, want ErrClosed", err)
	}
	if _, err := tr.Dial(ln.Endpoint(), harness.Config{Size: 64}); err == nil {
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
	if ln, err := New().Listen(harness.Config{Size: 64}); err == nil {
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
	p := newPair(t, 64, harness.IORaw)
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
	for _, tc := range []struct {
		name string
		size int
		nr   uintptr
		run  func(p *pair) error
	}{
		{"driver Recv", 100, unix.SYS_MSGRCV, func(p *pair) error {
			return p.drv.Recv(harness.NewFrame(p.size))
		}},
		{"peer Recv", 100, unix.SYS_MSGRCV, func(p *pair) error {
			return p.peer.Recv(harness.NewFrame(p.size))
		}},
		{"peer Recv of a split message", 65536 + 5, unix.SYS_MSGRCV, func(p *pair) error {
			// The first piece arrives, the rest never does.
			b := make([]byte, mtypeLen+p.piece)
			putMtype(b)
			if err := msgsnd(p.d2p, unsafe.Pointer(&b[0]), p.piece, 0); err != nil {
				return err
			}
			return p.peer.Recv(harness.NewFrame(p.size))
		}},
		{"driver Send on a full queue", 65536 + 5, unix.SYS_MSGSND, func(p *pair) error {
			f := harness.NewFrame(p.size)
			for {
				if err := p.drv.Send(f); err != nil {
					return err
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t, tc.size, harness.IORaw)
			tid, done := lockedThread(func() error { return tc.run(p) })
			waitBlocked(t, tid, tc.nr, done)
			if err := p.ln.Close(); err != nil {
				t.Fatal(err)
			}
			err := <-done
			if !errors.Is(err, harness.ErrClosed) {
				t.Fatalf("%s after Listener.Close: %v, want ErrClosed", tc.name, err)
			}
		})
	}
}

// TestSignalled: a signal to a thread blocked in msgrcv or msgsnd makes the
// call fail with EINTR (they are never restarted); Recv and Send retry and
// the message still arrives whole. SIGURG is Go's own preemption signal.
func TestSignalled(t *testing.T) {
	const size = 65536 + 5
	p := newPair(t, size, harness.IORaw)
	peer := func() error {
		f := harness.NewFrame(size)
		if err := p.peer.Recv(f); err != nil {
			return fmt.Errorf("Recv: %w", err)
		}
		if err := verify(f[harness.Headroom:], seed(size, 0, 0)); err != nil {
			return err
		}
		// Two messages, more than the queue holds: Send blocks.
		for i := range 2 {
			fill(f[harness.Headroom:], seed(size, i, 1))
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
	f := harness.NewFrame(size)
	fill(f[harness.Headroom:], seed(size, 0, 0))
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
		if err := verify(f[harness.Headroom:], seed(size, i, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestConnClose(t *testing.T) {
	p := newPair(t, 100, harness.IORaw)
	if err := p.peer.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.peer.Send(harness.NewFrame(100)); !errors.Is(err, harness.ErrClosed) {
		t.Errorf("Send on a closed Conn: %v, want ErrClosed", err)
	}
	// The queues still work for the driver: the Listener owns them.
	f := harness.NewFrame(100)
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
		{"123,456", "malformed"},
		{"123,456,8192,9", "malformed"},
		{"a,456,8192", "not a number"},
		{"123, 456,8192", "not a number"},
		{"123,456,", "not a number"},
		{"-1,456,8192", "negative"},
		{"123,123,8192", "same queue"},
		{"123,456,0", "piece size"},
		{fmt.Sprintf("%d,%d,8192", id, id+1), "cannot be used"},
	} {
		c, err := New().Dial(harness.Endpoint{Addr: tc.addr}, harness.Config{Size: 64})
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
		p := newPair(t, 100, harness.IORaw)
		a, b := harness.NewFrame(100), harness.NewFrame(100)
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
		p := newPair(t, size, harness.IORaw)
		done := make(chan error, 1)
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			f := harness.NewFrame(size)
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
		f := harness.NewFrame(size)
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
