package ipc

// rawSyscall6 is syscall.RawSyscall6 in assembly (rawsyscall_amd64.s).
// Package syscall's goes through two Go frames, each a stack check and a
// few stores, on every raw call of Send and Recv; after a context switch
// the lines they touch are cold, and four calls a round trip pay for it.
func rawSyscall6(trap, a1, a2, a3, a4, a5, a6 uintptr) (r1, errno uintptr)
