//go:build !amd64

package ipc

import "syscall"

func rawSyscall6(trap, a1, a2, a3, a4, a5, a6 uintptr) (r1, errno uintptr) {
	r1, _, e := syscall.RawSyscall6(trap, a1, a2, a3, a4, a5, a6)
	return r1, uintptr(e)
}
