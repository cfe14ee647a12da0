package harness

import (
	"errors"
	"testing"

	"github.com/ipcbench/ipcbench/ipc"
)

// TestDescribe: the row's note is built from Caps alone: the mechanism's
// note, the split into pieces naming the limit, and the missing poller path.
func TestDescribe(t *testing.T) {
	sysv := ipc.Caps{Headroom: 8, MaxMessage: 8192, MaxMessageLimit: "kernel.msgmax",
		IOModes: []ipc.IOMode{ipc.IORaw}, RawPath: "blocking msgsnd/msgrcv"}
	for _, tc := range []struct {
		caps   ipc.Caps
		size   int
		io     ipc.IOMode
		pieces int
		note   string
	}{
		{sysv, 16, ipc.IORaw, 0, ""},
		{sysv, 8192, ipc.IORaw, 0, ""},
		{sysv, 8193, ipc.IORaw, 2, "split into 2 pieces of up to 8192 B (kernel.msgmax 8192)"},
		{sysv, 16384, ipc.IORaw, 2, "split into 2 pieces of 8192 B (kernel.msgmax 8192)"},
		{sysv, 65536, ipc.IORaw, 8, "split into 8 pieces of 8192 B (kernel.msgmax 8192)"},
		{sysv, 65536, ipc.IOGo, 8, "split into 8 pieces of 8192 B (kernel.msgmax 8192); no poller path: blocking msgsnd/msgrcv in both io modes"},
		{sysv, 16, ipc.IOGo, 0, "no poller path: blocking msgsnd/msgrcv in both io modes"},
		{ipc.Caps{Note: "loopback, TCP_NODELAY on"}, 1 << 20, ipc.IOGo, 0, "loopback, TCP_NODELAY on"},
		{ipc.Caps{IOModes: []ipc.IOMode{ipc.IORaw}}, 16, ipc.IOGo, 0, "no poller path: the raw path in both io modes"},
		{ipc.Caps{MaxMessage: 10, Err: errors.New("no")}, 100, ipc.IORaw, 0, ""},
	} {
		pieces, note := describe(tc.caps, ipc.Config{Size: tc.size, IO: tc.io})
		if pieces != tc.pieces || note != tc.note {
			t.Errorf("describe(%+v, %d, %s) = %d, %q; want %d, %q", tc.caps, tc.size, tc.io, pieces, note, tc.pieces, tc.note)
		}
	}
}
