package harness

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
)

func TestExplainLimit(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string // in the message; "" for an error returned as it is
	}{
		{&os.SyscallError{Syscall: "pipe2", Err: syscall.EMFILE}, "the limit on open files, ulimit -n, is"},
		{&os.SyscallError{Syscall: "socket", Err: syscall.ENFILE}, "fs.file-max"},
		{fmt.Errorf("listen tcp 127.0.0.1:0: bind: %w", syscall.EADDRINUSE), "no free ephemeral port: net.ipv4.ip_local_port_range is"},
		{fmt.Errorf("dial tcp 127.0.0.1:1234: connect: %w", syscall.EADDRNOTAVAIL), "no free ephemeral port"},
		{&os.PathError{Op: "fork/exec", Path: "/bin/x", Err: syscall.EAGAIN}, "a limit on processes is reached"},
		{fmt.Errorf("read: %w", syscall.EAGAIN), ""},
		{errors.New("something else"), ""},
	} {
		got := explainLimit(tc.err)
		if tc.want == "" {
			if got != tc.err {
				t.Errorf("explainLimit(%v) = %v, want it unchanged", tc.err, got)
			}
			continue
		}
		if !strings.Contains(got.Error(), tc.want) || !strings.HasPrefix(got.Error(), tc.err.Error()) || !errors.Is(got, tc.err) {
			t.Errorf("explainLimit(%v) = %q, want the error followed by %q", tc.err, got, tc.want)
		}
	}
	if explainLimit(nil) != nil {
		t.Error("explainLimit(nil) is not nil")
	}
}
