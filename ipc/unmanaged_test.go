package ipc

import (
	"runtime"
	"runtime/debug"
	"testing"

	"golang.org/x/sys/unix"
)

// TestUnmanagedWindow checks what the window promises: the collector off
// and a P to spare while it is open, everything as it was once it closes,
// and nested windows adding up.
func TestUnmanagedWindow(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	gc := debug.SetGCPercent(100)
	defer debug.SetGCPercent(gc)

	if unmanagedOn.Load() {
		t.Fatal("a window is open before any was opened")
	}
	closeA := Unmanaged(2)
	if !unmanagedOn.Load() {
		t.Fatal("no window after Unmanaged")
	}
	if got := runtime.GOMAXPROCS(0); got < 3 || got < 2+spareProcs {
		t.Errorf("GOMAXPROCS is %d inside a window for 2 threads, want at least 3 and 2+%d spare", got, spareProcs)
	}
	closeB := Unmanaged(3)
	if got := runtime.GOMAXPROCS(0); got < 6 || got < 5+spareProcs {
		t.Errorf("GOMAXPROCS is %d inside windows for 2+3 threads, want at least 6 and 5+%d spare", got, spareProcs)
	}
	if p := debug.SetGCPercent(-1); p != -1 {
		t.Errorf("GC percent is %d inside a window, want -1 (off)", p)
	}
	closeB()
	closeB() // a second close is a no-op, not a second release
	if !unmanagedOn.Load() {
		t.Fatal("closing the inner window closed the outer one")
	}
	closeA()
	if unmanagedOn.Load() {
		t.Fatal("a window is still open after closing both")
	}
	if p := debug.SetGCPercent(100); p != 100 {
		t.Errorf("GC percent is %d after the windows closed, want 100 again", p)
	}
	runtime.GC() // nothing is in a raw call: must return at once
}

// TestUnmanagedBlockedReadLeavesAP blocks a locked goroutine in a raw read
// inside a window with GOMAXPROCS 1 at the start: the goroutine that will
// write must still run (the window's spare P), and a write then wakes the
// read. Without the spare P the writer would never be scheduled and the
// test would hang.
func TestUnmanagedBlockedReadLeavesAP(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])

	closeWindow := Unmanaged(1)
	got := make(chan []byte)
	entered := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		buf := make([]byte, 5)
		close(entered)
		n, e := Read(fds[0], buf)
		if e != 0 {
			t.Errorf("read: %v", e)
		}
		got <- buf[:n]
	}()
	<-entered
	runtime.Gosched() // let the reader reach its read if it can
	if _, e := Write(fds[1], []byte("hello")); e != 0 {
		t.Fatalf("write: %v", e)
	}
	if b := <-got; string(b) != "hello" {
		t.Errorf("read %q, want hello", b)
	}
	closeWindow()
}

// TestReadWriteBothWays: Read, Write and Syscall6 move bytes and report
// errnos alike with ordinary calls and with raw ones (inside a window, on
// amd64 the assembly of rawsyscall_amd64.s).
func TestReadWriteBothWays(t *testing.T) {
	for _, raw := range []bool{false, true} {
		if raw {
			defer Unmanaged(1)()
		}
		if RawCalls() != raw {
			t.Fatalf("RawCalls() = %v, want %v", RawCalls(), raw)
		}
		var fds [2]int
		if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		msg := []byte("a message of some bytes")
		if n, e := Write(fds[1], msg); n != len(msg) || e != 0 {
			t.Errorf("raw %v: Write = %d, %v; want %d, 0", raw, n, e, len(msg))
		}
		buf := make([]byte, 64)
		if n, e := Read(fds[0], buf); n != len(msg) || e != 0 || string(buf[:n]) != string(msg) {
			t.Errorf("raw %v: Read = %d, %v, %q; want %q", raw, n, e, buf[:max(n, 0)], msg)
		}
		unix.Close(fds[0])
		unix.Close(fds[1])
		if n, e := Read(fds[0], buf); e != unix.EBADF {
			t.Errorf("raw %v: Read of a closed descriptor = %d, %v; want EBADF", raw, n, e)
		}
		if _, e := Write(fds[1], msg); e != unix.EBADF {
			t.Errorf("raw %v: Write to a closed descriptor: %v, want EBADF", raw, e)
		}
		if r, e := Syscall6(unix.SYS_GETPID, 0, 0, 0, 0, 0, 0); int(r) != unix.Getpid() || e != 0 {
			t.Errorf("raw %v: Syscall6(getpid) = %d, %v; want %d, 0", raw, r, e, unix.Getpid())
		}
	}
}
