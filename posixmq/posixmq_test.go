package posixmq

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/ipcbench/ipcbench/ipc"

	"golang.org/x/sys/unix"
)

// connect is Listen, Dial and Accept in this process, everything closed at
// the end of the test; with split, both ends carry a message above the queue
// message size in pieces, as the harness does.
func connect(t *testing.T, cfg ipc.Config) (*listener, ipc.Conn, ipc.Conn) {
	t.Helper()
	tr := New()
	caps := tr.Caps(cfg)
	if caps.Err != nil {
		t.Fatal(caps.Err)
	}
	l, err := tr.Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	peer, err := tr.Dial(l.Endpoint(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	driver, err := l.Accept(time.Now().Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { driver.Close() })
	if caps.Pieces(cfg.Size) > 1 {
		driver = ipc.Split(driver, caps.Headroom, caps.MaxMessage)
		peer = ipc.Split(peer, caps.Headroom, caps.MaxMessage)
	}
	return l.(*listener), driver, peer
}

func fill(b []byte, seed int) {
	for i := range b {
		b[i] = byte(seed*131 + i + i>>8)
	}
}

func check(b []byte, seed int) error {
	for i := range b {
		if want := byte(seed*131 + i + i>>8); b[i] != want {
			return fmt.Errorf("message %d: byte %d of %d is %#x, want %#x", seed, i, len(b), b[i], want)
		}
	}
	return nil
}

// TestMessages sends messages each way, more than a queue holds, and checks
// every byte, in both io modes, whole and split.
func TestMessages(t *testing.T) {
	l, err := readLimits()
	if err != nil {
		t.Skip(err)
	}
	n := int(l.msgMax) + 3 // more than a queue holds: the sender must wait
	for _, mode := range []ipc.IOMode{ipc.IORaw, ipc.IOGo} {
		for _, size := range []int{16, 100, int(l.msgsizeMax), int(l.msgsizeMax) + 1, 3*int(l.msgsizeMax) + 5} {
			t.Run(fmt.Sprintf("%s/%d", mode, size), func(t *testing.T) {
				_, driver, peer := connect(t, ipc.Config{Size: size, IO: mode, Timeout: time.Second})
				errc := make(chan error, 1)
				go func() {
					f := ipc.NewFrame(0, size, 0)
					for i := range n {
						if err := peer.Recv(f); err != nil {
							errc <- err
							return
						}
						if err := check(f, i); err != nil {
							errc <- err
							return
						}
						fill(f, 1000+i)
						if i%2 == 1 { // echo every other one: both ways at once
							if err := peer.Send(f); err != nil {
								errc <- err
								return
							}
						}
					}
					errc <- nil
				}()
				sent := make(chan error, 1)
				go func() {
					f := ipc.NewFrame(0, size, 0)
					for i := range n {
						fill(f, i)
						if err := driver.Send(f); err != nil {
							sent <- err
							return
						}
					}
					sent <- nil
				}()
				f := ipc.NewFrame(0, size, 0)
				for i := 1; i < n; i += 2 {
					clear(f)
					if err := driver.Recv(f); err != nil {
						t.Fatal(err)
					}
					if err := check(f, 1000+i); err != nil {
						t.Fatal(err)
					}
				}
				if err := <-sent; err != nil {
					t.Fatal(err)
				}
				if err := <-errc; err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// TestPriorityReorders: a queue hands out the highest priority first, whatever
// the order of sending; within a priority, the oldest first.
func TestPriorityReorders(t *testing.T) {
	name := queueName("d2p")
	mqd, err := mqOpen(name, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CREAT|unix.O_EXCL, 0o600, &attr{MaxMsg: 3, MsgSize: 16})
	if err != nil {
		t.Skipf("cannot create a POSIX queue here: %v", err)
	}
	defer mqUnlink(name)
	defer unix.Close(mqd)
	for _, m := range []struct {
		text string
		prio uint
	}{{"low-1", 1}, {"low-2", 1}, {"high", 5}} {
		if err := mqSend(mqd, unsafe.Pointer(unsafe.StringData(m.text)), len(m.text), m.prio); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 16)
	var got []string
	for range 3 {
		var prio uint
		n, err := mqReceive(mqd, unsafe.Pointer(&buf[0]), len(buf), &prio)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s/%d", buf[:n], prio))
	}
	if want := "high/5 low-1/1 low-2/1"; strings.Join(got, " ") != want {
		t.Errorf("received %v, want %s", got, want)
	}
}

// TestLimitsRead: the queues are shaped by the sysctls as read, not by
// assumed defaults: with msgsize_max and msg_max replaced, Caps and the
// queues Listen creates follow.
func TestLimitsRead(t *testing.T) {
	real, err := readLimits()
	if err != nil {
		t.Skip(err)
	}
	caps := New().Caps(ipc.Config{Size: 1 << 20})
	if caps.Err != nil || caps.MaxMessage != int(real.msgsizeMax) || caps.MaxMessageLimit != "fs.mqueue.msgsize_max" {
		t.Errorf("Caps = %+v, want MaxMessage %d from fs.mqueue.msgsize_max", caps, real.msgsizeMax)
	}
	for _, want := range []string{sysMsgMax, sysMsgsizeMax, sysQueuesMax} {
		if !strings.Contains(strings.Join(caps.Sysctls, " "), want) {
			t.Errorf("Caps.Sysctls %v lack %s", caps.Sysctls, want)
		}
	}

	fake := map[string]int64{sysMsgMax: 3, sysMsgsizeMax: 100, sysQueuesMax: 256}
	readSysctl = func(name string) (int64, error) { return fake[name], nil }
	defer func() { readSysctl = ipc.ReadSysctl }()
	caps = New().Caps(ipc.Config{Size: 1000})
	if caps.MaxMessage != 100 || caps.Pieces(1000) != 10 || caps.Note != "" {
		t.Errorf("with msgsize_max 100 and msg_max 3: Caps = %+v", caps)
	}
	l, err := New().Listen(ipc.Config{Size: 1000, IO: ipc.IORaw})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	a, err := mqGetAttr(l.(*listener).mqd[0])
	if err != nil {
		t.Fatal(err)
	}
	if a.MaxMsg != 3 || a.MsgSize != 100 {
		t.Errorf("queue made with %d messages of %d bytes, want 3 of 100", a.MaxMsg, a.MsgSize)
	}

	for name, what := range map[string]string{sysMsgMax: "cannot hold a single message", sysMsgsizeMax: "cannot carry any bytes"} {
		fake = map[string]int64{sysMsgMax: 3, sysMsgsizeMax: 100, sysQueuesMax: 256, name: 0}
		caps = New().Caps(ipc.Config{Size: 64})
		var le *ipc.LimitError
		if !errors.As(caps.Err, &le) || le.Limit != name || !strings.Contains(le.What, what) {
			t.Errorf("with %s 0: Caps.Err = %v, want a limit error naming it", name, caps.Err)
		}
		if _, err := New().Listen(ipc.Config{Size: 64}); !errors.As(err, &le) || le.Limit != name {
			t.Errorf("with %s 0: Listen: %v, want a limit error naming it", name, err)
		}
	}
}

// TestShapeFitsRlimit: the queue depth is cut so that two queues fit in
// RLIMIT_MSGQUEUE, but never below one message.
func TestShapeFitsRlimit(t *testing.T) {
	l := limits{msgMax: 10, msgsizeMax: 8192, queuesMax: 256, rlimit: 819200}
	if m, s := l.shape(64); m != 10 || s != 64 {
		t.Errorf("shape(64) = %d, %d; want 10, 64", m, s)
	}
	if m, s := l.shape(1 << 20); m != 10 || s != 8192 {
		t.Errorf("shape(1 MiB) = %d, %d; want 10, 8192", m, s)
	}
	l.rlimit = 70000 // 70000 / 4 / (8192+128) = 2.1
	if m, _ := l.shape(8192); m != 2 {
		t.Errorf("with RLIMIT_MSGQUEUE 70000, depth %d, want 2", m)
	}
	l.rlimit = 10
	if m, _ := l.shape(8192); m != 1 {
		t.Errorf("with RLIMIT_MSGQUEUE 10, depth %d, want 1", m)
	}
}

// TestCloseWakes: the Listener's Close wakes the driver blocked in Recv
// (nothing to receive) or in Send (queue full, the peer not reading), in both
// io modes, and every later call says the channel is closed.
func TestCloseWakes(t *testing.T) {
	for _, mode := range []ipc.IOMode{ipc.IORaw, ipc.IOGo} {
		for _, op := range []string{"recv", "send"} {
			t.Run(string(mode)+"/"+op, func(t *testing.T) {
				l, driver, _ := connect(t, ipc.Config{Size: 64, IO: mode, Timeout: time.Second})
				f := ipc.NewFrame(0, 64, 0)
				errc := make(chan error, 1)
				go func() {
					for {
						var err error
						if op == "recv" {
							err = driver.Recv(f)
						} else {
							err = driver.Send(f)
						}
						if err != nil {
							errc <- err
							return
						}
					}
				}()
				time.Sleep(20 * time.Millisecond) // let it block (if it has not, Close still ends it)
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
				select {
				case err := <-errc:
					if !errors.Is(err, ipc.ErrClosed) {
						t.Errorf("%s after Close: %v, want ErrClosed", op, err)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("%s still blocked 10s after Close", op)
				}
			})
		}
	}
}

// TestNothingLeft: Close unlinks both queues and forgets their records;
// the names are this process's own, so other tests' queues do not count.
func TestNothingLeft(t *testing.T) {
	for _, mode := range []ipc.IOMode{ipc.IORaw, ipc.IOGo} {
		l, _, _ := connect(t, ipc.Config{Size: 64, IO: mode, Timeout: time.Second})
		names := l.names
		recs := records(t)
		for _, name := range names {
			if _, ok := inspect(name); !ok {
				t.Errorf("queue %s does not exist while the listener is open", name)
			}
			if _, ok := recs[name]; !ok {
				t.Errorf("queue %s is not recorded", name)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if err := l.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		recs = records(t)
		for _, name := range names {
			if _, ok := inspect(name); ok {
				t.Errorf("queue %s left behind", name)
			}
			if _, ok := recs[name]; ok {
				t.Errorf("queue %s still recorded", name)
			}
		}
	}
}

// records maps the names of this process's recorded queues to their proofs.
func records(t *testing.T) map[string]string {
	t.Helper()
	recs, err := ipc.Records(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, r := range recs {
		if r.Kind == Kind {
			m[r.Name] = r.Proof
		}
	}
	return m
}

// stopByte starts the message that ends an echo.
const stopByte = 0xff

// TestSyscallsCounted: a raw Conn counts one call per message (and per
// piece when split); through the poller it does not claim to know.
func TestSyscallsCounted(t *testing.T) {
	for _, mode := range []ipc.IOMode{ipc.IORaw, ipc.IOGo} {
		_, driver, peer := connect(t, ipc.Config{Size: 20000, IO: mode, Timeout: time.Second})
		f := ipc.NewFrame(0, 20000, 0)
		errc := make(chan error, 1)
		go func() { errc <- peer.Recv(ipc.NewFrame(0, 20000, 0)) }()
		if err := driver.Send(f); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		n, ok := ipc.Syscalls(driver)
		m, _ := ipc.Syscalls(peer)
		switch {
		case mode == ipc.IOGo && ok:
			t.Errorf("io=go: the driver claims to count its calls (%d)", n)
		case mode == ipc.IORaw && (!ok || n != 3 || m != 3):
			t.Errorf("io=raw: %d, %v calls to send 3 pieces, %d to receive them; want 3 each", n, ok, m)
		}
	}
}

// TestNoAllocs: a round trip through the driver's Send and Recv allocates
// nothing, whole or split, in both io modes.
func TestNoAllocs(t *testing.T) {
	for _, mode := range []ipc.IOMode{ipc.IORaw, ipc.IOGo} {
		for _, size := range []int{64, 20000} {
			t.Run(fmt.Sprintf("%s/%d", mode, size), func(t *testing.T) {
				_, driver, peer := connect(t, ipc.Config{Size: size, IO: mode, Timeout: time.Second})
				echoed := make(chan struct{})
				go func() {
					defer close(echoed)
					f := ipc.NewFrame(0, size, 0)
					for peer.Recv(f) == nil && f[0] != stopByte && peer.Send(f) == nil {
					}
				}()
				f := ipc.NewFrame(0, size, 0)
				var err error
				allocs := testing.AllocsPerRun(50, func() {
					if err == nil {
						err = driver.Send(f)
					}
					if err == nil {
						err = driver.Recv(f)
					}
				})
				if err != nil {
					t.Fatal(err)
				}
				if allocs != 0 {
					t.Errorf("Send+Recv allocated %v times, want 0", allocs)
				}
				f[0] = stopByte // the echo's last message
				if err := driver.Send(f); err != nil {
					t.Fatal(err)
				}
				<-echoed
			})
		}
	}
}
