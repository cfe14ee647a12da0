package msgqueue

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/ipcbench/ipcbench/ipc"

	"golang.org/x/sys/unix"
)

// TestSharedServer checks the server form of System V queues: ONE request
// queue that every client sends to with its id as the type, ONE reply queue
// from which each client takes only its own replies. Requests arrive in the
// order they were sent whoever sent them; a reply reaches its client even
// with other clients' replies ahead of it in the queue.
func TestSharedServer(t *testing.T) {
	const clients, size = 3, 64
	before, err := queueIDs()
	if err != nil {
		t.Fatal(err)
	}
	sl, err := listenShared(ipc.Config{Size: size}, clients)
	if err != nil {
		t.Fatal(err)
	}
	l := sl.(*sharedListener)
	record(l.req, l.rep)
	defer sl.Close()

	after, _ := queueIDs()
	var made []int
	for id := range after {
		if !before[id] {
			made = append(made, id)
		}
	}
	if len(made) != 2 {
		t.Fatalf("the server made %d queues (%v), want one for requests and one for replies", len(made), made)
	}

	conns := make([]ipc.Conn, clients)
	for i := range conns {
		ep := sl.Endpoint(i)
		if !strings.Contains(ep.Addr, fmt.Sprintf("%d,%d,", l.req, l.rep)) {
			t.Fatalf("client %d's endpoint %q does not name the one request and reply queues", i, ep.Addr)
		}
		c, err := transport{}.Dial(ep, ipc.Config{Size: size})
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
		if got := c.(*conn); got.snd != l.req || got.rcv != l.rep || got.typ != int64(i+1) {
			t.Fatalf("client %d sends on %d and receives on %d with type %d, want %d, %d, %d", i, got.snd, got.rcv, got.typ, l.req, l.rep, i+1)
		}
	}
	frame := func(text string) []byte {
		f := ipc.NewFrame(headroom, size, 0)
		copy(f[headroom:], text)
		return f
	}
	text := func(f []byte) string { return strings.TrimRight(string(f[headroom:]), "\x00") }

	// Requests from clients 2, 0, 1, in that order, all in the one queue.
	order := []int{2, 0, 1}
	for _, i := range order {
		if err := conns[i].Send(frame("request of " + strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	if n := queued(t, l.req); n != clients {
		t.Fatalf("the request queue holds %d messages, want all %d clients' requests", n, clients)
	}
	for _, want := range order {
		f := frame("")
		got, err := sl.Recv(f)
		if err != nil {
			t.Fatal(err)
		}
		if got != want || text(f) != "request of "+strconv.Itoa(want) {
			t.Fatalf("the server received %q from client %d, want the request of client %d", text(f), got, want)
		}
	}

	// Replies to 1, 2 and 0 in that order; client 0 takes its own first,
	// from behind the other two.
	for _, i := range []int{1, 2, 0} {
		if err := sl.Send(i, frame("reply to "+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	if n := queued(t, l.rep); n != clients {
		t.Fatalf("the reply queue holds %d messages, want %d", n, clients)
	}
	for _, i := range []int{0, 2, 1} {
		f := frame("")
		if err := conns[i].Recv(f); err != nil {
			t.Fatal(err)
		}
		if text(f) != "reply to "+strconv.Itoa(i) {
			t.Fatalf("client %d received %q", i, text(f))
		}
	}

	// A reply is typed with its client's id: only that type takes it.
	if err := sl.Send(1, frame("typed")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8+size)
	if _, err := msgrcv(l.rep, unsafe.Pointer(&buf[0]), size, int(clientType(0)), unix.IPC_NOWAIT); err != errENOMSG {
		t.Fatalf("msgrcv with client 0's type took client 1's reply (err %v)", err)
	}
	if _, err := msgrcv(l.rep, unsafe.Pointer(&buf[0]), size, int(clientType(1)), unix.IPC_NOWAIT); err != nil {
		t.Fatalf("msgrcv with client 1's type: %v", err)
	}

	if err := sl.Close(); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int{l.req, l.rep} {
		if !gone(id) {
			t.Errorf("queue %d is still there after Close", id)
		}
	}
	if _, err := sl.Recv(frame("")); !errors.Is(err, ipc.ErrClosed) {
		t.Errorf("Recv after Close: %v, want ipc.ErrClosed", err)
	}
}

// TestSharedServerSplit carries a message above kernel.msgmax through the
// shared queues in pieces, typed piece by piece, and refuses the clients
// whose split requests the request queue cannot hold at once.
func TestSharedServerSplit(t *testing.T) {
	lim := sysLimits(t)
	size := int(lim.msgmax) + 100 // two pieces
	if int64(size) > lim.msgmnb {
		t.Skipf("kernel.msgmnb %d cannot hold one %d-byte request", lim.msgmnb, size)
	}
	sl, err := listenShared(ipc.Config{Size: size}, 1)
	if err != nil {
		t.Fatal(err)
	}
	l := sl.(*sharedListener)
	record(l.req, l.rep)
	defer sl.Close()
	c, err := transport{}.Dial(sl.Endpoint(0), ipc.Config{Size: size})
	if err != nil {
		t.Fatal(err)
	}
	// The harness splits a client's Conn (ipc.Split); the listener splits
	// itself.
	c = ipc.Split(c, headroom, l.piece)
	out := ipc.NewFrame(headroom, size, 0)
	fill(out[headroom:], 7)
	if err := c.Send(out); err != nil {
		t.Fatal(err)
	}
	in := ipc.NewFrame(headroom, size, 0)
	if i, err := sl.Recv(in); err != nil || i != 0 {
		t.Fatalf("Recv: client %d, %v", i, err)
	}
	if err := verify(in[headroom:], 7); err != nil {
		t.Fatalf("the request: %v", err)
	}
	fill(in[headroom:], 8)
	if err := sl.Send(0, in); err != nil {
		t.Fatal(err)
	}
	if err := c.Recv(out); err != nil {
		t.Fatal(err)
	}
	if err := verify(out[headroom:], 8); err != nil {
		t.Fatalf("the reply: %v", err)
	}

	clients := int(lim.msgmnb)/size + 1
	_, err = listenShared(ipc.Config{Size: size}, clients)
	var le *ipc.LimitError
	if !errors.As(err, &le) || le.Limit != "kernel.msgmnb" {
		t.Fatalf("%d clients of split %d-byte requests: %v, want a refusal naming kernel.msgmnb", clients, size, err)
	}
}

// queued is how many messages queue id holds.
func queued(t *testing.T, id int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/sysvipc/msg")
	if err != nil {
		t.Fatal(err)
	}
	qs := strings.Split(strings.TrimSpace(string(b)), "\n")
	col := map[string]int{}
	for i, name := range strings.Fields(qs[0]) {
		col[name] = i
	}
	for _, line := range qs[1:] {
		f := strings.Fields(line)
		if len(f) > col["qnum"] && f[col["msqid"]] == strconv.Itoa(id) {
			n, _ := strconv.Atoi(f[col["qnum"]])
			return n
		}
	}
	t.Fatalf("queue %d is not in /proc/sysvipc/msg", id)
	return 0
}
