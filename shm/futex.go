package shm

import (
	"math"
	"sync/atomic"
	"unsafe"

	"github.com/ipcbench/ipcbench/ipc"

	"golang.org/x/sys/unix"
)

// The futex words live in a MAP_SHARED mapping that two processes see, so
// the operations are the shared ones (no FUTEX_PRIVATE_FLAG): the kernel
// keys the wait queue by the page, not by one process's address.
const (
	futexWait = 0 // FUTEX_WAIT
	futexWake = 1 // FUTEX_WAKE
)

// futexWaitOn sleeps while *w == val, until a futexWakeOn on the same word.
// It returns at once if *w != val already (EAGAIN), and early on a signal
// (EINTR); the caller checks its condition again either way, so the error
// does not matter.
func futexWaitOn(w *atomic.Uint32, val uint32) {
	ipc.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(w)), futexWait, uintptr(val), 0, 0, 0)
}

// futexWakeOn wakes up to n sleepers on w.
func futexWakeOn(w *atomic.Uint32, n int) {
	ipc.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(w)), futexWake, uintptr(n), 0, 0, 0)
}

// wakeAll is n for futexWakeOn: every sleeper.
const wakeAll = math.MaxInt32
