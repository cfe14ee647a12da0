// Package msgqueue carries messages between the driver and the peer over a
// pair of System V message queues, one per direction, so that a side sending a
// large message never waits on its own echo in a shared queue.
//
// The kernel bounds one message's text by kernel.msgmax and a queue's bytes by
// kernel.msgmnb. Caps reports the smaller of the two as the largest message
// it carries whole; the harness splits larger ones (ipc.Split) and the
// results say so: nothing is ever capped silently.
//
// The queues are created with IPC_PRIVATE, so only their ids (in the
// Endpoint's Addr) lead to them. The Listener owns them and removes them on
// Close, which also wakes any side blocked on them.
package msgqueue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/ipcbench/ipcbench/ipc"

	"golang.org/x/sys/unix"
)

// New returns the System V message queue Transport.
func New() ipc.Transport { return transport{} }

type transport struct{}

func (transport) Name() string { return "msgqueue" }

// mtypeLen is the size of a message's type field, a C long, which on every
// Linux port Go supports is the size of a pointer. It fits in headroom, so
// the type is written in place in front of the text.
const mtypeLen = int(unsafe.Sizeof(uintptr(0)))

// headroom is the Caps.Headroom: room for the type on any port.
const headroom = 8

// mtype is the type of every message: it must be positive, and the receiver
// takes whatever comes first (msgtyp 0), so one value is enough.
const mtype = 1

func putMtype(b []byte) {
	if mtypeLen == 8 {
		binary.NativeEndian.PutUint64(b, mtype)
	} else {
		binary.NativeEndian.PutUint32(b, mtype)
	}
}

func getMtype(b []byte) uint64 {
	if mtypeLen == 8 {
		return binary.NativeEndian.Uint64(b)
	}
	return uint64(binary.NativeEndian.Uint32(b))
}

// limits are the kernel's System V message limits, read afresh each time:
// they are sysctls and differ between machines.
type limits struct {
	msgmax int64 // the most text one message may carry
	msgmnb int64 // the most text a queue may hold (a queue's default q_qbytes)
}

func readLimits() (limits, error) {
	var l limits
	var err error
	if l.msgmax, err = readSysctl("msgmax"); err != nil {
		return l, err
	}
	if l.msgmnb, err = readSysctl("msgmnb"); err != nil {
		return l, err
	}
	return l, nil
}

// readSysctl reads kernel.NAME.
func readSysctl(name string) (int64, error) { return ipc.ReadSysctl("kernel." + name) }

// piece returns the most text one kernel message can carry, P, and the sysctl
// that sets it. A piece must fit in one message (msgmax) and in an empty queue
// (msgmnb), or msgsnd fails with EINVAL or blocks for ever. size is the
// message size, which matters only when no text can be carried at all.
func (l limits) piece(size int) (p int, limit string, err error) {
	if l.msgmnb < 1 {
		// A queue holds at most msgmnb messages too, so it cannot hold any.
		return 0, "", &ipc.LimitError{Limit: "kernel.msgmnb", Value: l.msgmnb,
			What: "a System V message queue cannot hold a single message"}
	}
	if l.msgmax < 1 && size > 0 {
		return 0, "", &ipc.LimitError{Limit: "kernel.msgmax", Value: l.msgmax,
			What: "a System V message cannot carry any text"}
	}
	p64, limit := l.msgmax, "kernel.msgmax"
	if l.msgmnb < p64 {
		p64, limit = l.msgmnb, "kernel.msgmnb"
	}
	p64 = max(p64, 1) // only when size is 0: an empty message fits anyway
	if p64 > int64(^uint(0)>>1) {
		p64 = int64(^uint(0) >> 1)
	}
	return int(p64), limit, nil
}

// Caps: a message of up to the piece size whole (the harness splits larger
// ones), an 8-byte headroom for the type, only the raw path (System V queues
// are not file descriptors, so the runtime poller cannot wait on them, and
// both io modes make the same blocking calls), and queues that a killed run
// could leave behind.
func (transport) Caps(cfg ipc.Config) ipc.Caps {
	c := ipc.Caps{
		Headroom: headroom,
		IOModes:  []ipc.IOMode{ipc.IORaw},
		RawPath:  "blocking msgsnd/msgrcv",
		Sysctls:  []string{"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni"},
		Objects:  []ipc.ObjectKind{queueKind},
		// Two queues a channel, no descriptors: kernel.msgmni caps them.
		Uses: ipc.Uses{Descriptors: 1, Objects: 2, ObjectLimit: "kernel.msgmni"},
		// Many clients share one request queue and one reply queue, by
		// message type (shared.go); a queue has no connections.
		Server:       ipc.ServerShared,
		ListenShared: listenShared,
		ServerNote:   serverNote,
		NoConnect:    "System V queues have no connections: a client finds the queue by its id",
		// Conn.Close only stops this side: the queues are the Listener's.
		NoCloseNotice: "a System V queue outlives the processes that use it: Listener.Close removes it, and then both sides get ErrClosed",
	}
	l, err := readLimits()
	if err == nil {
		c.MaxMessage, c.MaxMessageLimit, err = l.piece(cfg.Size)
	}
	c.Err = err
	return c
}

// Listen creates the two queues, driver to peer and peer to driver, and
// hands the peer their ids in the Addr "D2P,P2D".
func (transport) Listen(cfg ipc.Config) (ipc.Listener, error) {
	if cfg.Size < 0 {
		return nil, fmt.Errorf("message size %d is negative", cfg.Size)
	}
	d2p, err := newQueue()
	if err != nil {
		return nil, err
	}
	p2d, err := newQueue()
	if err != nil {
		remove(d2p)
		return nil, err
	}
	ln := &listener{
		ids:  [2]int{d2p, p2d},
		addr: fmt.Sprintf("%d,%d", d2p, p2d),
		conn: &conn{snd: d2p, rcv: p2d},
	}
	return ln, nil
}

// newQueue is create, replaced in tests to make the second queue fail.
var newQueue = create

// create makes a private queue that only this user may use, and records it
// so that `ipcbench clean` can remove it if this process dies first.
func create() (int, error) {
	id, err := msgget(unix.IPC_PRIVATE, unix.IPC_CREAT|0o600)
	if err == nil {
		if err := track(id); err != nil {
			rmid(id)
			return -1, err
		}
		return id, nil
	}
	if err == errENOSPC {
		what := "cannot create another System V message queue: the system has as many as it allows (`ipcbench clean` removes those a killed run left)"
		if n, rerr := readSysctl("msgmni"); rerr == nil {
			return -1, &ipc.LimitError{Limit: "kernel.msgmni", Value: n, What: what}
		}
		return -1, errors.New(what)
	}
	return -1, fmt.Errorf("cannot create a System V message queue: %w", err)
}

// remove removes a queue and, once it is gone, its record.
func remove(id int) error {
	err := rmid(id)
	if err == nil || err == errEINVAL || err == errEIDRM {
		ipc.Forget(kind, strconv.Itoa(id))
	}
	return err
}

// listener owns the two queues of one driver/peer pair.
type listener struct {
	ids  [2]int // driver to peer, peer to driver
	addr string
	conn *conn

	mu      sync.Mutex
	closed  bool
	removed [2]bool
}

func (l *listener) Endpoint() ipc.Endpoint { return ipc.Endpoint{Addr: l.addr} }

// Accept returns the driver's Conn at once: the queues exist already, and a
// message sent before the peer dials waits in its queue.
func (l *listener) Accept(deadline time.Time) (ipc.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, fmt.Errorf("accept on removed queues: %w", ipc.ErrClosed)
	}
	return l.conn, nil
}

// Close removes both queues, waking any msgsnd or msgrcv blocked on them, in
// this process or the peer, with EIDRM. A queue already gone, removed by an
// earlier Close or by hand, is not an error.
func (l *listener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	var first error
	for i, id := range l.ids {
		if l.removed[i] {
			continue
		}
		err := remove(id)
		if err == nil || err == errEINVAL || err == errEIDRM {
			l.removed[i] = true
			continue
		}
		if first == nil {
			first = fmt.Errorf("cannot remove System V message queue %d: %w", id, err)
		}
	}
	return first
}

// Dial joins the queues named in ep.Addr from the peer's side: it sends on
// the peer-to-driver queue and receives on the driver-to-peer one.
func (transport) Dial(ep ipc.Endpoint, cfg ipc.Config) (ipc.Conn, error) {
	if strings.HasPrefix(ep.Addr, sharedPrefix) {
		return dialShared(ep.Addr)
	}
	d2p, p2d, err := parseAddr(ep.Addr)
	if err != nil {
		return nil, err
	}
	if cfg.Size < 0 {
		return nil, fmt.Errorf("message size %d is negative", cfg.Size)
	}
	for _, id := range [2]int{d2p, p2d} {
		if err := stat(id); err != nil {
			return nil, fmt.Errorf("System V message queue %d from the driver cannot be used (removed, or in another IPC namespace?): %w", id, err)
		}
	}
	return &conn{snd: p2d, rcv: d2p}, nil
}

// parseAddr splits "D2P,P2D" as Listen makes it.
func parseAddr(addr string) (d2p, p2d int, err error) {
	bad := func(why string) error {
		return fmt.Errorf("msgqueue endpoint %q is malformed (%s): want DRIVER_TO_PEER_ID,PEER_TO_DRIVER_ID as Listen makes it", addr, why)
	}
	f := strings.Split(addr, ",")
	if len(f) != 2 {
		return 0, 0, bad(fmt.Sprintf("%d fields", len(f)))
	}
	var v [2]int
	for i, s := range f {
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, 0, bad(fmt.Sprintf("%q is not a number", s))
		}
		v[i] = n
	}
	switch {
	case v[0] < 0 || v[1] < 0:
		return 0, 0, bad("a queue id is negative")
	case v[0] == v[1]:
		return 0, 0, bad("both directions name the same queue")
	}
	return v[0], v[1], nil
}

// conn is one side's end: it sends on one queue and receives on the other.
// It owns neither queue; Close only stops its own use of them.
type conn struct {
	snd, rcv int
	// typ, for a client of the shared server form, is the client's type:
	// it sends its requests with it and receives only replies of it. 0 for
	// a pair of queues: type mtype out, the next message in.
	typ       int64
	closed    atomic.Bool
	ipc.Calls // msgsnd and msgrcv calls, for the cost per message
}

// sendType is the type of the messages this side sends.
func (c *conn) sendType() int64 {
	if c.typ != 0 {
		return c.typ
	}
	return mtype
}

var errConnClosed = fmt.Errorf("use of a closed System V queue Conn: %w", ipc.ErrClosed)

// Send sends frame[headroom:] as one message without copying it: the
// kernel's struct msgbuf is laid over the frame, with the type written in
// the mtypeLen bytes in front of the text, in the frame's headroom. A message
// longer than the kernel takes is split by the harness (ipc.Split), which
// hands it to SplitPieces.
func (c *conn) Send(frame []byte) error { return c.send(frame, math.MaxInt) }

// Recv fills frame[headroom:] with one message in place: the kernel writes
// its type over the mtypeLen bytes in front of it. The message must have
// exactly the frame's length; anything else means the two sides disagree
// and is an error, never a short message.
func (c *conn) Recv(frame []byte) error { return c.recv(frame, math.MaxInt) }

// send sends frame[headroom:] as messages of piece bytes, the last one
// shorter (sendLoop). Inside the harness's ipc.Unmanaged window the calls
// are raw and made by sendPieces, which on amd64 is assembly: see
// pieces_amd64.go for why the few instructions between calls matter.
func (c *conn) send(frame []byte, piece int) error {
	if err := c.check(frame); err != nil {
		return err
	}
	msg, size, typ := unsafe.Pointer(&frame[headroom-mtypeLen]), len(frame)-headroom, c.sendType()
	var calls int
	var err error
	if ipc.RawCalls() {
		var e uintptr
		calls, e = sendPieces(uintptr(c.snd), msg, size, piece, typ)
		err = errnoErr(unix.Errno(e))
	} else {
		calls, err = sendLoop(c.snd, msg, size, piece, typ)
	}
	c.Calls.Send += int64(calls)
	if err != nil {
		return c.fail("msgsnd", c.snd, err)
	}
	return nil
}

// recv fills frame[headroom:] with messages of piece bytes (the last one
// shorter), as send sent them; each must have exactly the length expected
// and the sender's type.
func (c *conn) recv(frame []byte, piece int) error {
	if err := c.check(frame); err != nil {
		return err
	}
	msg, size, want := unsafe.Pointer(&frame[headroom-mtypeLen]), len(frame)-headroom, uint64(c.sendType())
	var calls, n, got int
	var typ uint64
	var err error
	if ipc.RawCalls() {
		var e uintptr
		calls, n, got, typ, e = recvPieces(uintptr(c.rcv), msg, size, piece, c.typ, want)
		err = errnoErr(unix.Errno(e))
	} else {
		calls, n, got, typ, err = recvLoop(c.rcv, msg, size, piece, c.typ, want)
	}
	c.Calls.Recv += int64(calls)
	if err != nil || got != n || typ != want {
		return c.recvFailed(err, n, got, typ)
	}
	return nil
}

// recvFailed is the error of a msgrcv of n bytes that failed with err or
// brought a message of got bytes and type typ that is not the one expected.
func (c *conn) recvFailed(err error, n, got int, typ uint64) error {
	switch {
	case err == errE2BIG:
		return fmt.Errorf("msgrcv on queue %d: a message is longer than the %d bytes expected: the two sides disagree on the message size", c.rcv, n)
	case err != nil:
		return c.fail("msgrcv", c.rcv, err)
	}
	return fmt.Errorf("msgrcv on queue %d: got a message of type %d with %d bytes, want type %d with %d: the two sides disagree on the message size", c.rcv, typ, got, c.sendType(), n)
}

// check rejects a frame without room for the type, and use after Close.
func (c *conn) check(frame []byte) error {
	if c.closed.Load() {
		return errConnClosed
	}
	if len(frame) < headroom {
		return fmt.Errorf("frame of %d bytes: a System V message needs %d bytes of headroom", len(frame), headroom)
	}
	return nil
}

// fail turns a queue's removal into ipc.ErrClosed: EIDRM when it is
// removed while this side waits, EINVAL when it was gone before the call
// (EINVAL also means a bad argument, so the queue is checked).
func (c *conn) fail(op string, id int, err error) error {
	if err == errEIDRM || (err == errEINVAL && gone(id)) {
		return ipc.ErrClosed
	}
	return fmt.Errorf("%s on queue %d: %w", op, id, err)
}

// Close stops this side using the queues; it does not remove them, which is
// the Listener's to do, and it does not wake a call already blocked.
func (c *conn) Close() error {
	c.closed.Store(true)
	return nil
}

// SplitPieces implements ipc.PieceSplitter: a message longer than piece goes
// as pieces of it, a msgsnd or msgrcv each, from send's and recv's loop.
// Through ipc.Split's generic loop each piece passed two more Go frames and
// an interface call, whose cache misses after every 8 KiB copy cost about
// 2% of a 64 KiB stream (Intel model 167).
func (c *conn) SplitPieces(h, piece int) ipc.Conn {
	return &pieceConn{conn: c, piece: piece}
}

// pieceConn is a conn that splits messages itself, as ipc.Split does.
type pieceConn struct {
	*conn
	piece int
}

func (c *pieceConn) Send(frame []byte) error { return c.send(frame, c.piece) }

func (c *pieceConn) Recv(frame []byte) error { return c.recv(frame, c.piece) }
