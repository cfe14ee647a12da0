package ipc

import (
	"encoding/binary"
	"fmt"
)

// PieceHeaderSize is the header SplitLossy puts in front of every piece: the
// sender's message number and the piece's index, 32 bits each.
const PieceHeaderSize = 8

// SplitLossy is Split for a Lossy mechanism, whose pieces may be lost (a
// datagram dropped on a full receive buffer), which Split's receiver could
// not tell: it would glue the next message's pieces onto the broken one.
//
// Here every piece carries a header, written in the PieceHeaderSize bytes in
// front of it (so headroom must be at least PieceHeaderSize; c's own
// headroom is headroom-PieceHeaderSize). The header says which message it
// belongs to and which piece it is. Recv assembles the pieces of one message
// in order; when one is missing it drops what it has and starts again at
// the next first piece, so that a message with a lost piece is a lost
// message (the harness sees a gap in its sequence numbers) and the messages
// after it arrive whole. A first piece that arrives where a later one was
// expected is moved into place, so the message it starts is not lost too.
// Recv returns c's error as it is (ErrTimeout: the message being assembled
// is lost).
//
// All pieces of a message have the same length, n pieces of ceil(size/n)
// bytes with the last one starting size-ceil(size/n) bytes in (overlapping
// the one before it by a few bytes): any piece fits in any piece's place,
// so c can insist that a datagram is exactly as long as the piece it
// expects.
//
// Like Split it copies no payload (except to move a first piece that came
// early) and allocates nothing per call.
func SplitLossy(c Conn, headroom, piece int) Conn {
	if piece < 1 {
		return c
	}
	if headroom < PieceHeaderSize {
		panic(fmt.Sprintf("ipc.SplitLossy: headroom %d is less than the %d-byte piece header", headroom, PieceHeaderSize))
	}
	saved := make([]byte, 2*headroom)
	s := &lossySplit{c: c, h: headroom, piece: piece, sendSaved: saved[:headroom], recvSaved: saved[headroom:]}
	if _, ok := c.(SyscallCounter); ok {
		return lossyCounter{s}
	}
	return s
}

// lossyCounter is a lossySplit over a Conn that counts its system calls,
// which it then counts too (a Conn that does not count must not seem to).
type lossyCounter struct{ *lossySplit }

func (s lossyCounter) Syscalls() int64 { return s.c.(SyscallCounter).Syscalls() }

type lossySplit struct {
	c                    Conn
	h, piece             int
	next                 uint32 // the number of the next message sent
	sendSaved, recvSaved []byte
}

// layout is how a message of size bytes is cut: n pieces of l bytes.
func (s *lossySplit) layout(size int) (n, l int) {
	if size <= s.piece {
		return 1, size
	}
	n = (size-1)/s.piece + 1
	return n, (size-1)/n + 1
}

// at is where piece k of n pieces of l bytes starts in a message of size.
func at(k, n, l, size int) int {
	if k == n-1 {
		return size - l
	}
	return k * l
}

func putPieceHeader(b []byte, msg uint32, k int) {
	binary.LittleEndian.PutUint32(b[0:4], msg)
	binary.LittleEndian.PutUint32(b[4:8], uint32(k))
}

func pieceHeader(b []byte) (msg uint32, k int) {
	return binary.LittleEndian.Uint32(b[0:4]), int(binary.LittleEndian.Uint32(b[4:8]))
}

func (s *lossySplit) Send(frame []byte) error {
	size := len(frame) - s.h
	n, l := s.layout(size)
	msg := s.next
	s.next++
	hdr := s.h - PieceHeaderSize // where the header sits in a piece's frame
	for k := 0; k < n; k++ {
		o := at(k, n, l, size)
		sub := frame[o : s.h+o+l]
		if o > 0 {
			copy(s.sendSaved, sub[:s.h])
		}
		putPieceHeader(sub[hdr:s.h], msg, k)
		err := s.c.Send(sub)
		if o > 0 {
			copy(sub[:s.h], s.sendSaved)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *lossySplit) Recv(frame []byte) error {
	size := len(frame) - s.h
	n, l := s.layout(size)
	hdr := s.h - PieceHeaderSize
	var msg uint32
	for k := 0; k < n; {
		o := at(k, n, l, size)
		sub := frame[o : s.h+o+l]
		if o > 0 {
			copy(s.recvSaved, sub[:s.h])
		}
		err := s.c.Recv(sub)
		m, got := pieceHeader(sub[hdr:s.h])
		if o > 0 {
			copy(sub[:s.h], s.recvSaved)
		}
		if err != nil {
			return err
		}
		switch {
		case got == k && (k == 0 || m == msg):
			msg = m
			k++
		case got == 0:
			// A first piece where piece k was expected: the message being
			// assembled lost a piece. This one starts the next message.
			copy(frame[s.h:s.h+l], frame[s.h+o:s.h+o+l])
			msg, k = m, 1
		default:
			// A later piece of a message whose earlier piece was lost:
			// drop it, and whatever was assembled, and wait for a first
			// piece.
			k = 0
		}
	}
	return nil
}

func (s *lossySplit) Close() error { return s.c.Close() }
