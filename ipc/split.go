package ipc

// Split returns a Conn that carries each message as pieces of at most piece
// bytes over c, for a mechanism whose kernel limits the size of one message
// (Caps.MaxMessage). Both sides must split the same way; the harness does,
// on both, with the driver's piece size. A message that fits in one piece
// goes through whole; an empty message is one empty piece. piece < 1
// returns c as it is; a c that is a PieceSplitter does the splitting itself.
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
	if ps, ok := c.(PieceSplitter); ok {
		return ps.SplitPieces(headroom, piece)
	}
	saved := make([]byte, 2*headroom)
	sc := &splitConn{c: c, h: headroom, piece: piece, sendSaved: saved[:headroom], recvSaved: saved[headroom:]}
	if _, ok := c.(SyscallCounter); ok {
		return splitCounter{sc}
	}
	return sc
}

// A PieceSplitter is a Conn that carries a message in pieces itself, in
// the way Split describes, and that Split hands the job to. A mechanism
// whose kernel takes a large message as many calls (System V queues: eight
// 8 KiB calls for 64 KiB) pays for every Go frame between those calls: each
// piece's copy sweeps the L1 cache, so each frame costs a miss.
type PieceSplitter interface {
	SplitPieces(headroom, piece int) Conn
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

// op sends or receives one frame on the inner Conn. (A method value such as
// s.c.Send passed around instead could cost an allocation per call.)
func (s *splitConn) op(frame []byte, send bool) error {
	if send {
		return s.c.Send(frame)
	}
	return s.c.Recv(frame)
}

// each sends or receives every piece of frame's message, saving and
// restoring the message bytes that serve as a later piece's headroom.
func (s *splitConn) each(frame, saved []byte, send bool) error {
	size := len(frame) - s.h
	if size <= s.piece {
		return s.op(frame, send)
	}
	for off := 0; off < size; off += s.piece {
		n := min(s.piece, size-off)
		sub := frame[off : s.h+off+n]
		if off == 0 {
			if err := s.op(sub, send); err != nil {
				return err
			}
			continue
		}
		copy(saved, sub[:s.h])
		err := s.op(sub, send)
		copy(sub[:s.h], saved)
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
