// Package msgqueuetest helps tests that need System V queues of their own:
// the queues of "another program" that `ipcbench clean` must leave alone.
package msgqueuetest

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ipcbench/ipcbench/msgqueue"
)

// ForeignQueue creates a private System V queue as any other program might,
// without ipcbench's record of it, and removes it when the test ends: what
// `ipcbench clean` must leave alone.
func ForeignQueue(t *testing.T, mode int) msgqueue.QueueInfo {
	t.Helper()
	r, _, e := unix.Syscall(unix.SYS_MSGGET, unix.IPC_PRIVATE, uintptr(unix.IPC_CREAT|mode), 0)
	if e != 0 {
		t.Fatalf("msgget: %v", e)
	}
	id := int(r)
	t.Cleanup(func() { unix.Syscall(unix.SYS_MSGCTL, uintptr(id), unix.IPC_RMID, 0) })
	qs, err := msgqueue.Queues()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		if q.ID == id {
			return q
		}
	}
	t.Fatalf("queue %d is not in /proc/sysvipc/msg", id)
	return msgqueue.QueueInfo{}
}

// Exists reports whether the queue with this id exists.
func Exists(t *testing.T, id int) bool {
	t.Helper()
	qs, err := msgqueue.Queues()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		if q.ID == id {
			return true
		}
	}
	return false
}
