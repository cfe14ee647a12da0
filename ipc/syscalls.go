package ipc

// A SyscallCounter is a Conn that counts the system calls its Send and Recv
// make (every read, write, msgsnd, ... including those retried after EINTR
// or continuing a partial write; a wrapper that retries EINTR inside counts
// the call once), so that a row can say what a message
// costs in calls into the kernel. Counting is a plain increment: no
// allocation, no atomic, in the timed loop. Send's and Recv's counts are
// kept apart, so the two may run at once in different goroutines; read
// Syscalls only when neither runs.
//
// A Conn that goes through the runtime's poller (-io go) cannot count what
// the runtime does for it (epoll_wait, futex wake-ups) and should not
// implement it: its rows then say the count is not known rather than give
// a number that is too low.
type SyscallCounter interface {
	Syscalls() int64
}

// Syscalls is c's count of system calls so far, and whether c counts them.
func Syscalls(c Conn) (int64, bool) {
	if sc, ok := c.(SyscallCounter); ok {
		return sc.Syscalls(), true
	}
	return 0, false
}

// Calls is the pair of counters a SyscallCounter keeps, one per direction.
// Embed it and add to Send or Recv from the methods of the same name.
type Calls struct {
	Send, Recv int64
}

// Syscalls implements SyscallCounter.
func (c *Calls) Syscalls() int64 { return c.Send + c.Recv }
