package udp

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/harness/harnesstest"
	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/results"
	"golang.org/x/sys/unix"
)

// The test transports, which the peer processes (this test binary run
// again) must know by name too.
var (
	// tiny has the smallest receive buffers the kernel allows, and a peer
	// that sleeps before its first receive: a stream floods the buffer and
	// loses what does not fit.
	tiny = &testTransport{transport: transport{name: "udp-tiny", rcvbuf: 1}, peerNap: 200 * time.Millisecond}
	// dropping drops every tenth datagram the driver sends.
	dropping = &testTransport{transport: transport{name: "udp-drop"}, dropEvery: 10}
)

func TestMain(m *testing.M) {
	harness.MaybeRunPeer([]ipc.Transport{New(), tiny, dropping})
	os.Exit(m.Run())
}

// TestConformance runs both workloads at every size between two processes,
// every payload verified; loss is allowed (and counted), not required.
func TestConformance(t *testing.T) { harnesstest.Run(t, New()) }

// testTransport is udp with a Conn wrapper that provokes loss.
type testTransport struct {
	transport
	peerNap   time.Duration // the peer's first Recv waits this long first
	dropEvery int           // the driver's Conn drops every dropEvery-th datagram sent
}

func (t *testTransport) Listen(cfg ipc.Config) (ipc.Listener, error) {
	l, err := t.transport.Listen(cfg)
	if err != nil || t.dropEvery == 0 {
		return l, err
	}
	return &dropListener{Listener: l, every: t.dropEvery}, nil
}

func (t *testTransport) Dial(ep ipc.Endpoint, cfg ipc.Config) (ipc.Conn, error) {
	c, err := t.transport.Dial(ep, cfg)
	if err != nil || t.peerNap == 0 {
		return c, err
	}
	return &nappingConn{Conn: c, nap: t.peerNap}, nil
}

type dropListener struct {
	ipc.Listener
	every int
}

func (l *dropListener) Accept(deadline time.Time) (ipc.Conn, error) {
	c, err := l.Listener.Accept(deadline)
	if err != nil {
		return nil, err
	}
	return &droppingConn{Conn: c, every: l.every}, nil
}

// droppingConn drops every every-th datagram it is asked to send.
type droppingConn struct {
	ipc.Conn
	every, n int
}

func (c *droppingConn) Send(frame []byte) error {
	c.n++
	if c.n%c.every == 0 {
		return nil
	}
	return c.Conn.Send(frame)
}

// nappingConn sleeps once, before its first Recv.
type nappingConn struct {
	ipc.Conn
	nap  time.Duration
	once sync.Once
}

func (c *nappingConn) Recv(frame []byte) error {
	c.once.Do(func() { time.Sleep(c.nap) })
	return c.Conn.Recv(frame)
}

func run(t *testing.T, tr ipc.Transport, workload string, size int, count int64) results.Result {
	t.Helper()
	before := harnesstest.Snapshot(t)
	f, err := harness.Run(context.Background(), harness.Options{
		Transports: []ipc.Transport{tr}, Workloads: []string{workload}, Sizes: []int{size},
		Count: count, Rounds: 1, IO: ipc.IORaw, Pairs: 1, Timeout: 30 * time.Second, Verify: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Results) != 1 {
		t.Fatalf("%d rows, want 1", len(f.Results))
	}
	r := f.Results[0]
	harnesstest.CheckRow(t, r, count)
	if r.Lost == nil || r.Reordered == nil {
		t.Fatalf("a udp row without lost and reordered: %+v", r)
	}
	before.CheckNothingLeft(t)
	return r
}

// A stream that floods a tiny receive buffer loses datagrams: the cell
// completes, counts them, and its rates count only the delivered ones.
func TestTinyReceiveBufferLoses(t *testing.T) {
	r := run(t, tiny, results.Stream, 4096, 2000)
	t.Logf("lost %d of %d, %d reordered", *r.Lost, r.Messages, *r.Reordered)
	if *r.Lost == 0 {
		t.Errorf("no datagram lost into a tiny buffer while the peer slept")
	}
}

// Dropped datagrams are lost messages, in either workload, and a message
// split into pieces that loses one piece is one lost message: the receiver
// resynchronises at the next message's first piece, every payload verified.
func TestDroppedDatagramsAreCounted(t *testing.T) {
	for _, tt := range []struct {
		workload string
		size     int
		want     int64 // lost, at least (the kernel may lose more in a stream)
	}{
		{results.PingPong, 64, 10},           // every tenth request
		{results.PingPong, 2 * MaxPiece, 20}, // 2 pieces: every fifth message loses its second
		{results.Stream, 64, 10},
		{results.Stream, 3 * MaxPiece, 30}, // 3 pieces: 30 datagrams dropped, each of another message
	} {
		r := run(t, dropping, tt.workload, tt.size, 100)
		t.Logf("%s %d B: lost %d of %d, %d reordered", tt.workload, tt.size, *r.Lost, r.Messages, *r.Reordered)
		// A round trip given up only because the machine was slow is
		// counted lost too, and its echo reordered when it comes.
		if *r.Lost-*r.Reordered < tt.want && *r.Lost < tt.want {
			t.Errorf("%s %d B: lost %d, reordered %d: want at least %d lost", tt.workload, tt.size, *r.Lost, *r.Reordered, tt.want)
		}
	}
}

// The largest datagram is what the kernel takes, not a number assumed: 65507
// bytes go, one more is refused.
func TestLargestDatagramIsTheKernels(t *testing.T) {
	a, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := net.DialUDP("udp4", nil, a.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Write(make([]byte, MaxDatagram)); err != nil {
		t.Errorf("a %d-byte datagram: %v", MaxDatagram, err)
	}
	if _, err := b.Write(make([]byte, MaxDatagram+1)); !errors.Is(err, unix.EMSGSIZE) {
		t.Errorf("a %d-byte datagram: %v, want EMSGSIZE", MaxDatagram+1, err)
	}
}

func TestCaps(t *testing.T) {
	c := New().Caps(ipc.Config{Size: 64})
	if !c.Lossy || c.MaxMessage != MaxDatagram || c.Headroom != 0 || c.Err != nil {
		t.Errorf("Caps(64 B) = %+v", c)
	}
	c = New().Caps(ipc.Config{Size: 1 << 20})
	if c.Headroom != ipc.PieceHeaderSize || c.Pieces(1<<20) != 17 || c.Err != nil {
		t.Errorf("Caps(1 MiB) = %+v", c)
	}
	for _, s := range []string{"net.core.rmem_default", "net.core.rmem_max", "net.core.wmem_default", "net.core.wmem_max"} {
		found := false
		for _, x := range c.Sysctls {
			found = found || x == s
		}
		if !found {
			t.Errorf("Caps.Sysctls %v lacks %s", c.Sysctls, s)
		}
	}
}

// A split message's sockets ask for a buffer that holds it whole.
func TestSplitMessagesGetARecvBuffer(t *testing.T) {
	max, err := ipc.ReadSysctl("net.core.rmem_max")
	if err != nil {
		t.Skip(err)
	}
	cfg := ipc.Config{Size: 1 << 20, IO: ipc.IORaw, Timeout: 5 * time.Second}
	l, err := New().Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := setRecvBuffer(c, 0, 1<<20); err != nil {
		t.Fatal(err)
	}
	rc, _ := c.SyscallConn()
	var got int
	rc.Control(func(fd uintptr) { got, err = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF) })
	want := 2 * int(min(int64(wantRecvBuffer(1<<20)), max)) // the kernel doubles it
	if err != nil || got != want {
		t.Errorf("SO_RCVBUF %d (%v), want %d", got, err, want)
	}
}

// The server and connect cells are skipped rows that say why.
func TestServer(t *testing.T) { harnesstest.RunServer(t, New()) }
