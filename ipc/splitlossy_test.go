package ipc

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
)

// lossyPipe is an in-memory datagram channel with no headroom of its own
// that drops the datagrams drop says to, and insists, as a datagram socket
// does, that each one is received with exactly its length.
type lossyPipe struct {
	queue [][]byte
	sent  int
	drop  func(n int) bool // n counts the datagrams sent, from 0
}

func (p *lossyPipe) Send(frame []byte) error {
	n := p.sent
	p.sent++
	if p.drop != nil && p.drop(n) {
		return nil
	}
	p.queue = append(p.queue, bytes.Clone(frame))
	return nil
}

func (p *lossyPipe) Recv(frame []byte) error {
	if len(p.queue) == 0 {
		return ErrTimeout
	}
	d := p.queue[0]
	p.queue = p.queue[1:]
	if len(d) != len(frame) {
		return fmt.Errorf("a datagram of %d bytes where %d were expected", len(d), len(frame))
	}
	copy(frame, d)
	return nil
}

func (p *lossyPipe) Close() error { return nil }

// message fills a message with a pattern of its number i.
func message(msg []byte, i int) {
	binary.LittleEndian.PutUint64(msg, uint64(i))
	for k := 8; k < len(msg); k++ {
		msg[k] = byte(i*7 + k)
	}
}

func TestSplitLossyLayout(t *testing.T) {
	s := &lossySplit{piece: 100}
	for _, tt := range []struct{ size, n, l int }{
		{0, 1, 0}, {100, 1, 100}, {101, 2, 51}, {200, 2, 100}, {201, 3, 67}, {1000, 10, 100}, {1001, 11, 91}, {1002, 11, 92},
	} {
		n, l := s.layout(tt.size)
		if n != tt.n || l != tt.l {
			t.Errorf("layout(%d) = %d pieces of %d, want %d of %d", tt.size, n, l, tt.n, tt.l)
		}
		if n > 1 && (l > s.piece || at(n-1, n, l, tt.size)+l != tt.size || at(n-2, n, l, tt.size)+l < at(n-1, n, l, tt.size)) {
			t.Errorf("size %d: pieces of %d do not cover the message", tt.size, l)
		}
	}
}

// Losing any one piece of a message loses that message and no other: the
// receiver drops the broken one and picks up the next at its first piece,
// also when that first piece arrives where a later piece was expected.
func TestSplitLossyResynchronises(t *testing.T) {
	const h, piece, msgs = PieceHeaderSize, 40, 6
	for _, size := range []int{41, 100, 120, 157} {
		n := (size-1)/piece + 1
		for lostMsg := 0; lostMsg < msgs; lostMsg++ {
			for lostPiece := 0; lostPiece < n; lostPiece++ {
				name := fmt.Sprintf("size %d, message %d piece %d", size, lostMsg, lostPiece)
				p := &lossyPipe{drop: func(d int) bool { return d == lostMsg*n+lostPiece }}
				c := SplitLossy(p, h, piece)
				out := NewFrame(h, size, 0)
				for i := range msgs {
					message(out[h:], i)
					if err := c.Send(out); err != nil {
						t.Fatalf("%s: Send: %v", name, err)
					}
				}
				var got []int
				in := NewFrame(h, size, 0)
				for {
					err := c.Recv(in)
					if err == ErrTimeout {
						break
					}
					if err != nil {
						t.Fatalf("%s: Recv: %v", name, err)
					}
					i := int(binary.LittleEndian.Uint64(in[h:]))
					want := NewFrame(h, size, 0)
					message(want[h:], i)
					if !bytes.Equal(in[h:], want[h:]) {
						t.Fatalf("%s: message %d arrived corrupt", name, i)
					}
					got = append(got, i)
				}
				var want []int
				for i := range msgs {
					if i != lostMsg {
						want = append(want, i)
					}
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s: received %v, want %v", name, got, want)
				}
			}
		}
	}
}

// A message that fits in one piece goes as one datagram, still with a
// header, and the bytes in front of later pieces are given back intact.
func TestSplitLossyKeepsFrame(t *testing.T) {
	const h = PieceHeaderSize + 4 // the inner Conn has 4 bytes of its own
	p := &lossyPipe{}
	c := SplitLossy(p, h, 16)
	out := NewFrame(h, 50, 0)
	message(out[h:], 3)
	before := bytes.Clone(out[h:])
	if err := c.Send(out); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out[h:], before) {
		t.Error("Send changed the message")
	}
	if len(p.queue) != 4 || len(p.queue[0]) != h+13 {
		t.Fatalf("%d datagrams of %d bytes, want 4 of %d", len(p.queue), len(p.queue[0]), h+13)
	}
	in := NewFrame(h, 50, 0)
	if err := c.Recv(in); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(in[h:], before) {
		t.Error("Recv assembled a different message")
	}
	small := NewFrame(h, 10, 0)
	if err := c.Send(small); err != nil || len(p.queue) != 1 || len(p.queue[0]) != h+10 {
		t.Errorf("a message that fits: %v, %d datagrams", err, len(p.queue))
	}
}

func TestSplitLossyAllocatesNothing(t *testing.T) {
	const h = PieceHeaderSize
	c := SplitLossy(newRing(8, h+1000), h, 1000)
	frame := NewFrame(h, 4500, 0)
	allocs := testing.AllocsPerRun(100, func() {
		if err := c.Send(frame); err != nil {
			t.Fatal(err)
		}
		if err := c.Recv(frame); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per message", allocs)
	}
}

// ring is a datagram channel over buffers allocated once, so that only
// SplitLossy's allocations count.
type ring struct {
	bufs       [][]byte
	lens       []int
	head, tail int
}

func newRing(n, size int) *ring {
	r := &ring{bufs: make([][]byte, n), lens: make([]int, n)}
	for i := range r.bufs {
		r.bufs[i] = make([]byte, size)
	}
	return r
}

func (r *ring) Send(frame []byte) error {
	i := r.tail % len(r.bufs)
	r.lens[i] = copy(r.bufs[i], frame)
	r.tail++
	return nil
}

func (r *ring) Recv(frame []byte) error {
	if r.head == r.tail {
		return ErrTimeout
	}
	i := r.head % len(r.bufs)
	r.head++
	copy(frame, r.bufs[i][:r.lens[i]])
	return nil
}

func (r *ring) Close() error { return nil }
