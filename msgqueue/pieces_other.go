//go:build !amd64

package msgqueue

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Where there is no assembly, the raw calls are the Go loops': msgsnd and
// msgrcv are raw inside the harness's window (ipc.Syscall6).

func sendPieces(id uintptr, msg unsafe.Pointer, size, piece int, typ int64) (calls int, errno uintptr) {
	calls, err := sendLoop(int(id), msg, size, piece, typ)
	return calls, errnoOf(err)
}

func recvPieces(id uintptr, msg unsafe.Pointer, size, piece int, from int64, want uint64) (calls, n, got int, typ uint64, errno uintptr) {
	calls, n, got, typ, err := recvLoop(int(id), msg, size, piece, from, want)
	return calls, n, got, typ, errnoOf(err)
}

// errnoOf undoes errnoErr.
func errnoOf(err error) uintptr {
	if e, ok := err.(unix.Errno); ok {
		return uintptr(e)
	}
	return 0
}
