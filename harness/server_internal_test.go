package harness

import (
	"math"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ipcbench/ipcbench/ipc"
)

// TestJain checks Jain's fairness index on cases worked out by hand.
func TestJain(t *testing.T) {
	for _, c := range []struct {
		x    []float64
		want float64
	}{
		{[]float64{5, 5, 5, 5}, 1},           // all served equally
		{[]float64{8, 0, 0, 0}, 0.25},        // one got everything: 1/n
		{[]float64{3, 1}, 0.8},               // 16 / (2 x 10)
		{[]float64{1, 2, 3, 4}, 100.0 / 120}, // 10^2 / (4 x 30)
		{[]float64{1000}, 1},                 // one client is always fair
		{nil, 0},
		{[]float64{0, 0}, 0},
	} {
		if got := Jain(c.x); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Jain(%v) = %v, want %v", c.x, got, c.want)
		}
	}
}

// TestServerLoopsDoNotAllocate: the server's handling of a message (take,
// the echo, the one-way record) and a raw connect client's transactions
// allocate nothing.
func TestServerLoopsDoNotAllocate(t *testing.T) {
	const size = 4096
	for _, verify := range []bool{false, true} {
		d := newEchoDriver(size, verify)
		cl := &serverClient{frame: ipc.NewFrame(testHeadroom, size, 0), verify: verify, oneWay: NewRecorder()}
		server := &serverCell{h: testHeadroom}
		cl.conn = &echoConn{last: make([]byte, size)}
		seq := uint64(0)
		msg := d.out[testHeadroom:]
		if a := testing.AllocsPerRun(20, func() {
			for i := 0; i < 100; i++ {
				if verify {
					fillPayload(msg, seq)
				}
				putHeader(msg, seq, 0, Now())
				cl.conn.Send(d.out) // the request, as a client sends it
				if _, err := server.handle(cl); err != nil {
					t.Fatal(err)
				}
				seq++
			}
		}); a != 0 {
			t.Errorf("the server (verify=%v) allocates %v times per 100 requests", verify, a)
		}
	}

	// A raw connect client against a raw accept-echo-close server, both
	// without allocating (AllocsPerRun counts every goroutine's).
	dir := t.TempDir()
	path := filepath.Join(dir, "sock")
	lfd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(lfd)
	if err := unix.Bind(lfd, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(lfd, 16); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	served := make(chan struct{})
	go func() {
		defer close(served)
		buf := make([]byte, 64)
		for {
			fd, _, e := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(lfd), 0, 0, unix.SOCK_CLOEXEC, 0, 0)
			if e != 0 {
				return
			}
			n, _ := unix.Read(int(fd), buf)
			unix.Write(int(fd), buf[:n])
			unix.Close(int(fd))
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	cn, err := ipc.StreamConnector("unix", path, ipc.Config{IO: ipc.IORaw}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := newConnectClient(cn, 0, 64, 0, 0, true)
	if _, _, err := c.run(limit{count: 10}); err != nil {
		t.Fatal(err)
	}
	if a := testing.AllocsPerRun(10, func() {
		if _, _, err := c.run(limit{count: 20}); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("a raw connect client allocates %v times per 20 transactions", a)
	}
	if c.rtt.Count() == 0 || c.connect.Count() != c.rtt.Count() {
		t.Errorf("recorded %d transactions and %d connects", c.rtt.Count(), c.connect.Count())
	}
	close(stop)
	unix.Shutdown(lfd, unix.SHUT_RDWR)
	<-served
}
