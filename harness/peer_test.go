package harness

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/ipc"
	"golang.org/x/sys/unix"
)

// startIdlePeer starts a pipe peer that joins its channel and then waits
// for a message that never comes: the state of a peer whose driver died in
// the middle of a cell. The pipe mechanism is registered with MaybeRunPeer
// by this test binary's TestMain (in faults_test.go, package harness_test,
// which may import mechanisms).
func startIdlePeer() (p *peerProc, cleanup func(), err error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	r2, w2, err := os.Pipe()
	if err != nil {
		r.Close()
		w.Close()
		return nil, nil, err
	}
	closeDriverEnds := func() { w.Close(); r2.Close() }
	spec := peerSpec{Mechanism: "pipe", Workload: "pingpong", Size: 64, IO: ipc.IORaw,
		TimeoutNS: int64(10 * time.Second), NFiles: 2, CPU: -1}
	p, err = startPeer(spec, []*os.File{r, w2})
	r.Close()
	w2.Close()
	if err != nil {
		closeDriverEnds()
		return nil, nil, err
	}
	if _, err := p.awaitReady(10 * time.Second); err != nil {
		p.kill()
		closeDriverEnds()
		return nil, nil, err
	}
	// The driver's ends stay open, so the peer cannot see end of file on
	// its channel: only the control pipe or the parent-death signal can
	// end it.
	return p, func() { p.kill(); closeDriverEnds() }, nil
}

// waitExit waits for a peer that should exit by itself. "Within a second"
// is the goal; the bound here is generous, as the behaviour under test is
// that it exits at all.
func waitExit(t *testing.T, p *peerProc) {
	t.Helper()
	if !p.wait(10 * time.Second) {
		t.Fatal("the peer is still running 10 s after its driver went away")
	}
}

// TestPeerEndsOnControlPipeEOF shows the first of the two ways a peer
// outlives no driver: when the driver's end of the control pipe closes (as
// it does when the driver process dies, however it dies), the peer exits
// with status 3.
func TestPeerEndsOnControlPipeEOF(t *testing.T) {
	p, cleanup, err := startIdlePeer()
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	p.ctrlOut.Close()
	waitExit(t, p)
	var ee *exec.ExitError
	if !errors.As(p.waitErr, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("the peer ended with %v, want exit status 3 (end of file on the control pipe)", p.waitErr)
	}
}

// TestPeerOutlivesTheThreadThatStartedIt: the kernel's parent-death signal
// (Pdeathsig) fires when the *thread* that started a peer ends, and Go ends
// a thread whose goroutine returns locked, as a measuring goroutine does
// (see drive). Peers are started from a thread of their own (spawn), so a
// peer asked for on a thread that then ends lives on, and still ends when
// its control pipe closes (status 3), not by SIGKILL.
func TestPeerOutlivesTheThreadThatStartedIt(t *testing.T) {
	type started struct {
		p       *peerProc
		cleanup func()
		tid     int
		err     error
	}
	ch := make(chan started)
	var startFrom func()
	startFrom = func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if unix.Gettid() == unix.Getpid() {
			// The main thread is never ended, only parked: hold it while
			// another goroutine, which cannot land on it now, asks for the
			// peer, and give it back after.
			defer runtime.UnlockOSThread()
			done := make(chan struct{})
			go func() { startFrom(); close(done) }()
			<-done
			return
		}
		p, cleanup, err := startIdlePeer()
		ch <- started{p, cleanup, unix.Gettid(), err}
	}
	go startFrom()
	s := <-ch
	if s.err != nil {
		t.Fatal(s.err)
	}
	defer s.cleanup()
	task := fmt.Sprintf("/proc/self/task/%d", s.tid)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(task); os.IsNotExist(err) {
			break // the thread has ended, and any parent-death signal is sent
		}
		if time.Now().After(deadline) {
			t.Fatalf("thread %d did not end with its locked goroutine", s.tid)
		}
	}
	p := s.p
	p.ctrlOut.Close()
	waitExit(t, p)
	var ee *exec.ExitError
	if !errors.As(p.waitErr, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("the peer ended with %v, want exit status 3 (end of file on the control pipe): it did not outlive the thread that asked for it", p.waitErr)
	}
}

// TestPeerInOwnProcessGroup: Ctrl-C in a terminal signals the foreground
// process group; the peer must not be in it, or it would die of the
// signal before the driver could stop the cell in order.
func TestPeerInOwnProcessGroup(t *testing.T) {
	p, cleanup, err := startIdlePeer()
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	pgid, err := syscall.Getpgid(p.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if pgid == syscall.Getpgrp() {
		t.Fatalf("the peer is in the driver's process group %d", pgid)
	}
}

func TestSummarizeStderr(t *testing.T) {
	panicked := "injected fault: panic after 51 calls on the pipe channel\n" +
		"panic: injected fault after 51 calls\n\ngoroutine 1 [running]:\n" +
		"github.com/ipcbench/ipcbench/harness/harnesstest.(*faulty).fire(...)\n\t/src/faults.go:10 +0x1d\n"
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"ipcbench peer: msgrcv: identifier removed\n", "ipcbench peer: msgrcv: identifier removed"},
		{panicked, "injected fault: panic after 51 calls on the pipe channel; panic: injected fault after 51 calls"},
		{"fatal error: out of memory\n\nruntime stack:\n...", "fatal error: out of memory"},
		{"a\nb\nc\nd\ne\nf\ng\n", "c; d; e; f; g"},
	} {
		if got := summarizeStderr(tc.in); got != tc.want {
			t.Errorf("summarizeStderr(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	long := strings.Repeat("x", 2*maxSummary)
	if got := summarizeStderr(long); len(got) > maxSummary+3 {
		t.Errorf("a long stderr gives a %d-byte summary", len(got))
	}
}

// TestStderrBufferKeepsHeadAndTail: a peer that writes a lot still shows
// the start (where a panic says what happened) and the end.
func TestStderrBufferKeepsHeadAndTail(t *testing.T) {
	b := &stderrBuffer{max: 100}
	b.Write([]byte("panic: first\n"))
	for i := 0; i < 100; i++ {
		b.Write([]byte("0123456789"))
	}
	b.Write([]byte("the end"))
	s := b.String()
	if !strings.HasPrefix(s, "panic: first\n") || !strings.HasSuffix(s, "the end") || len(s) > 200 {
		t.Fatalf("kept %q", s)
	}
}
