package ipc

import (
	"math"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A system call made through syscall.Syscall tells the Go runtime that the
// thread is entering and leaving the kernel (entersyscall, exitsyscall), so
// that the runtime can hand the thread's P to another thread while it
// blocks. That bookkeeping costs 40-50 ns a call on the CPUs measured here,
// and a round trip makes four calls on its critical path: it is most of what
// made ipcbench's 64 B round trip slower than a C program making the same
// calls (README, "How accurate is it"). syscall.RawSyscall skips it.
//
// Skipping it is safe only while nothing needs every thread to stop: a
// thread blocked in a raw call holds its P and cannot stop, so a garbage
// collection or any other stop-the-world waits for the call to return, and
// if the call waits on a goroutine of this process (a watchdog that kills a
// stalled peer, the other half of a test) nothing moves again. Unmanaged
// opens a window in which that cannot happen: the collector is off, and
// there is a P to spare for every other goroutine. Inside it, Syscall6 and
// its kin are raw; outside it they are ordinary calls. The harness opens it
// around each measuring cell and for a peer's whole life; everything else
// (tests, a library user) gets ordinary calls.

// spareProcs is how many Ps a window keeps beyond its raw threads: one, for
// every other goroutine (a watchdog that kills a stalled peer, the control
// pipe).
const spareProcs = 1

var (
	unmanagedMu      sync.Mutex
	unmanagedThreads int // threads the open windows allow into raw calls
	unmanagedOn      atomic.Bool
	savedGCPercent   int
	savedMemLimit    int64
	raisedProcs      bool
)

// Unmanaged opens a window in which up to threads goroutines, each locked
// to its thread, may block in Send and Recv calls that the runtime does not
// know about, and returns the function that closes it. While any window is
// open the garbage collector is off (so the process should not allocate
// much) and GOMAXPROCS is at least the threads of all open windows plus
// one; closing the last window restores both.
//
// Open it only where no raw call is in flight, and close it only when none
// is: both ends may stop the world. In between, the caller must not call
// anything that stops the world itself (runtime.GC, runtime.ReadMemStats,
// runtime.GOMAXPROCS, a goroutine profile).
func Unmanaged(threads int) (close func()) {
	unmanagedMu.Lock()
	defer unmanagedMu.Unlock()
	if unmanagedThreads == 0 {
		savedGCPercent = debug.SetGCPercent(-1) // waits for a collection's marking
		savedMemLimit = debug.SetMemoryLimit(math.MaxInt64)
		// SetGCPercent returns before the end of a collection it waited
		// for: the collection's worker then still asks every P to flush its
		// caches, holding its own P until all have, which a P blocked in a
		// raw call does only when the call returns. That worker took the
		// spare P, the watchdog never ran, and a cell whose peer hung hung
		// the process (seen in CI: TestPeerFaults, 11 minutes). The
		// collection holds the world's lock to its end, so stopping the
		// world once (ReadMemStats does, for microseconds) waits it out.
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
	}
	unmanagedThreads += threads
	if need := unmanagedThreads + spareProcs; runtime.GOMAXPROCS(0) < need {
		runtime.GOMAXPROCS(need)
		raisedProcs = true
	}
	unmanagedOn.Store(true)
	var once sync.Once
	return func() {
		once.Do(func() {
			unmanagedMu.Lock()
			defer unmanagedMu.Unlock()
			unmanagedThreads -= threads
			if unmanagedThreads > 0 {
				return
			}
			unmanagedOn.Store(false)
			if raisedProcs {
				runtime.SetDefaultGOMAXPROCS()
				raisedProcs = false
			}
			debug.SetMemoryLimit(savedMemLimit)
			debug.SetGCPercent(savedGCPercent)
		})
	}
}

// RawCalls reports whether an Unmanaged window is open: while it is, Send
// and Recv may make raw calls (syscall.RawSyscall6), as Syscall6 does.
// It is for a Send or Recv that makes many calls from one loop and would
// rather ask once per message than once per call (msgqueue's pieces).
func RawCalls() bool { return unmanagedOn.Load() }

// Syscall6 is syscall.Syscall6, or syscall.RawSyscall6 while an Unmanaged
// window is open. Mechanisms use it (and Read, Write) for the calls of Send
// and Recv, and only for those: a call that may block for long for reasons
// of its own (accept, epoll_wait, connect) stays an ordinary one.
//
// Its raw calls go to rawSyscall6 (assembly on amd64) and its ordinary
// ones to package syscall's Syscall6, not x/sys/unix's, which only jumps to
// it from assembly through an ABI0 wrapper: every frame between Send and
// the kernel is paid again after each context switch, its lines cold.
func Syscall6(trap, a1, a2, a3, a4, a5, a6 uintptr) (r1 uintptr, err unix.Errno) {
	if unmanagedOn.Load() {
		r1, e := rawSyscall6(trap, a1, a2, a3, a4, a5, a6)
		return r1, unix.Errno(e)
	}
	r1, _, err = syscall.Syscall6(trap, a1, a2, a3, a4, a5, a6)
	return r1, err
}

// Read is read(2), raw inside an Unmanaged window as Syscall6's calls: the
// bytes read, or the errno.
func Read(fd int, p []byte) (int, unix.Errno) {
	if unmanagedOn.Load() { // not through Syscall6: one frame fewer a call
		n, e := rawSyscall6(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)), 0, 0, 0)
		return int(n), unix.Errno(e)
	}
	n, _, e := syscall.Syscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	return int(n), e
}

// Write is write(2), raw inside an Unmanaged window as Syscall6's calls:
// the bytes written, or the errno.
func Write(fd int, p []byte) (int, unix.Errno) {
	if unmanagedOn.Load() {
		n, e := rawSyscall6(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)), 0, 0, 0)
		return int(n), unix.Errno(e)
	}
	n, _, e := syscall.Syscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	return int(n), e
}
