// Package msgqueue carries messages between the driver and the peer over a
// pair of System V message queues, one per direction, so that a side sending a
// large message never waits on its own echo in a shared queue.
//
// The kernel bounds one message's text by kernel.msgmax and a queue's bytes by
// kernel.msgmnb. A message larger than the smaller of the two is split into
// pieces and reassembled by the receiver; Describe says so in the results,
// and nothing is ever capped silently.
//
// The queues are created with IPC_PRIVATE, so only their ids (in the
// Endpoint's Addr) lead to them. The Listener owns them and removes them on
// Close, which also wakes any side blocked on them.
package msgqueue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/ipcbench/ipcbench/harness"

	"golang.org/x/sys/unix"
)

// New returns the System V message queue Transport. It is also a
// harness.Describer: it tells when messages are split into pieces, and that it
// has no runtime-poller path.
func New() harness.Transport { return transport{} }

type transport struct{}

func (transport) Name() string { return "msgqueue" }

// mtypeLen is the size of a message's type field, a C long, which on every
// Linux port Go supports is the size of a pointer. It fits in
// harness.Headroom, so the type is written in place in front of the text.
const mtypeLen = int(unsafe.Sizeof(uintptr(0)))

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

// noPoller is said of every cell in IOGo mode: System V queues are not file
// descriptors, so the runtime poller cannot wait on them, and both IO modes
// make the same blocking calls. The results must not suggest otherwise.
const noPoller = "no poller path: blocking msgsnd/msgrcv in both io modes"

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

// readSysctl reads kernel.NAME from /proc/sys/kernel.
func readSysctl(name string) (int64, error) {
	path := "/proc/sys/kernel/" + name
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("cannot read kernel.%s: %w", name, err)
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cannot read kernel.%s: %s holds %q, not a number", name, path, strings.TrimSpace(string(b)))
	}
	return v, nil
}

// piece returns the most text one kernel message can carry, P, and the sysctl
// that sets it. A piece must fit in one message (msgmax) and in an empty queue
// (msgmnb), or msgsnd fails with EINVAL or blocks for ever. size is the
// message size, which matters only when no text can be carried at all.
func (l limits) piece(size int) (p int, limit string, err error) {
	if l.msgmnb < 1 {
		// A queue holds at most msgmnb messages too, so it cannot hold any.
		return 0, "", &harness.LimitError{Limit: "kernel.msgmnb", Value: l.msgmnb,
			What: "a System V message queue cannot hold a single message"}
	}
	if l.msgmax < 1 && size > 0 {
		return 0, "", &harness.LimitError{Limit: "kernel.msgmax", Value: l.msgmax,
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

// pieces is how many kernel messages carry a message of size bytes in pieces
// of at most p: one even for an empty message.
func pieces(size, p int) int {
	if size <= p {
		return 1
	}
	return (size-1)/p + 1
}

// Describe says how a message of cfg.Size is carried: how many pieces, if it
// is split, and that IOGo is the same blocking path as IORaw.
func (transport) Describe(cfg harness.Config) harness.Description {
	var d harness.Description
	var notes []string
	l, err := readLimits()
	if err == nil {
		var p int
		var limit string
		if p, limit, err = l.piece(cfg.Size); err == nil {
			if n := pieces(cfg.Size, p); n > 1 {
				d.Pieces = n
				of := "of"
				if cfg.Size%p != 0 {
					of = "of up to"
				}
				notes = append(notes, fmt.Sprintf("split into %d pieces %s %d B (%s %d)", n, of, p, limit, p))
			}
		}
	}
	if err != nil {
		notes = append(notes, err.Error())
	}
	if cfg.IO == harness.IOGo {
		notes = append(notes, noPoller)
	}
	d.Note = strings.Join(notes, "; ")
	return d
}

// Listen creates the two queues, driver to peer and peer to driver, and
// decides the piece size, which it hands the peer in the Addr
// "D2P,P2D,PIECE" so that both sides split messages the same way.
func (transport) Listen(cfg harness.Config) (harness.Listener, error) {
	if cfg.Size < 0 {
		return nil, fmt.Errorf("message size %d is negative", cfg.Size)
	}
	l, err := readLimits()
	if err != nil {
		return nil, err
	}
	p, _, err := l.piece(cfg.Size)
	if err != nil {
		return nil, err
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
		addr: fmt.Sprintf("%d,%d,%d", d2p, p2d, p),
		conn: &conn{snd: d2p, rcv: p2d, size: cfg.Size, piece: p},
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
		if err := harness.TrackQueue(id); err != nil {
			rmid(id)
			return -1, err
		}
		return id, nil
	}
	if err == errENOSPC {
		what := "cannot create another System V message queue: the system has as many as it allows (`ipcbench clean` removes those a killed run left)"
		if n, rerr := readSysctl("msgmni"); rerr == nil {
			return -1, &harness.LimitError{Limit: "kernel.msgmni", Value: n, What: what}
		}
		return -1, errors.New(what)
	}
	return -1, fmt.Errorf("cannot create a System V message queue: %w", err)
}

// remove removes a queue and, once it is gone, its record.
func remove(id int) error {
	err := rmid(id)
	if err == nil || err == errEINVAL || err == errEIDRM {
		harness.UntrackQueue(id)
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

func (l *listener) Endpoint() harness.Endpoint { return harness.Endpoint{Addr: l.addr} }

// Accept returns the driver's Conn at once: the queues exist already, and a
// message sent before the peer dials waits in its queue.
func (l *listener) Accept(deadline time.Time) (harness.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, fmt.Errorf("accept on removed queues: %w", harness.ErrClosed)
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
func (transport) Dial(ep harness.Endpoint, cfg harness.Config) (harness.Conn, error) {
	d2p, p2d, p, err := parseAddr(ep.Addr)
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
	return &conn{snd: p2d, rcv: d2p, size: cfg.Size, piece: p}, nil
}

// parseAddr splits "D2P,P2D,PIECE" as Listen makes it.
func parseAddr(addr string) (d2p, p2d, piece int, err error) {
	bad := func(why string) error {
		return fmt.Errorf("msgqueue endpoint %q is malformed (%s): want DRIVER_TO_PEER_ID,PEER_TO_DRIVER_ID,PIECE_BYTES as Listen makes it", addr, why)
	}
	f := strings.Split(addr, ",")
	if len(f) != 3 {
		return 0, 0, 0, bad(fmt.Sprintf("%d fields", len(f)))
	}
	var v [3]int
	for i, s := range f {
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, 0, 0, bad(fmt.Sprintf("%q is not a number", s))
		}
		v[i] = n
	}
	switch {
	case v[0] < 0 || v[1] < 0:
		return 0, 0, 0, bad("a queue id is negative")
	case v[0] == v[1]:
		return 0, 0, 0, bad("both directions name the same queue")
	case v[2] < 1:
		return 0, 0, 0, bad("the piece size is not positive")
	}
	return v[0], v[1], v[2], nil
}

// conn is one side's end: it sends on one queue and receives on the other.
// It owns neither queue; Close only stops its own use of them.
type conn struct {
	snd, rcv int
	size     int // message size
	piece    int // the most text in one kernel message
	closed   atomic.Bool
}

var errConnClosed = fmt.Errorf("use of a closed System V queue Conn: %w", harness.ErrClosed)

// Send sends frame[Headroom:] in pieces of at most c.piece bytes without
// copying it: each piece goes out as the kernel's struct msgbuf laid over the
// frame, with the type written in the mtypeLen bytes in front of the piece.
// For the first piece those are headroom; for the others they are the end of
// the previous piece, saved and put back.
func (c *conn) Send(frame []byte) error {
	if err := c.check(frame); err != nil {
		return err
	}
	for off := 0; ; off += c.piece {
		n := min(c.piece, c.size-off)
		h := frame[harness.Headroom+off-mtypeLen : harness.Headroom+off]
		var saved [8]byte
		copy(saved[:], h)
		putMtype(h)
		err := msgsnd(c.snd, unsafe.Pointer(&h[0]), n, 0)
		copy(h, saved[:])
		if err != nil {
			return c.fail("msgsnd", c.snd, err)
		}
		if off+n >= c.size {
			return nil
		}
	}
}

// Recv fills frame[Headroom:] with one message, piece by piece, in place:
// the kernel writes each piece's type over the mtypeLen bytes in front of it,
// which are put back afterwards. Every piece must have exactly the expected
// length; anything else means the two sides disagree and is an error, never a
// short message.
func (c *conn) Recv(frame []byte) error {
	if err := c.check(frame); err != nil {
		return err
	}
	for off := 0; ; off += c.piece {
		n := min(c.piece, c.size-off)
		h := frame[harness.Headroom+off-mtypeLen : harness.Headroom+off]
		var saved [8]byte
		copy(saved[:], h)
		got, err := msgrcv(c.rcv, unsafe.Pointer(&h[0]), n, 0, 0)
		typ := getMtype(h)
		copy(h, saved[:])
		if err != nil {
			if err == errE2BIG {
				return fmt.Errorf("msgrcv on queue %d: a message is longer than the %d bytes expected: the two sides disagree on the message size", c.rcv, n)
			}
			return c.fail("msgrcv", c.rcv, err)
		}
		if got != n || typ != mtype {
			return fmt.Errorf("msgrcv on queue %d: got a message of type %d with %d bytes, want type %d with %d: the two sides disagree on the message size", c.rcv, typ, got, mtype, n)
		}
		if off+n >= c.size {
			return nil
		}
	}
}

// check rejects a frame that does not hold one message of the cell's size,
// and use after Close.
func (c *conn) check(frame []byte) error {
	if c.closed.Load() {
		return errConnClosed
	}
	if len(frame) != harness.Headroom+c.size {
		return fmt.Errorf("frame of %d bytes for %d-byte messages: want %d", len(frame), c.size, harness.Headroom+c.size)
	}
	return nil
}

// fail turns a queue's removal into harness.ErrClosed: EIDRM when it is
// removed while this side waits, EINVAL when it was gone before the call
// (EINVAL also means a bad argument, so the queue is checked).
func (c *conn) fail(op string, id int, err error) error {
	if err == errEIDRM || (err == errEINVAL && gone(id)) {
		return harness.ErrClosed
	}
	return fmt.Errorf("%s on queue %d: %w", op, id, err)
}

// Close stops this side using the queues; it does not remove them, which is
// the Listener's to do, and it does not wake a call already blocked.
func (c *conn) Close() error {
	c.closed.Store(true)
	return nil
}
