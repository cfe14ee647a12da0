package host

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Rseq reports whether this process's threads have restartable sequences
// (rseq(2)) registered. Go's runtime registers none, but glibc 2.35 and
// later registers one for every thread it starts, and a Go binary built
// with cgo (the default where a C compiler is installed: package net links
// it) has its threads started by glibc. The kernel then writes the thread's
// CPU into that area on every return to user space after a context switch:
// on Linux 6.18 in a KVM guest that is 90 ns a time, 8% of a 64 B pipe round
// trip with both sides on one CPU. A C program pays the same, a static Go
// program does not, so results record it, and bench/compare gives the C
// baseline the same setting.
//
// It asks by registering a valid area of its own on the calling thread: the
// kernel refuses when one is registered already (EINVAL for another area,
// EBUSY for the same); when it accepts, the area is unregistered at once.
func Rseq() bool {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const (
		size       = 32         // struct rseq, which must be 32-byte aligned
		sig        = 0x53053053 // glibc's RSEQ_SIG on x86; any value will do
		unregister = 1          // RSEQ_FLAG_UNREGISTER
	)
	area := (uintptr(unsafe.Pointer(&rseqArea[0])) + size - 1) &^ (size - 1)
	_, _, e := unix.RawSyscall6(unix.SYS_RSEQ, area, size, 0, sig, 0, 0)
	if e == 0 {
		unix.RawSyscall6(unix.SYS_RSEQ, area, size, unregister, sig, 0, 0)
	}
	return e == unix.EINVAL || e == unix.EBUSY
}

// rseqArea holds the probe's struct rseq, aligned within it: a package
// variable never moves, and the kernel may write to it while registered.
var rseqArea [64]byte
