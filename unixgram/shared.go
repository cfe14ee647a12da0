package unixgram

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"github.com/ipcbench/ipcbench/ipc"
	"golang.org/x/sys/unix"
)

// The server form of Unix datagram sockets, as syslog's /dev/log is one:
// ONE server socket, bound to a path, that every client sends its requests
// to, and that answers each client with sendto(2) to the client's own
// socket file. The clients' sockets are connected to the server's, the
// server's to none: so it is here that net.unix.max_dgram_qlen counts, the
// server's queue holding that many datagrams before a client must wait.

// serverNote is what a server row says of this form.
const serverNote = "one server socket (as syslog's /dev/log) that every client sends to and that answers each with sendto to its socket file; it is connected to none, so net.unix.max_dgram_qlen datagrams queue before a client waits"

// sharedPrefix starts the Addr of a client of the shared form:
// "shared:SERVER-PATH CLIENT".
const sharedPrefix = "shared:"

const serverSock = "server.sock"

// clientSock is the name of client i's socket file.
func clientSock(i int) string { return "client-" + strconv.Itoa(i) + ".sock" }

// listenShared binds the one server socket in a private directory. A shared
// socket receives every client's datagrams in one queue, where the pieces of
// one client's split message could not be told from another's, so it
// refuses messages above the largest datagram.
func listenShared(cfg ipc.Config, clients int) (ipc.SharedListener, error) {
	largest, sndbuf, err := LargestDatagram()
	if err != nil {
		return nil, err
	}
	if cfg.Size > largest {
		return nil, &ipc.LimitError{Limit: "SO_SNDBUF", Value: int64(sndbuf),
			What: fmt.Sprintf("the shared server socket takes messages of at most one datagram, %d B: a message in pieces would mix with other clients' pieces in its one queue", largest)}
	}
	dir, err := ipc.TempDir()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, serverSock)
	if len(filepath.Join(dir, clientSock(clients-1))) > maxPath {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("the socket path %s is longer than the %d bytes Linux allows; set TMPDIR to a shorter directory", path, maxPath)
	}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	l := &sharedListener{dir: dir, path: path, size: cfg.Size, mode: cfg.IO, clients: make([]unix.RawSockaddrUnix, clients)}
	for i := range l.clients {
		a := &l.clients[i]
		a.Family = unix.AF_UNIX
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&a.Path[0])), len(a.Path)), filepath.Join(dir, clientSock(i)))
	}
	if cfg.IO == ipc.IORaw {
		// Blocking calls on the server's thread, out of the poller.
		f, err := c.File()
		c.Close()
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		fd := f.Fd() // blocking from now on
		nfd, err := unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
		f.Close()
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		l.f = os.NewFile(uintptr(nfd), path)
	} else {
		l.c = c
	}
	var sc syscall.Conn = l.c
	if l.f != nil {
		sc = l.f
	}
	if l.rc, err = sc.SyscallConn(); err != nil {
		l.Close()
		return nil, err
	}
	l.recvFn, l.sendFn = l.recvOnce, l.sendOnce
	return l, nil
}

// sharedListener is the server's end: the one socket, and every client's
// address, made once so that Recv and Send allocate nothing.
type sharedListener struct {
	dir, path string
	size      int
	mode      ipc.IOMode
	c         *net.UnixConn // IOGo
	f         *os.File      // IORaw: the socket in blocking mode
	rc        syscall.RawConn
	clients   []unix.RawSockaddrUnix

	// The state of one call, for the RawConn callbacks (made once).
	recvFn, sendFn func(fd uintptr) bool
	buf            []byte
	from           unix.RawSockaddrUnix
	fromLen        uint32
	to             int
	n              int
	e              unix.Errno

	once     sync.Once
	closeErr error
}

func (l *sharedListener) Endpoint(client int) ipc.Endpoint {
	return ipc.Endpoint{Addr: sharedPrefix + l.path + " " + strconv.Itoa(client)}
}

// recvOnce is one recvfrom(2), with the sender's address; false asks the
// poller to wait (IOGo only: a blocking socket does not say EAGAIN, and call
// retries EINTR).
func (l *sharedListener) recvOnce(fd uintptr) bool {
	l.fromLen = uint32(unsafe.Sizeof(l.from))
	var p unsafe.Pointer
	if len(l.buf) > 0 {
		p = unsafe.Pointer(&l.buf[0])
	}
	n, e := ipc.Syscall6(unix.SYS_RECVFROM, fd, uintptr(p), uintptr(len(l.buf)), unix.MSG_TRUNC,
		uintptr(unsafe.Pointer(&l.from)), uintptr(unsafe.Pointer(&l.fromLen)))
	l.n, l.e = int(n), e
	return l.mode == ipc.IORaw || e != unix.EAGAIN
}

// sendOnce is one sendto(2) to client l.to.
func (l *sharedListener) sendOnce(fd uintptr) bool {
	var p unsafe.Pointer
	if len(l.buf) > 0 {
		p = unsafe.Pointer(&l.buf[0])
	}
	n, e := ipc.Syscall6(unix.SYS_SENDTO, fd, uintptr(p), uintptr(len(l.buf)), 0,
		uintptr(unsafe.Pointer(&l.clients[l.to])), unsafe.Sizeof(l.clients[l.to]))
	l.n, l.e = int(n), e
	return l.mode == ipc.IORaw || e != unix.EAGAIN
}

// call runs fn on the socket until it is done: in the poller for IOGo, as
// blocking calls retried on EINTR for IORaw.
func (l *sharedListener) call(read bool) error {
	fn := l.sendFn
	if read {
		fn = l.recvFn
	}
	for {
		var err error
		if read {
			err = l.rc.Read(fn)
		} else {
			err = l.rc.Write(fn)
		}
		if err != nil {
			return ipc.ErrClosed // the socket was closed (Close)
		}
		if l.e != unix.EINTR {
			return nil
		}
	}
}

// Recv takes the next request of any client. An empty datagram from a
// client is its close notice and is passed over; one from nobody is the
// server's socket shut down by Close.
func (l *sharedListener) Recv(frame []byte) (int, error) {
	for {
		l.buf = frame
		err := l.call(true)
		l.buf = nil
		if err != nil {
			return -1, err
		}
		if l.e != 0 {
			return -1, fmt.Errorf("recvfrom on the server socket: %w", l.e)
		}
		i := l.client()
		switch {
		case l.n == 0 && i < 0:
			return -1, ipc.ErrClosed
		case l.n == 0:
			continue
		case i < 0:
			continue // not from one of the clients: not ours to answer
		case l.n != len(frame):
			return -1, fmt.Errorf("client %d sent a datagram of %d bytes where %d were expected", i, l.n, len(frame))
		}
		return i, nil
	}
}

// client is the index of the client whose socket sent the last datagram,
// or -1: its path is the directory's "client-N.sock".
func (l *sharedListener) client() int {
	if l.fromLen <= 2 {
		return -1
	}
	path := unsafe.Slice((*byte)(unsafe.Pointer(&l.from.Path[0])), len(l.from.Path))
	if k := bytes.IndexByte(path, 0); k >= 0 {
		path = path[:k]
	}
	name := path[bytes.LastIndexByte(path, '/')+1:]
	const pre, suf = "client-", ".sock"
	if !bytes.HasPrefix(name, []byte(pre)) || !bytes.HasSuffix(name, []byte(suf)) {
		return -1
	}
	i := 0
	for _, b := range name[len(pre) : len(name)-len(suf)] {
		if b < '0' || b > '9' || i > len(l.clients) {
			return -1
		}
		i = 10*i + int(b-'0')
	}
	if i >= len(l.clients) {
		return -1
	}
	return i
}

// Send sends frame to client alone, with sendto(2) to its socket file.
func (l *sharedListener) Send(client int, frame []byte) error {
	if client < 0 || client >= len(l.clients) {
		return fmt.Errorf("no client %d of %d", client, len(l.clients))
	}
	l.buf, l.to = frame, client
	err := l.call(false)
	l.buf = nil
	if err != nil {
		return err
	}
	switch {
	case l.e == unix.ECONNREFUSED || l.e == unix.ENOENT:
		return ipc.ErrClosed // the client's socket is gone
	case l.e != 0:
		return fmt.Errorf("sendto client %d: %w", client, l.e)
	case l.n != len(frame):
		return fmt.Errorf("sendto client %d: %d of %d bytes sent", client, l.n, len(frame))
	}
	return nil
}

// Close tells every client (an empty datagram, the close notice, which
// wakes a client blocked in Recv with ErrClosed), wakes a Recv of the
// server's blocked on the socket, closes it and removes the directory.
func (l *sharedListener) Close() error {
	l.once.Do(func() {
		l.rc.Control(func(fd uintptr) {
			for i := range l.clients {
				unix.Syscall6(unix.SYS_SENDTO, fd, 0, 0, unix.MSG_DONTWAIT,
					uintptr(unsafe.Pointer(&l.clients[i])), unsafe.Sizeof(l.clients[i]))
			}
			if l.f != nil {
				unix.Shutdown(int(fd), unix.SHUT_RDWR) // a blocked recvfrom returns 0
			}
		})
		if l.c != nil {
			l.closeErr = l.c.Close() // wakes the poller's wait
		} else {
			l.closeErr = l.f.Close()
		}
		if err := os.RemoveAll(l.dir); l.closeErr == nil {
			l.closeErr = err
		}
	})
	return l.closeErr
}

// dialShared joins the shared server as client i: its own socket file next
// to the server's, connected to it.
func dialShared(addr string, cfg ipc.Config) (ipc.Conn, error) {
	path, n, ok := strings.Cut(strings.TrimPrefix(addr, sharedPrefix), " ")
	i, err := strconv.Atoi(n)
	if !ok || err != nil || i < 0 {
		return nil, fmt.Errorf("bad shared server address %q", addr)
	}
	laddr := &net.UnixAddr{Name: filepath.Join(filepath.Dir(path), clientSock(i)), Net: "unixgram"}
	c, err := net.DialUnix("unixgram", laddr, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, err
	}
	return ipc.DatagramConn(c, cfg.IO, cfg.RecvTimeout)
}
