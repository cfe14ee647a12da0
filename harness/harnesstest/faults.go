package harnesstest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/ipcbench/ipcbench/ipc"
	"golang.org/x/sys/unix"
)

// Fault is a way for a peer to fail. Faulty injects it into a real
// mechanism's peer side, so that the driver meets it exactly as it would
// meet a real failure: through the channel and the control pipe, never
// through a hook in production code.
type Fault string

const (
	// Exit exits with status 7, as a program that detects an error does.
	Exit Fault = "exit"
	// Quit exits with status 0 before the cell is over: a peer that gives
	// up early without saying why.
	Quit Fault = "quit"
	// Kill is SIGKILL: death without a word, as from the OOM killer.
	Kill Fault = "kill"
	// Panic is a Go panic: exit status 2 and a goroutine dump on stderr.
	Panic Fault = "panic"
	// Hang stops answering but stays alive: only the driver's -timeout
	// notices.
	Hang Fault = "hang"
	// Interrupt is death by SIGINT: what Ctrl-C does to a peer caught in
	// the driver's process group (between fork and setpgid), an instant
	// before the driver's own copy of the signal is handled.
	Interrupt Fault = "interrupt"
	// LateDriver is a fault of the driver's side, not the peer's, for a
	// cell of two pairs: it makes the drivers late, as driver goroutines
	// are that wait for a CPU while many pairs share few. The first pair's
	// driver sleeps half a second after its after-th receive; with after
	// the cell's last (the end's acknowledgement), its peer has exited
	// cleanly long before the driver knows the cell is over. The second
	// pair's driver sleeps a second after its 10th receive, so that it is
	// still in the middle of the cell meanwhile.
	LateDriver Fault = "latedriver"
	// Mark does not fail. It only marks that the peer got there (see
	// MarkDirEnv), so that a test can act on a cell in a known state.
	Mark Fault = "mark"
)

// MarkDirEnv names an environment variable: when it holds a directory, a
// Faulty peer creates an empty file there, named after its process id, the
// moment its fault fires (before acting on it). The peer inherits the
// driver's environment, so a test sets it with t.Setenv and waits for the
// file to know that the peer is, say, hanging now.
const MarkDirEnv = "IPCBENCH_TEST_FAULT_MARKS"

// Faulty returns tr with a peer side that fails with f once it has made
// after calls (Send or Recv, counted together) on its Conn; with after 0 it
// fails in Dial, before the peer tells the driver it is ready. The driver's
// side is tr's own.
//
// The name is tr's name, the fault and the count ("msgqueue-hang-5"): a test
// binary registers every variant it uses with harness.MaybeRunPeer, as it
// registers the real mechanisms.
func Faulty(tr ipc.Transport, f Fault, after int) ipc.Transport {
	return &faulty{Transport: tr, fault: f, after: after}
}

// PingPongCalls is how many calls a pingpong peer makes on its Conn in a
// cell of count messages without warm-up: a receive and an echo for each,
// then the end of the cell and its acknowledgement. A Faulty peer with this
// after fails when the cell's messages are all done but before it has sent
// its final report.
func PingPongCalls(count int) int { return 2*count + 2 }

type faulty struct {
	ipc.Transport
	fault   Fault
	after   int
	listens atomic.Int64 // LateDriver: which pair a Listen is for
}

func (t *faulty) Name() string {
	return fmt.Sprintf("%s-%s-%d", t.Transport.Name(), t.fault, t.after)
}

func (t *faulty) Listen(cfg ipc.Config) (ipc.Listener, error) {
	l, err := t.Transport.Listen(cfg)
	if err != nil || t.fault != LateDriver {
		return l, err
	}
	late := &lateConn{after: t.after, sleep: 500 * time.Millisecond}
	if t.listens.Add(1)%2 == 0 {
		late.after, late.sleep = 10, time.Second
	}
	return &lateListener{Listener: l, late: late}, nil
}

type lateListener struct {
	ipc.Listener
	late *lateConn
}

func (l *lateListener) Accept(deadline time.Time) (ipc.Conn, error) {
	c, err := l.Listener.Accept(deadline)
	if err != nil {
		return nil, err
	}
	l.late.Conn = c
	return l.late, nil
}

// lateConn is the driver's Conn of a LateDriver.
type lateConn struct {
	ipc.Conn
	after, n int
	sleep    time.Duration
}

func (c *lateConn) Recv(frame []byte) error {
	err := c.Conn.Recv(frame)
	if c.n++; c.n == c.after {
		time.Sleep(c.sleep)
	}
	return err
}

func (t *faulty) Dial(ep ipc.Endpoint, cfg ipc.Config) (ipc.Conn, error) {
	if t.fault == LateDriver {
		return t.Transport.Dial(ep, cfg)
	}
	if t.after == 0 {
		t.fire(0)
	}
	c, err := t.Transport.Dial(ep, cfg)
	if err != nil {
		return nil, err
	}
	return &faultyConn{Conn: c, t: t}, nil
}

// faultyConn counts the peer's calls; one goroutine uses it, as any Conn.
type faultyConn struct {
	ipc.Conn
	t *faulty
	n int
}

func (c *faultyConn) Send(frame []byte) error {
	err := c.Conn.Send(frame)
	c.count()
	return err
}

func (c *faultyConn) Recv(frame []byte) error {
	err := c.Conn.Recv(frame)
	c.count()
	return err
}

func (c *faultyConn) count() {
	c.n++
	if c.n == c.t.after {
		c.t.fire(c.n)
	}
}

// fire says on stderr what it is about to do, marks it, and does it.
func (t *faulty) fire(calls int) {
	fmt.Fprintf(os.Stderr, "injected fault: %s after %d calls on the %s channel\n", t.fault, calls, t.Transport.Name())
	if dir := os.Getenv(MarkDirEnv); dir != "" {
		os.WriteFile(filepath.Join(dir, strconv.Itoa(os.Getpid())), nil, 0o600)
	}
	switch t.fault {
	case Exit:
		os.Exit(7)
	case Quit:
		os.Exit(0)
	case Kill:
		unix.Kill(os.Getpid(), unix.SIGKILL)
		hang()
	case Panic:
		panic(fmt.Sprintf("injected fault after %d calls", calls))
	case Hang:
		hang()
	case Interrupt:
		unix.Kill(os.Getpid(), unix.SIGINT)
		hang()
	}
}

// hang blocks for ever. A sleeping goroutine, not an empty select: the
// runtime would call a process with no timer and every goroutine blocked a
// deadlock and exit.
func hang() {
	for {
		time.Sleep(time.Hour)
	}
}

// Marks lists the process ids in a MarkDirEnv directory: the peers whose
// fault has fired.
func Marks(dir string) []int {
	entries, _ := os.ReadDir(dir)
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}
