package ipc

import "encoding/binary"

// Split returns a Conn that carries each message as pieces of at most piece
// bytes over c, for a mechanism whose kernel limits the size of one message
// (Caps.MaxMessage). Both sides must split the same way; the harness does,
// on both, with the driver's piece size. A message that fits in one piece
// goes through whole; an empty message is one empty piece. piece < 1
// returns c as it is.
//
// It copies no payload and allocates nothing per call. Piece k is passed to
// c as the frame frame[k*piece : headroom+k*piece+n], whose message is the
// piece in place and whose headroom is the h bytes in front of it: for the
// first piece the frame's own headroom, for the others the end of the
// previous piece, which Split saves before the call and puts back after it
// (c may overwrite its headroom, as a System V mtype does).
//
// Send and Recv may run at once in different goroutines; neither may run
// twice at once, as for any Conn.
func Split(c Conn, headroom, piece int) Conn {
	if piece < 1 {
		return c
	}
	saved := make([]byte, 2*headroom)
	sc := &splitConn{c: c, h: headroom, piece: piece, sendSaved: saved[:headroom], recvSaved: saved[headroom:]}
	if _, ok := c.(SyscallCounter); ok {
		return splitCounter{sc}
	}
	return sc
}

type splitConn struct {
	c                    Conn
	h, piece             int
	sendSaved, recvSaved []byte // one piece's headroom, per direction
}

func (s *splitConn) Send(frame []byte) error {
	return s.each(frame, s.sendSaved, true)
}

func (s *splitConn) Recv(frame []byte) error {
	return s.each(frame, s.recvSaved, false)
}

// each sends or receives every piece of frame's message, saving and
// restoring the message bytes that serve as a later piece's headroom. The
// loop calls the inner Conn directly and keeps an 8-byte headroom (a System
// V mtype) in a register: it runs between every two system calls of a
// large message, where the C baseline runs a few instructions.
func (s *splitConn) each(frame, saved []byte, send bool) error {
	size := len(frame) - s.h
	if size <= s.piece {
		if send {
			return s.c.Send(frame)
		}
		return s.c.Recv(frame)
	}
	for off := 0; off < size; off += s.piece {
		sub := frame[off : s.h+off+min(s.piece, size-off)]
		var word uint64
		switch {
		case off == 0: // the frame's own headroom: nothing to keep
		case s.h == 8:
			word = binary.NativeEndian.Uint64(sub)
		default:
			copy(saved, sub[:s.h])
		}
		var err error
		if send {
			err = s.c.Send(sub)
		} else {
			err = s.c.Recv(sub)
		}
		switch {
		case off == 0:
		case s.h == 8:
			binary.NativeEndian.PutUint64(sub, word)
		default:
			copy(sub[:s.h], saved)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *splitConn) Close() error { return s.c.Close() }

// RecvFD is the inner Conn's descriptor, if it has one: a server waits on it
// with epoll for a message's first piece, and the others follow.
func (s *splitConn) RecvFD() int {
	if fd, ok := RecvFD(s.c); ok {
		return fd
	}
	return -1
}

// splitCounter is a splitConn over a Conn that counts its system calls,
// which it then counts too (a Conn that does not count must not seem to).
type splitCounter struct{ *splitConn }

func (s splitCounter) Syscalls() int64 { return s.c.(SyscallCounter).Syscalls() }
