package unixsocket

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ipcbench/ipcbench/harness/harnesstest"
	"github.com/ipcbench/ipcbench/ipc"
)

// What every stream-socket transport must do is in
// harnesstest.Run (its Contract part), run from conformance_test.go; here is
// only what is the Unix socket's own.

// TestCloseRemoves checks the private directory and that Close removes it,
// with or without a connection, and can be called again.
func TestCloseRemoves(t *testing.T) {
	for _, connected := range []bool{false, true} {
		t.Run(fmt.Sprint("connected=", connected), func(t *testing.T) {
			cfg := harnesstest.CellConfig(ipc.IOGo, 16)
			var l ipc.Listener
			if connected {
				l, _, _ = harnesstest.Connect(t, New(), cfg)
			} else {
				var err error
				if l, err = New().Listen(cfg); err != nil {
					t.Fatal(err)
				}
			}
			path := l.Endpoint().Addr
			dir := filepath.Dir(path)
			fi, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if perm := fi.Mode().Perm(); perm != 0o700 {
				t.Errorf("socket directory mode = %v, want 0700", perm)
			}
			if fi, err := os.Stat(path); err != nil || fi.Mode().Type() != os.ModeSocket {
				t.Errorf("socket file: %v, %v", fi, err)
			}
			if len(l.Endpoint().Files) != 0 {
				t.Errorf("Endpoint has %d files, want none", len(l.Endpoint().Files))
			}
			for i := range 2 {
				if err := l.Close(); err != nil {
					t.Fatalf("Close #%d: %v", i+1, err)
				}
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("after Close, the socket directory: %v, want it gone", err)
			}
		})
	}
}

func TestName(t *testing.T) {
	if got := New().Name(); got != "unixsocket" {
		t.Errorf("Name() = %q", got)
	}
}
