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
		cl := &serverClient{conn: &echoConn{last: make([]byte, size)}}
		cl.st = newPeer(cl.conn, testHeadroom, size, 0, true, verify)
		server := &serverCell{h: testHeadroom}
		seq := uint64(0)
		msg := d.out[testHeadroom:]
		if a := testing.AllocsPerRun(20, func() {
			for i := 0; i < 100; i++ {
				if verify {
					fillPayload(msg, seq)
				}
				putHeader(msg, seq, 0, Now())
				cl.conn.Send(d.out) // the request, as a client sends it
				if _, _, err := server.handle(cl); err != nil {
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

// TestServerTakeLossy: over a lossy channel the server skips a gap (lost
// requests are the client's to count), counts a late request, and answers
// a client's end each time it is asked, counting the end once; over a
// reliable one a gap fails.
func TestServerTakeLossy(t *testing.T) {
	msg := make([]byte, 64)
	send := func(cl *serverClient, seq, flags uint64) (reply, end bool, err error) {
		putHeader(msg, seq, flags, 0)
		return cl.take(msg)
	}
	lossy := &serverClient{st: newPeer(nil, testHeadroom, 64, 0, true, false)}
	lossy.st.lossy = true
	for _, seq := range []uint64{0, 1, 3, 2} { // 2 is lost, then arrives late
		if reply, end, err := send(lossy, seq, 0); err != nil || !reply || end {
			t.Fatalf("request %d: reply %v end %v err %v", seq, reply, end, err)
		}
	}
	if lossy.st.received != 4 || lossy.st.reordered != 1 {
		t.Errorf("received %d, reordered %d: want 4 and 1", lossy.st.received, lossy.st.reordered)
	}
	for i, want := range []bool{true, false} { // the end, and the end asked again
		reply, end, err := send(lossy, uint64(4+i), flagEnd)
		if err != nil || !reply || end != want {
			t.Fatalf("end %d: reply %v end %v err %v, want end %v", i, reply, end, err, want)
		}
		got, flags, stamp := header(msg)
		if received, reordered := unpackCounts(stamp); got != uint64(4+i) || flags&flagAck == 0 || received != 4 || reordered != 1 {
			t.Errorf("the answer to end %d: message %d flags %#x counts %d/%d", i, got, flags>>56, received, reordered)
		}
	}

	reliable := &serverClient{st: newPeer(nil, testHeadroom, 64, 0, true, false)}
	send(reliable, 0, 0)
	if _, _, err := send(reliable, 2, 0); err == nil {
		t.Error("a gap over a reliable channel did not fail")
	}
}
