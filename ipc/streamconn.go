package ipc

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// NewStreamConn returns a Conn over a byte stream: two pipe ends, or one
// socket given as both r and w. Messages are written whole and read with
// exactly the message size, so the stream's boundaries never matter.
//
// With IORaw the descriptors are switched to blocking mode and driven with
// read(2)/write(2), retrying EINTR; with IOGo they go through os.File's
// methods and the runtime poller (the descriptors must then be non-blocking,
// which os.Pipe's and net's are, and the harness arranges for inherited ones).
//
// A stream needs no headroom (Caps.Headroom 0): the whole frame is the
// message. The Conn owns r and w and closes them.
func NewStreamConn(r, w *os.File, mode IOMode) Conn {
	if mode == IOGo {
		return &goStream{r: r, w: w, rd: r, wr: w}
	}
	r2 := detach(r)
	w2 := r2
	if w != r {
		w2 = detach(w)
	}
	return &rawStream{r: r2, w: w2, rfd: int(r2.Fd()), wfd: int(w2.Fd())}
}

// detach returns f's descriptor in blocking mode, out of the runtime poller,
// and closes f; if that cannot be done, it returns f as it is (in blocking
// mode, still correct, only slower).
//
// Fd() puts a descriptor into blocking mode but leaves it registered with
// the runtime's epoll instance, as os.Pipe's and net's descriptors are. The
// kernel then wakes the thread parked in epoll_wait on every readiness
// change, a wake-up and a context switch per message that the raw timed
// loop pays for and a C program does not (measured with -cpus 0,0: 2.7-3.0
// context switches per 64 KiB pipe message instead of C's 2.0, and 3.4-4.0
// instead of 3.0 per unix socket round trip). So the descriptor is
// duplicated (the duplicate is blocking, so os.NewFile leaves it out of the
// poller) and the original closed, which removes it from epoll.
func detach(f *os.File) *os.File {
	fd := f.Fd() // blocking from now on, for every duplicate too
	nfd, err := unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return f
	}
	nf := os.NewFile(uintptr(nfd), f.Name())
	if nf == nil {
		unix.Close(nfd)
		return f
	}
	f.Close()
	return nf
}

// newReadWriterConn returns a Conn over a Go reader and writer, such as a
// net.Conn, for IOGo. The closer is closed by Close.
func newReadWriterConn(rw io.ReadWriter, c io.Closer) Conn {
	return &goStream{rd: rw, wr: rw, closer: c}
}

// rawStream moves bytes with blocking syscalls; the calling goroutine should
// be locked to its thread (the harness does that in raw mode).
//
// It holds bare descriptor numbers: Close must not run while another
// goroutine is inside Send or Recv, or that call could reach a file that
// reused the number. The harness closes Conns only after the measuring
// goroutines have returned; to wake a blocked call, kill the peer or close
// the Listener instead.
type rawStream struct {
	r, w     *os.File // kept so the descriptors stay open and are closed once
	rfd, wfd int
	Calls    // read(2) and write(2) calls, for the cost per message
}

func (c *rawStream) Send(frame []byte) error {
	p := frame
	for len(p) > 0 {
		n, e := Write(c.wfd, p)
		c.Calls.Send++
		if e != 0 {
			if e == unix.EINTR {
				continue
			}
			return streamErr("write", e)
		}
		p = p[n:]
	}
	return nil
}

func (c *rawStream) Recv(frame []byte) error {
	p := frame
	for len(p) > 0 {
		n, e := Read(c.rfd, p)
		c.Calls.Recv++
		if e != 0 {
			if e == unix.EINTR {
				continue
			}
			return streamErr("read", e)
		}
		if n == 0 {
			return ErrClosed
		}
		p = p[n:]
	}
	return nil
}

func (c *rawStream) Close() error { return closeFiles(c.r, c.w) }

// goStream moves bytes through io.Reader/io.Writer, which for os.File and
// net.Conn means the runtime poller.
type goStream struct {
	r, w   *os.File // nil for a net.Conn
	rd     io.Reader
	wr     io.Writer
	closer io.Closer
}

func (c *goStream) Send(frame []byte) error {
	// os.File and net.Conn writes loop until everything is written or fail.
	if _, err := c.wr.Write(frame); err != nil {
		return streamErr("write", err)
	}
	return nil
}

func (c *goStream) Recv(frame []byte) error {
	if _, err := io.ReadFull(c.rd, frame); err != nil {
		return streamErr("read", err)
	}
	return nil
}

func (c *goStream) Close() error {
	if c.closer != nil {
		return c.closer.Close()
	}
	return closeFiles(c.r, c.w)
}

// streamErr names what went wrong; the other side going away becomes ErrClosed.
func streamErr(op string, err error) error {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, unix.EPIPE), errors.Is(err, unix.ECONNRESET),
		errors.Is(err, os.ErrClosed):
		return ErrClosed
	}
	return fmt.Errorf("%s: %w", op, err)
}

// closeFiles closes r and w, once each even if they are the same file.
func closeFiles(r, w *os.File) error {
	var err error
	if r != nil {
		err = r.Close()
	}
	if w != nil && w != r {
		if werr := w.Close(); err == nil {
			err = werr
		}
	}
	return err
}

// InheritedFile turns a descriptor inherited through exec.Cmd.ExtraFiles
// into an os.File for a Conn in the given mode. exec puts inherited
// descriptors in blocking mode, and os.NewFile only uses the poller for
// non-blocking ones, so IOGo switches it back.
func InheritedFile(fd uintptr, name string, mode IOMode) (*os.File, error) {
	if mode == IOGo {
		if err := unix.SetNonblock(int(fd), true); err != nil {
			return nil, fmt.Errorf("inherited descriptor %d: %w", fd, err)
		}
	}
	f := os.NewFile(fd, name)
	if f == nil {
		return nil, fmt.Errorf("inherited descriptor %d is not valid", fd)
	}
	return f, nil
}
