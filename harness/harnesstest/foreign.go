package harnesstest

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ipcbench/ipcbench/harness"
)

// ForeignQueue creates a private System V queue as any other program might,
// without ipcbench's record of it, and removes it when the test ends: what
// `ipcbench clean` must leave alone.
func ForeignQueue(t *testing.T, mode int) harness.QueueInfo {
	t.Helper()
	r, _, e := unix.Syscall(unix.SYS_MSGGET, unix.IPC_PRIVATE, uintptr(unix.IPC_CREAT|mode), 0)
	if e != 0 {
		t.Fatalf("msgget: %v", e)
	}
	id := int(r)
	t.Cleanup(func() { unix.Syscall(unix.SYS_MSGCTL, uintptr(id), unix.IPC_RMID, 0) })
	qs, err := harness.SysVQueues()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		if q.ID == id {
			return q
		}
	}
	t.Fatalf("queue %d is not in /proc/sysvipc/msg", id)
	return harness.QueueInfo{}
}
