// Package fifo measures named pipes (fifo(7)): two FIFOs, one per direction,
// made with mkfifo (mode 0600) in the cell's private 0700 directory and
// opened by path on both sides, as two unrelated programs would use them.
//
// Opening a FIFO blocks until its other end is open too, and a read from one
// that has no writer returns end of file at once, so the two sides are careful
// about the order. No one blocks in open(2): every open is O_NONBLOCK (and
// the descriptor made blocking afterwards for -io raw; -io go leaves it
// non-blocking for the runtime poller). In Listen the driver opens its read
// end of p2d, and its write end of d2p, which needs a reader: the driver
// holds one of its own until the peer is there. In Dial the peer opens its
// read end of d2p and its write end of p2d (retried until Config.Timeout
// should the driver's reader not be there yet) and writes one hello byte.
// Accept waits, until its deadline, for that byte, and then lets go of its
// own reader of d2p, so that from then on each FIFO has exactly one reader
// and one writer: a side that goes away is end of file or EPIPE to the other,
// as with anonymous pipes, and the FIFOs carry bytes exactly as those do
// (ipc.NewStreamConn).
//
// The Listener's Close removes the directory with both FIFOs; `ipcbench clean`
// removes a killed run's directory whole.
package fifo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ipcbench/ipcbench/ipc"

	"golang.org/x/sys/unix"
)

// New returns the named FIFO Transport.
func New() ipc.Transport { return transport{} }

type transport struct{}

func (transport) Name() string { return "fifo" }

// Caps: a FIFO is a pipe with a name, carrying any message size as a byte
// stream; both IO modes have a path of their own.
//
// FIFOs are point-to-point, so a server has a pair per client (the generic
// form), and a FIFO is opened by path, never connected to.
func (transport) Caps(cfg ipc.Config) ipc.Caps {
	return ipc.Caps{
		IOModes:     []ipc.IOMode{ipc.IORaw, ipc.IOGo},
		NoCloseWake: "closing or removing a FIFO does not wake a reader while the other side's write end is open: the peer's exit closes it",
		ServerNote:  "each client its own pair of FIFOs (FIFOs are point-to-point)",
		NoConnect:   "a FIFO has no connections: each side opens it by path, once",
	}
}

// The two FIFOs in the cell's directory, named by direction.
const (
	toPeer   = "d2p" // the driver writes, the peer reads
	toDriver = "p2d" // the peer writes, the driver reads
)

// hello is the byte the peer writes first, once both its ends are open.
const hello = 'h'

// Listen makes the private directory and both FIFOs in it, and opens the
// driver's ends. The Endpoint's Addr is the directory.
func (transport) Listen(cfg ipc.Config) (ipc.Listener, error) {
	dir, err := ipc.TempDir()
	if err != nil {
		return nil, err
	}
	l := &listener{dir: dir, mode: cfg.IO, stop: make(chan struct{}), rfd: -1, wfd: -1, hold: -1}
	fail := func(err error) (ipc.Listener, error) {
		l.Close()
		return nil, err
	}
	for _, name := range []string{toPeer, toDriver} {
		if err := unix.Mkfifo(filepath.Join(dir, name), 0o600); err != nil {
			return fail(fmt.Errorf("mkfifo %s: %w", filepath.Join(dir, name), err))
		}
	}
	if l.rfd, err = openFIFO(filepath.Join(dir, toDriver), unix.O_RDONLY); err != nil {
		return fail(err)
	}
	if l.hold, err = openFIFO(filepath.Join(dir, toPeer), unix.O_RDONLY); err != nil {
		return fail(err)
	}
	if l.wfd, err = openFIFO(filepath.Join(dir, toPeer), unix.O_WRONLY); err != nil {
		return fail(err)
	}
	return l, nil
}

// Dial opens the peer's ends, reading d2p and writing p2d, and says hello.
func (transport) Dial(ep ipc.Endpoint, cfg ipc.Config) (ipc.Conn, error) {
	if !filepath.IsAbs(ep.Addr) {
		return nil, fmt.Errorf("fifo endpoint %q is not the absolute path of a directory", ep.Addr)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	rpath, wpath := filepath.Join(ep.Addr, toPeer), filepath.Join(ep.Addr, toDriver)
	rfd, err := openFIFO(rpath, unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	wfd, err := openWriter(wpath, time.Now().Add(timeout))
	if err == nil {
		// One byte into an empty FIFO: a non-blocking write that fits.
		var n int
		n, err = unix.Write(wfd, []byte{hello})
		if err == nil && n != 1 {
			err = errors.New("short write")
		}
		if err != nil {
			unix.Close(wfd)
			err = fmt.Errorf("saying hello on %s: %w", wpath, err)
		}
	}
	if err != nil {
		unix.Close(rfd)
		return nil, err
	}
	return conn(rfd, rpath, wfd, wpath, cfg.IO)
}

type listener struct {
	dir  string
	mode ipc.IOMode
	stop chan struct{} // closed by Close: ends an Accept waiting for the peer

	mu             sync.Mutex
	rfd, wfd, hold int // the driver's ends and its own reader of d2p, -1 once given away or closed
	closed         bool
	err            error
}

func (l *listener) Endpoint() ipc.Endpoint { return ipc.Endpoint{Addr: l.dir} }

// Accept waits until deadline for the peer's hello, and returns the driver's
// ends as a Conn.
func (l *listener) Accept(deadline time.Time) (ipc.Conn, error) {
	l.mu.Lock()
	if l.closed || l.rfd < 0 {
		l.mu.Unlock()
		return nil, fmt.Errorf("accept on a closed fifo listener: %w", ipc.ErrClosed)
	}
	// From here the descriptors are Accept's: Close must not close them
	// while they are in use.
	rfd, wfd, hold := l.rfd, l.wfd, l.hold
	l.rfd, l.wfd, l.hold = -1, -1, -1
	l.mu.Unlock()
	wait := max(time.Until(deadline), 0).Round(time.Millisecond)
	err := awaitHello(rfd, deadline, l.stop, wait)
	unix.Close(hold)
	if err != nil {
		unix.Close(rfd)
		unix.Close(wfd)
		return nil, err
	}
	return conn(rfd, filepath.Join(l.dir, toDriver), wfd, filepath.Join(l.dir, toPeer), l.mode)
}

// awaitHello waits for the peer's hello byte on the (non-blocking) read end
// rfd, until deadline or until stop is closed.
func awaitHello(rfd int, deadline time.Time, stop <-chan struct{}, wait time.Duration) error {
	var b [1]byte
	for {
		select {
		case <-stop:
			return fmt.Errorf("the listener was closed while waiting for the peer to open its FIFOs: %w", ipc.ErrClosed)
		default:
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("the peer did not connect within %v (it did not open its FIFOs): %w", wait, os.ErrDeadlineExceeded)
		}
		fds := []unix.PollFd{{Fd: int32(rfd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(min(left, 10*time.Millisecond)/time.Millisecond)+1)
		if err == unix.EINTR || (err == nil && n == 0) {
			continue
		}
		if err != nil {
			return fmt.Errorf("poll: %w", err)
		}
		switch got, err := unix.Read(rfd, b[:]); {
		case err == unix.EAGAIN || err == unix.EINTR:
			continue
		case err != nil:
			return fmt.Errorf("reading the peer's hello: %w", err)
		case got == 0:
			return fmt.Errorf("the peer closed its FIFO before it said hello: %w", ipc.ErrClosed)
		case b[0] != hello:
			return fmt.Errorf("the peer's first byte is %#x, not hello: the FIFO is not ipcbench's", b[0])
		}
		return nil
	}
}

// Close removes the directory and both FIFOs in it, closes the driver's ends
// if Accept has not taken them, and ends an Accept still waiting.
// Descriptors already open stay usable: a FIFO, like a pipe, lives on without
// its name. A Conn blocked on one wakes when the peer exits (end of file,
// EPIPE).
func (l *listener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return l.err
	}
	l.closed = true
	close(l.stop)
	for _, fd := range []*int{&l.rfd, &l.wfd, &l.hold} {
		if *fd >= 0 {
			unix.Close(*fd)
			*fd = -1
		}
	}
	l.err = os.RemoveAll(l.dir)
	return l.err
}

// conn makes a Conn of an open read end and write end for mode.
func conn(rfd int, rpath string, wfd int, wpath string, mode ipc.IOMode) (ipc.Conn, error) {
	r, err := file(rfd, rpath, mode)
	if err != nil {
		unix.Close(rfd)
		unix.Close(wfd)
		return nil, err
	}
	w, err := file(wfd, wpath, mode)
	if err != nil {
		r.Close()
		unix.Close(wfd)
		return nil, err
	}
	return ipc.NewStreamConn(r, w, mode), nil
}

// openFIFO opens path non-blocking, never following a link, and checks it is
// a FIFO (not something put in its place).
func openFIFO(path string, flag int) (int, error) {
	for {
		fd, err := unix.Open(path, flag|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: path, Err: err}
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
			unix.Close(fd)
			return -1, fmt.Errorf("%s is not a FIFO", path)
		}
		return fd, nil
	}
}

// openWriter opens the FIFO path for writing once it has a reader:
// O_WRONLY|O_NONBLOCK fails with ENXIO until then.
func openWriter(path string, deadline time.Time) (int, error) {
	wait := 50 * time.Microsecond
	for {
		fd, err := openFIFO(path, unix.O_WRONLY)
		if err == nil {
			return fd, nil
		}
		if pe, ok := err.(*os.PathError); !ok || pe.Err != unix.ENXIO {
			return -1, err
		}
		if !time.Now().Before(deadline) {
			return -1, fmt.Errorf("the driver did not open %s for reading in time: %w", path, os.ErrDeadlineExceeded)
		}
		time.Sleep(min(wait, time.Until(deadline)))
		wait = min(2*wait, 10*time.Millisecond)
	}
}

// file makes an os.File of an open FIFO for mode: blocking for raw (and so
// outside the runtime poller), non-blocking in the poller for go.
func file(fd int, path string, mode ipc.IOMode) (*os.File, error) {
	if mode != ipc.IOGo {
		if err := unix.SetNonblock(fd, false); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return os.NewFile(uintptr(fd), path), nil
}
