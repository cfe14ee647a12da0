package harness_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/msgqueue"
	"github.com/ipcbench/ipcbench/tcpsocket"
	"github.com/ipcbench/ipcbench/unixsocket"
)

// withUmask runs f with the process's umask set to 0, so that the modes
// checked are the ones ipcbench asks for, not the ones a careful umask
// would have given anyway.
func withUmask(t *testing.T, f func()) {
	t.Helper()
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	f()
}

var cfg = ipc.Config{Size: 64, IO: ipc.IORaw, Timeout: 5 * time.Second}

// TestQueuesArePrivate: the queues are mode 0600 and ours, so no other
// user can read or inject messages; their records are private too.
func TestQueuesArePrivate(t *testing.T) {
	withUmask(t, func() {
		l, err := msgqueue.New().Listen(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ids := strings.Split(l.Endpoint().Addr, ",")[:2]
		qs, err := msgqueue.Queues()
		if err != nil {
			t.Fatal(err)
		}
		found := 0
		for _, q := range qs {
			for _, id := range ids {
				if strconv.Itoa(q.ID) != id {
					continue
				}
				found++
				if q.Mode != 0o600 || q.UID != os.Getuid() {
					t.Errorf("queue %d: mode %#o uid %d, want 0600 and uid %d", q.ID, q.Mode, q.UID, os.Getuid())
				}
				if q.Key != 0 {
					t.Errorf("queue %d has key %#x: want IPC_PRIVATE, reachable only by id", q.ID, q.Key)
				}
			}
		}
		if found != 2 {
			t.Fatalf("found %d of the queues %v", found, ids)
		}
		checkMode(t, ipc.ObjectDir(), 0o700)
		for _, id := range ids {
			checkMode(t, filepath.Join(ipc.ObjectDir(), "sysvmsg-"+id), 0o600)
		}
	})
}

// TestSocketDirectoryIsPrivate: the Unix socket lives in a 0700 directory,
// so no other user can connect to it, whatever the socket's own mode.
func TestSocketDirectoryIsPrivate(t *testing.T) {
	withUmask(t, func() {
		l, err := unixsocket.New().Listen(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		dir := filepath.Dir(l.Endpoint().Addr)
		checkMode(t, dir, 0o700)
		if pid, ok := ipc.OwnerPID(dir); !ok || pid != os.Getpid() {
			t.Errorf("%s is not named after this process, so `ipcbench clean` could not tell whose it is", dir)
		}
	})
}

// TestTCPListensOnLoopbackOnly: the listening socket is bound to
// 127.0.0.1, as the kernel's own table says, never to a wildcard address
// another host could reach.
func TestTCPListensOnLoopbackOnly(t *testing.T) {
	l, err := tcpsocket.New().Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	host, port, err := net.SplitHostPort(l.Endpoint().Addr)
	if err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		t.Errorf("listening on %s, not loopback", host)
	}
	n, _ := strconv.Atoi(port)
	want := fmt.Sprintf("0100007F:%04X", n) // /proc/net/tcp's spelling of 127.0.0.1:port
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Skip(err)
	}
	listening := false
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 3 && strings.HasSuffix(f[1], fmt.Sprintf(":%04X", n)) && f[3] == "0A" { // 0A: LISTEN
			listening = true
			if f[1] != want {
				t.Errorf("the kernel has the listener on %s, want %s", f[1], want)
			}
		}
	}
	if !listening {
		t.Errorf("no listening socket on port %d in /proc/net/tcp", n)
	}
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Error(err)
		return
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %#o, want %#o", path, got, want)
	}
}
