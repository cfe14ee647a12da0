// Package posixmq carries messages between the driver and the peer over a
// pair of POSIX message queues (mq_overview(7)), one per direction.
//
// The driver creates both queues with private names (/ipcbench-PID-N-d2p and
// -p2d), mode 0600 and O_EXCL, and records them (ipc.Record) so that
// `ipcbench clean` can remove them if it is killed; the peer opens them by
// name. The Listener unlinks them at the end.
//
// The kernel bounds a queue by fs.mqueue.msg_max messages of at most
// fs.mqueue.msgsize_max bytes each (without CAP_SYS_RESOURCE). Both are read
// from /proc/sys/fs/mqueue for every cell, never assumed: a message larger
// than msgsize_max is split into pieces by ipc.Split (Caps.MaxMessage), and the
// row says so.
//
// On Linux a queue descriptor (mqd_t) is a file descriptor that poll and
// epoll understand, so -io go is a real poller path: the descriptors are
// non-blocking and registered with the runtime poller through os.NewFile, and
// a send or receive that would block (EAGAIN) waits for readiness in the
// poller (syscall.RawConn), as net.Conn does for sockets.
//
// Every message is sent with priority 0 (see Priority and the README on
// priorities): the queues order by priority first, then by arrival.
package posixmq

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/ipcbench/ipcbench/ipc"

	"golang.org/x/sys/unix"
)

// The sysctls that shape a POSIX queue.
const (
	sysMsgMax     = "fs.mqueue.msg_max"     // the deepest queue a user may create
	sysMsgsizeMax = "fs.mqueue.msgsize_max" // the largest message a user may set
	sysQueuesMax  = "fs.mqueue.queues_max"  // queues on the system
	rlimitName    = "RLIMIT_MSGQUEUE"       // bytes of queues per user (ulimit -q)
)

// Kind is the record kind of a POSIX queue (ipc.Record).
const Kind = "posixmq"

// Priority is the priority of every data message. A receiver always takes
// the oldest message of the highest priority, so one value keeps them in
// order; wakePriority, above it, is used only to end a cell.
const Priority = 0

// wakePriority marks the empty message that the Listener's Close puts in
// front of the driver's receiving queue to wake a Recv blocked on it.
// Priorities are below 32768 (MQ_PRIO_MAX) on Linux.
const wakePriority = 32767

// New returns the POSIX message queue Transport.
func New() ipc.Transport { return transport{} }

type transport struct{}

func (transport) Name() string { return "posixmq" }

// limits are the kernel's POSIX queue limits, read afresh for every cell.
type limits struct {
	msgMax, msgsizeMax, queuesMax int64
	rlimit                        uint64 // RLIMIT_MSGQUEUE, the soft limit
}

// readSysctl is ipc.ReadSysctl, replaced in tests.
var readSysctl = ipc.ReadSysctl

func readLimits() (limits, error) {
	var l limits
	var err error
	if l.msgMax, err = readSysctl(sysMsgMax); err != nil {
		return l, err
	}
	if l.msgsizeMax, err = readSysctl(sysMsgsizeMax); err != nil {
		return l, err
	}
	if l.queuesMax, err = readSysctl(sysQueuesMax); err != nil {
		return l, err
	}
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_MSGQUEUE, &rl); err != nil {
		return l, fmt.Errorf("cannot read %s: %w", rlimitName, err)
	}
	l.rlimit = rl.Cur
	return l, nil
}

// check says whether a queue can carry any message at all.
func (l limits) check() error {
	if l.msgMax < 1 {
		return &ipc.LimitError{Limit: sysMsgMax, Value: l.msgMax, What: "a POSIX message queue cannot hold a single message"}
	}
	if l.msgsizeMax < 1 {
		return &ipc.LimitError{Limit: sysMsgsizeMax, Value: l.msgsizeMax, What: "a POSIX message cannot carry any bytes"}
	}
	return nil
}

// shape is the depth and message size of the queues for messages of size
// bytes: the message size is size, or msgsize_max when larger (the harness
// then splits); the depth is msg_max, or less when two queues of that depth
// would not fit in RLIMIT_MSGQUEUE (so that several pairs can run).
func (l limits) shape(size int) (maxMsg, msgSize int) {
	msgSize = int(min(int64(max(size, 1)), l.msgsizeMax))
	maxMsg = int(l.msgMax)
	if l.rlimit != unix.RLIM_INFINITY {
		// The kernel charges each queue about maxmsg * (msgsize + its
		// bookkeeping of one message, under 128 bytes).
		fit := int(l.rlimit / 4 / uint64(msgSize+128))
		maxMsg = max(1, min(maxMsg, fit))
	}
	return maxMsg, msgSize
}

// Caps describes the queues for a message of cfg.Size on this machine now.
//
// A server has a pair of queues per client (the generic form): POSIX queues
// have no message types by which one reply queue could be shared. They are
// opened by name, never connected to.
func (transport) Caps(cfg ipc.Config) ipc.Caps {
	c := ipc.Caps{
		IOModes: []ipc.IOMode{ipc.IORaw, ipc.IOGo},
		Sysctls: []string{sysMsgMax, sysMsgsizeMax, sysQueuesMax},
		Objects: []ipc.ObjectKind{ObjectKind()},
		NoCloseNotice: "a POSIX queue outlives the descriptors of its users: Listener.Close ends the channel " +
			"(an empty message of the highest priority in front of each queue), and then both sides get ErrClosed",
		ServerNote: "each client its own pair of POSIX queues (they have no message types to pick a client's replies by)",
		NoConnect:  "a POSIX queue has no connections: each side opens it by name, once",
	}
	l, err := readLimits()
	if err == nil {
		err = l.check()
	}
	if err != nil {
		c.Err = err
		return c
	}
	c.MaxMessage, c.MaxMessageLimit = int(l.msgsizeMax), sysMsgsizeMax
	// The depth is fs.mqueue.msg_max, recorded with the run's limits; a row
	// says so only when it is less.
	if maxMsg, _ := l.shape(cfg.Size); int64(maxMsg) < l.msgMax {
		c.Note = fmt.Sprintf("queue depth %d, not %s %d: two such queues must fit in %s %d", maxMsg, sysMsgMax, l.msgMax, rlimitName, l.rlimit)
	}
	return c
}

// seq numbers this process's queues, so every name is new.
var seq atomic.Int64

// queueName is the name of a new queue: the process id (so clean knows whose
// it is), a number, and the direction.
func queueName(dir string) string {
	return fmt.Sprintf("/ipcbench-%d-%d-%s", os.Getpid(), seq.Add(1), dir)
}

// Listen creates the two queues, driver to peer and peer to driver, and
// hands the peer their names in the Addr "D2P,P2D".
func (transport) Listen(cfg ipc.Config) (ipc.Listener, error) {
	if cfg.Size < 0 {
		return nil, fmt.Errorf("message size %d is negative", cfg.Size)
	}
	l, err := readLimits()
	if err == nil {
		err = l.check()
	}
	if err != nil {
		return nil, err
	}
	maxMsg, msgSize := l.shape(cfg.Size)
	ln := &listener{msgSize: msgSize}
	for i, dir := range [2]string{"d2p", "p2d"} {
		name, mqd, err := create(dir, maxMsg, msgSize, l)
		if err != nil {
			ln.Close()
			return nil, err
		}
		ln.names[i], ln.mqd[i] = name, mqd
		ln.n++
	}
	// The driver's own descriptors: it sends on d2p and receives on p2d.
	c, err := open(ln.names[0], ln.names[1], cfg.IO, &ln.closed)
	if err != nil {
		ln.Close()
		return nil, err
	}
	ln.conn = c
	return ln, nil
}

// create makes one queue (retrying a name that a dead process with this
// process's id left behind) and records it. The descriptor it returns is the
// Listener's, O_RDWR and non-blocking, to wake the driver at the end.
func create(dir string, maxMsg, msgSize int, l limits) (string, int, error) {
	a := attr{MaxMsg: maxMsg, MsgSize: msgSize}
	for range 100 {
		name := queueName(dir)
		mqd, err := mqOpen(name, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CREAT|unix.O_EXCL, 0o600, &a)
		switch {
		case err == errEEXIST:
			continue
		case err == unix.ENOSPC:
			return "", -1, &ipc.LimitError{Limit: sysQueuesMax, Value: l.queuesMax,
				What: "cannot create another POSIX message queue: the system has as many as it allows (`ipcbench clean` removes those a killed run left)"}
		case err == unix.EMFILE:
			lim := &ipc.LimitError{Limit: rlimitName, Value: int64(min(l.rlimit, 1<<62)),
				What: fmt.Sprintf("cannot create a POSIX message queue of %d messages of %d bytes: this user's queues would take more bytes than %s allows (ulimit -q), or the process has as many descriptors as it may", maxMsg, msgSize, rlimitName)}
			return "", -1, lim
		case err == unix.EINVAL:
			return "", -1, fmt.Errorf("cannot create a POSIX message queue of %d messages of %d bytes (%s %d, %s %d): %w", maxMsg, msgSize, sysMsgMax, l.msgMax, sysMsgsizeMax, l.msgsizeMax, err)
		case err != nil:
			return "", -1, fmt.Errorf("cannot create a POSIX message queue: %w", err)
		}
		proof, err := proofOf(mqd)
		if err == nil {
			err = ipc.Record(Kind, name, proof)
		}
		if err != nil {
			unix.Close(mqd)
			mqUnlink(name)
			return "", -1, err
		}
		return name, mqd, nil
	}
	return "", -1, errors.New("cannot find an unused POSIX message queue name")
}

// listener owns the two queues of one driver/peer pair.
type listener struct {
	names   [2]string // driver to peer, peer to driver
	mqd     [2]int    // the Listener's O_RDWR descriptors, to wake the driver
	n       int       // how many queues exist
	msgSize int
	conn    *conn

	closed atomic.Bool // shared with the driver's Conn

	mu       sync.Mutex
	done     bool
	accepted bool
	closeErr error
}

func (l *listener) Endpoint() ipc.Endpoint {
	return ipc.Endpoint{Addr: l.names[0] + "," + l.names[1]}
}

// Accept returns the driver's Conn at once: the queues exist already, and a
// message sent before the peer opens them waits in its queue.
func (l *listener) Accept(time.Time) (ipc.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return nil, fmt.Errorf("accept on removed queues: %w", ipc.ErrClosed)
	}
	l.accepted = true
	return l.conn.public(), nil
}

// Close ends the channel and unlinks both queues. Unlinking alone would wake
// nobody (an open queue lives on without its name), so Close first wakes
// whoever waits: it drains each queue (a sender blocked on a full one gets
// through) and puts an empty message of wakePriority in front of it, which
// ends the Recv that takes it with ErrClosed. The driver's Conn is told
// directly (and its descriptors made non-blocking, so that a call that has
// not yet blocked cannot block on a queue Close has just filled); the peer
// learns it at its next Recv. A peer blocked sending is let through once; in a
// run, the peer ends with its process anyway.
func (l *listener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return l.closeErr
	}
	l.done = true
	l.closed.Store(true)
	if l.conn != nil {
		l.conn.setNonblock()
	}
	if l.n == 2 {
		buf := make([]byte, l.msgSize)
		var none byte
		for _, q := range [2]int{l.mqd[1], l.mqd[0]} {
			for {
				if _, err := mqReceive(q, unsafe.Pointer(&buf[0]), len(buf), nil); err != nil {
					break
				}
			}
			mqSend(q, unsafe.Pointer(&none), 0, wakePriority)
		}
	}
	var errs []error
	for i := range l.n {
		unix.Close(l.mqd[i])
		if err := mqUnlink(l.names[i]); err != nil && err != errENOENT {
			errs = append(errs, fmt.Errorf("cannot remove POSIX message queue %s: %w", l.names[i], err))
			continue
		}
		ipc.Forget(Kind, l.names[i])
	}
	if !l.accepted && l.conn != nil {
		l.conn.Close()
	}
	l.closeErr = errors.Join(errs...)
	return l.closeErr
}

// Dial opens the queues named in ep.Addr from the peer's side: it receives on
// the driver-to-peer queue and sends on the peer-to-driver one.
func (transport) Dial(ep ipc.Endpoint, cfg ipc.Config) (ipc.Conn, error) {
	d2p, p2d, ok := strings.Cut(ep.Addr, ",")
	if !ok || !validName(d2p) || !validName(p2d) || d2p == p2d {
		return nil, fmt.Errorf("posixmq endpoint %q is malformed: want DRIVER_TO_PEER,PEER_TO_DRIVER queue names as Listen makes them", ep.Addr)
	}
	c, err := open(p2d, d2p, cfg.IO, nil)
	if err != nil {
		return nil, err
	}
	return c.public(), nil
}

// validName reports whether name is one of ipcbench's queue names.
func validName(name string) bool {
	_, ok := parseName(name)
	return ok
}

// parseName returns the process id in a name /ipcbench-PID-N-DIR.
func parseName(name string) (pid int, ok bool) {
	rest, ok := strings.CutPrefix(name, "/ipcbench-")
	if !ok {
		return 0, false
	}
	f := strings.Split(rest, "-")
	if len(f) != 3 || (f[2] != "d2p" && f[2] != "p2d") {
		return 0, false
	}
	pid, err1 := strconv.Atoi(f[0])
	n, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || pid < 1 || n < 1 {
		return 0, false
	}
	return pid, true
}

// open returns a Conn that sends on the queue snd and receives on rcv.
// closed, if not nil, is set by the Listener when the channel ends.
func open(snd, rcv string, mode ipc.IOMode, closed *atomic.Bool) (*conn, error) {
	flag := 0
	if mode == ipc.IOGo {
		flag = unix.O_NONBLOCK
	}
	s, err := mqOpen(snd, unix.O_WRONLY|flag, 0, nil)
	if err != nil {
		return nil, fmt.Errorf("cannot open POSIX message queue %s: %w", snd, err)
	}
	r, err := mqOpen(rcv, unix.O_RDONLY|flag, 0, nil)
	if err != nil {
		unix.Close(s)
		return nil, fmt.Errorf("cannot open POSIX message queue %s: %w", rcv, err)
	}
	a, err := mqGetAttr(r)
	if err != nil {
		unix.Close(s)
		unix.Close(r)
		return nil, fmt.Errorf("cannot read the attributes of POSIX message queue %s: %w", rcv, err)
	}
	if closed == nil {
		closed = new(atomic.Bool)
	}
	c := &conn{snd: s, rcv: r, closed: closed, scratch: make([]byte, a.MsgSize), raw: mode != ipc.IOGo}
	if mode == ipc.IOGo {
		if err := c.usePoller(); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// conn is one side's end: it sends on one queue and receives on the other.
// It owns its two descriptors, not the queues.
type conn struct {
	snd, rcv int
	closed   *atomic.Bool
	// scratch is one message of the queue's message size: mq_timedreceive
	// refuses a buffer smaller than that (EMSGSIZE), so a shorter message
	// (the last piece of a split one) is received here and copied.
	scratch []byte
	prio    uint // the priority of the message received last
	raw     bool
	calls   ipc.Calls // mq_timedsend and mq_timedreceive calls in raw mode

	// mu orders closing the descriptors (Close) against the Listener making
	// them non-blocking (setNonblock); the timed calls never take it.
	mu          sync.Mutex
	descsClosed bool

	// With IOGo, the descriptors as pollable files, and the functions the
	// poller runs, made once so that a call allocates nothing.
	sndF, rcvF   *os.File
	sndRC, rcvRC syscall.RawConn
	// Send and Recv may run at once in two goroutines, so each has its own.
	sendFn, recvFn   func(fd uintptr) bool
	sendBuf, recvBuf []byte // the message of the call in progress
	sendErr, recvErr error
	got              int
}

var errConnClosed = fmt.Errorf("use of a closed POSIX queue Conn: %w", ipc.ErrClosed)

// public is the Conn to hand out: in raw mode one that counts its system
// calls (ipc.SyscallCounter); through the poller it cannot see them all.
func (c *conn) public() ipc.Conn {
	if c.raw {
		return rawCounter{c}
	}
	return c
}

// rawCounter is a raw-mode conn that says how many system calls it made.
type rawCounter struct{ *conn }

func (c rawCounter) Syscalls() int64 { return c.conn.calls.Syscalls() }

// usePoller registers both (non-blocking) descriptors with the runtime
// poller.
func (c *conn) usePoller() error {
	c.sndF = os.NewFile(uintptr(c.snd), "posixmq-send")
	c.rcvF = os.NewFile(uintptr(c.rcv), "posixmq-receive")
	var err1, err2 error
	c.sndRC, err1 = c.sndF.SyscallConn()
	c.rcvRC, err2 = c.rcvF.SyscallConn()
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	// A queue full (or empty) after the channel has ended stays so: the
	// functions then stop waiting.
	c.sendFn = func(fd uintptr) bool {
		c.sendErr = mqSend(int(fd), bufPtr(c.sendBuf), len(c.sendBuf), Priority)
		if c.sendErr == errEAGAIN && c.closed.Load() {
			c.sendErr = errConnClosed
		}
		return c.sendErr != errEAGAIN
	}
	c.recvFn = func(fd uintptr) bool {
		c.got, c.recvErr = mqReceive(int(fd), bufPtr(c.recvBuf), len(c.recvBuf), &c.prio)
		if c.recvErr == errEAGAIN && c.closed.Load() {
			c.recvErr = errConnClosed
		}
		return c.recvErr != errEAGAIN
	}
	return nil
}

// bufPtr is the address of b's first byte, also for an empty b (the kernel
// reads no bytes of it).
func bufPtr(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }

// Send sends frame (Caps.Headroom is 0) as one message.
func (c *conn) Send(frame []byte) error {
	if c.closed.Load() {
		return errConnClosed
	}
	var err error
	if c.sndRC != nil {
		c.sendBuf = frame
		if perr := c.sndRC.Write(c.sendFn); perr != nil {
			return c.fail("mq_timedsend", perr)
		}
		err = c.sendErr
	} else {
		err = mqSend(c.snd, bufPtr(frame), len(frame), Priority)
		c.calls.Send++
	}
	if err != nil {
		if err == errEMSGSIZE {
			return fmt.Errorf("mq_timedsend: a %d-byte message is longer than the queue's message size: the two sides disagree on the message size", len(frame))
		}
		return c.fail("mq_timedsend", err)
	}
	return nil
}

// Recv fills frame with one message, which must have exactly its length:
// anything else means the two sides disagree and is an error, never a short
// message. The empty message of wakePriority means the channel has ended.
func (c *conn) Recv(frame []byte) error {
	if c.closed.Load() {
		return errConnClosed
	}
	buf := frame
	if len(frame) < len(c.scratch) {
		buf = c.scratch
	}
	var n int
	var err error
	if c.rcvRC != nil {
		c.recvBuf = buf
		if perr := c.rcvRC.Read(c.recvFn); perr != nil {
			return c.fail("mq_timedreceive", perr)
		}
		n, err = c.got, c.recvErr
	} else {
		n, err = mqReceive(c.rcv, bufPtr(buf), len(buf), &c.prio)
		c.calls.Recv++
	}
	if err != nil {
		if err == errEMSGSIZE {
			return fmt.Errorf("mq_timedreceive: a %d-byte buffer is shorter than the queue's message size %d: the two sides disagree on the message size", len(buf), len(c.scratch))
		}
		return c.fail("mq_timedreceive", err)
	}
	if n == 0 && c.prio == wakePriority {
		c.closed.Store(true)
		return ipc.ErrClosed
	}
	if n != len(frame) {
		return fmt.Errorf("mq_timedreceive: got a message of %d bytes, want %d: the two sides disagree on the message size", n, len(frame))
	}
	if len(frame) < len(c.scratch) {
		copy(frame, buf[:n])
	}
	return nil
}

// fail turns the end of the channel into ipc.ErrClosed.
func (c *conn) fail(op string, err error) error {
	if c.closed.Load() || errors.Is(err, os.ErrClosed) || err == errEBADF {
		return ipc.ErrClosed
	}
	return fmt.Errorf("%s: %w", op, err)
}

// setNonblock makes both descriptors non-blocking, once the channel has
// ended: a raw call then returns EAGAIN (and ErrClosed) instead of blocking.
func (c *conn) setNonblock() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.descsClosed && c.sndF == nil {
		mqSetNonblock(c.snd, true)
		mqSetNonblock(c.rcv, true)
	}
}

// RecvFD is the descriptor that becomes readable when a message arrives (an
// mqd_t is one on Linux), for a server that waits on many with epoll.
func (c *conn) RecvFD() int { return c.rcv }

// Close closes this side's descriptors (mq_close is close(2) on Linux); the
// queues are the Listener's to remove.
func (c *conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.descsClosed {
		return nil
	}
	c.descsClosed = true
	c.closed.Store(true)
	if c.sndF != nil {
		c.sndF.Close()
		c.rcvF.Close()
		return nil
	}
	unix.Close(c.snd)
	unix.Close(c.rcv)
	return nil
}
