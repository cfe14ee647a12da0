package msgqueue

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sendLoop sends the size bytes after the mtypeLen bytes at msg as messages
// of piece bytes (the last one shorter), one msgsnd each: piece k's type
// goes in the mtypeLen bytes in front of it, which for k > 0 are the end of
// the previous piece, saved before the call and put back after. raw makes
// the calls with RawSyscall6 (inside the harness's ipc.Unmanaged window).
//
// It returns how many calls it made, a retry after EINTR counting as the
// same call, and the errno of the last one.
func sendLoop(raw bool, id uintptr, msg unsafe.Pointer, size, piece int, typ int64) (calls int, errno uintptr) {
	var e syscall.Errno
	for off := 0; ; {
		n, h := min(piece, size-off), unsafe.Slice((*byte)(unsafe.Add(msg, off)), mtypeLen)
		saved := getMtype(h)
		putType(h, typ)
		if raw {
			_, _, e = syscall.RawSyscall6(unix.SYS_MSGSND, id, uintptr(unsafe.Pointer(&h[0])), uintptr(n), 0, 0, 0)
		} else {
			_, _, e = syscall.Syscall6(unix.SYS_MSGSND, id, uintptr(unsafe.Pointer(&h[0])), uintptr(n), 0, 0, 0)
		}
		putType(h, int64(saved))
		if e == unix.EINTR { // never restarted (sysv.go): the piece again
			continue
		}
		calls++
		if off += n; e != 0 || off >= size {
			return calls, uintptr(e)
		}
	}
}

// recvLoop receives messages of piece bytes into the size bytes after the
// mtypeLen bytes at msg, one msgrcv of type from each, as sendLoop sent
// them. It stops at the first call that fails or brings other than n bytes
// of type want, and returns the calls made and that call's n, the bytes it
// got (-1 on error), the type and the errno.
func recvLoop(raw bool, id uintptr, msg unsafe.Pointer, size, piece int, from int64, want uint64) (calls, n, got int, typ uint64, errno uintptr) {
	var r uintptr
	var e syscall.Errno
	for off := 0; ; {
		n = min(piece, size-off)
		h := unsafe.Slice((*byte)(unsafe.Add(msg, off)), mtypeLen)
		saved := getMtype(h)
		if raw {
			r, _, e = syscall.RawSyscall6(unix.SYS_MSGRCV, id, uintptr(unsafe.Pointer(&h[0])), uintptr(n), uintptr(from), 0, 0)
		} else {
			r, _, e = syscall.Syscall6(unix.SYS_MSGRCV, id, uintptr(unsafe.Pointer(&h[0])), uintptr(n), uintptr(from), 0, 0)
		}
		typ = getMtype(h)
		putType(h, int64(saved))
		if e == unix.EINTR {
			continue
		}
		calls++
		if e != 0 {
			return calls, n, -1, 0, uintptr(e)
		}
		if off += n; int(r) != n || typ != want || off >= size {
			return calls, n, int(r), typ, 0
		}
	}
}
