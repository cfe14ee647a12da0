package ipc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestNewFrameOffset(t *testing.T) {
	for _, h := range []int{0, 8} {
		for _, size := range []int{0, 16, 4096, 65536 + 3, 1 << 20} {
			for _, off := range []int{0, 8, 64, 4095} {
				f := NewFrame(h, size, off)
				if len(f) != h+size || cap(f) != h+size {
					t.Errorf("NewFrame(%d, %d, %d): len %d cap %d, want %d", h, size, off, len(f), cap(f), h+size)
				}
				if h+size == 0 {
					continue // an empty frame is nowhere
				}
				if got := PayloadOffset(f, h); got != off {
					t.Errorf("NewFrame(%d, %d, %d): payload %d bytes past a page", h, size, off, got)
				}
			}
		}
	}
}

func TestNewFrameBadArgs(t *testing.T) {
	for _, a := range [][3]int{{-1, 1, 0}, {0, -1, 0}, {0, 1, -1}, {0, 1, pageSize}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewFrame%v did not panic", a)
				}
			}()
			NewFrame(a[0], a[1], a[2])
		}()
	}
}

// pieceConn records the pieces it is given and scribbles over each one's
// headroom, as a System V Conn writes its mtype there.
type pieceConn struct {
	h      int
	pieces [][]byte
	queue  [][]byte
	fail   int // fail the call with this index (1-based), 0: never
	calls  int
}

var errInjected = errors.New("injected")

func (c *pieceConn) Send(frame []byte) error {
	c.calls++
	if c.calls == c.fail {
		return errInjected
	}
	for i := range c.h {
		frame[i] = 0xEE
	}
	c.pieces = append(c.pieces, slices.Clone(frame[c.h:]))
	return nil
}

func (c *pieceConn) Recv(frame []byte) error {
	c.calls++
	if c.calls == c.fail {
		return errInjected
	}
	for i := range c.h {
		frame[i] = 0xEE
	}
	p := c.queue[0]
	c.queue = c.queue[1:]
	if len(p) != len(frame)-c.h {
		return fmt.Errorf("piece of %d bytes into a frame for %d", len(p), len(frame)-c.h)
	}
	copy(frame[c.h:], p)
	return nil
}

func (c *pieceConn) Close() error { return nil }

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

func TestSplit(t *testing.T) {
	for _, h := range []int{0, 8} {
		for _, tc := range []struct{ size, piece, n int }{
			{0, 10, 1}, {10, 10, 1}, {11, 10, 2}, {20, 10, 2}, {95, 10, 10}, {5, 1, 5},
		} {
			t.Run(fmt.Sprintf("h%d/%d-in-%d", h, tc.size, tc.piece), func(t *testing.T) {
				inner := &pieceConn{h: h}
				c := Split(inner, h, tc.piece)
				frame := NewFrame(h, tc.size, 0)
				msg := pattern(tc.size)
				copy(frame[h:], msg)
				if err := c.Send(frame); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(frame[h:], msg) {
					t.Errorf("Send changed the message")
				}
				if len(inner.pieces) != tc.n {
					t.Fatalf("%d pieces, want %d", len(inner.pieces), tc.n)
				}
				if got := bytes.Join(inner.pieces, nil); !bytes.Equal(got, msg) {
					t.Errorf("the pieces do not make the message")
				}
				for i, p := range inner.pieces {
					if len(p) > tc.piece || (i < len(inner.pieces)-1 && len(p) != tc.piece) {
						t.Errorf("piece %d has %d bytes (piece %d)", i, len(p), tc.piece)
					}
				}
				inner.queue = inner.pieces
				in := NewFrame(h, tc.size, 0)
				if err := c.Recv(in); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(in[h:], msg) {
					t.Errorf("Recv did not reassemble the message")
				}
			})
		}
	}
}

func TestSplitError(t *testing.T) {
	inner := &pieceConn{h: 8, fail: 2}
	c := Split(inner, 8, 10)
	frame := NewFrame(8, 35, 0)
	msg := pattern(35)
	copy(frame[8:], msg)
	if err := c.Send(frame); !errors.Is(err, errInjected) {
		t.Fatalf("Send = %v, want the inner error", err)
	}
	if !bytes.Equal(frame[8:], msg) {
		t.Error("a failed Send left the message changed")
	}
	if got := Split(inner, 8, 0); got != Conn(inner) {
		t.Error("Split with piece 0 wrapped the Conn")
	}
}

func TestSplitNoAllocs(t *testing.T) {
	inner := &echoConn{h: 8}
	c := Split(inner, 8, 1000)
	frame := NewFrame(8, 10000, 0)
	allocs := testing.AllocsPerRun(100, func() {
		c.Send(frame)
		c.Recv(frame)
	})
	if allocs != 0 {
		t.Errorf("Split Send+Recv allocate %v times", allocs)
	}
}

// echoConn accepts anything and receives zeros, allocating nothing.
type echoConn struct{ h int }

func (c *echoConn) Send([]byte) error { return nil }
func (c *echoConn) Recv(f []byte) error {
	clear(f[c.h:])
	return nil
}
func (c *echoConn) Close() error { return nil }

func TestRecords(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	if err := Record("testkind", "/a name/with slashes", "proof 1"); err != nil {
		t.Fatal(err)
	}
	if err := Record("testkind", "7", "42"); err != nil {
		t.Fatal(err)
	}
	if err := Record("bad-kind", "7", "42"); err == nil {
		t.Error("a kind with a dash was recorded")
	}
	recs, err := Records(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range recs {
		if r.Kind != "testkind" || r.PID != os.Getpid() || filepath.Dir(r.File) != ObjectDir() {
			t.Errorf("record %+v", r)
		}
		got[r.Name] = r.Proof
	}
	if want := map[string]string{"/a name/with slashes": "proof 1", "7": "42"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Records = %v, want %v", got, want)
	}
	if all, _ := Records(0); len(all) != 2 {
		t.Errorf("Records(0) = %v", all)
	}
	Forget("testkind", "7")
	Forget("testkind", "/a name/with slashes")
	if _, err := os.Stat(ObjectDir()); !os.IsNotExist(err) {
		t.Errorf("the object directory is left after the last Forget: %v", err)
	}
}

func TestReadLimits(t *testing.T) {
	l := ReadLimits([]string{"kernel.pid_max", "net.ipv4.tcp_rmem", "no.such.setting"})
	if _, ok := l["kernel.pid_max"]; !ok {
		t.Errorf("kernel.pid_max missing: %v", l)
	}
	if _, err := os.Stat(sysctlPath("net.ipv4.tcp_rmem")); err == nil {
		if _, ok := l["net.ipv4.tcp_rmem.default"]; !ok {
			t.Errorf("the default of net.ipv4.tcp_rmem missing: %v", l)
		}
	}
	if len(l) > 2 {
		t.Errorf("unexpected limits: %v", l)
	}
}

// selfSplitter is a Conn that splits messages itself.
type selfSplitter struct {
	pieceConn
	h, piece int
}

func (s *selfSplitter) SplitPieces(h, piece int) Conn {
	s.h, s.piece = h, piece
	return &s.pieceConn
}

// TestSplitHandsOverToPieceSplitter: a Conn that splits itself gets the job,
// with the headroom and piece size Split was given, and a piece size < 1
// still means no splitting at all.
func TestSplitHandsOverToPieceSplitter(t *testing.T) {
	s := &selfSplitter{}
	if c := Split(s, 8, 8192); c != Conn(&s.pieceConn) {
		t.Fatalf("Split returned %T, want the PieceSplitter's own Conn", c)
	}
	if s.h != 8 || s.piece != 8192 {
		t.Errorf("SplitPieces got headroom %d, piece %d; want 8, 8192", s.h, s.piece)
	}
	if c := Split(s, 8, 0); c != Conn(s) {
		t.Errorf("Split with piece 0 returned %T, want the Conn itself", c)
	}
}
