package msgqueue

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/ipcbench/ipcbench/ipc"
)

// The server form of System V queues, as the documents describe message
// queues: messages "between many processes", each with a type, and a
// receiver that takes a given type or the next in order. ONE request queue
// that every client sends to, with its id as the message type; ONE reply
// queue, from which each client takes only its own replies (msgrcv with
// msgtyp = its id). The server takes the next request of anyone (msgtyp 0).

// serverNote is what a server row says of this form.
const serverNote = "one request queue, the client's id as the message type, and one reply queue from which each client takes only its own replies (msgrcv with msgtyp = its id)"

// clientType is client i's message type: positive, as msgsnd requires.
func clientType(i int) int64 { return int64(i) + 1 }

// sharedPrefix starts the Addr of a client of the shared form:
// "shared:REQUESTS,REPLIES,CLIENT".
const sharedPrefix = "shared:"

// listenShared creates the two queues of a server of clients clients. It
// refuses, before creating anything, a cell whose split requests could fill
// the request queue: the server, having taken a client's first piece, waits
// for that client's next one, which could wait for room behind other
// clients' first pieces for ever.
func listenShared(cfg ipc.Config, clients int) (ipc.SharedListener, error) {
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
	if need := int64(clients) * int64(cfg.Size); cfg.Size > p && need > l.msgmnb {
		return nil, &ipc.LimitError{Limit: "kernel.msgmnb", Value: l.msgmnb,
			What: fmt.Sprintf("%d clients of %d-byte messages, each split into %d pieces, need %d bytes in the one request queue, or the server can wait for a client's next piece behind the others' for ever: raise kernel.msgmnb or use fewer -clients or smaller messages",
				clients, cfg.Size, (cfg.Size-1)/p+1, need)}
	}
	// The two queues must fit under kernel.msgmni: say so before making
	// either rather than after half of them.
	if mni, err := readSysctl("msgmni"); err == nil {
		if ids, err := existingQueues(); err == nil && int64(ids+2) > mni {
			return nil, &ipc.LimitError{Limit: "kernel.msgmni", Value: mni,
				What: fmt.Sprintf("the server's request and reply queues do not fit: the system has %d System V queues already (`ipcbench clean` removes those a killed run left)", ids)}
		}
	}
	req, err := newQueue()
	if err != nil {
		return nil, err
	}
	rep, err := newQueue()
	if err != nil {
		remove(req)
		return nil, err
	}
	return &sharedListener{req: req, rep: rep, size: cfg.Size, piece: p}, nil
}

// sharedListener is the server's end: it receives on the request queue and
// replies on the reply queue, each message in pieces of at most piece bytes.
type sharedListener struct {
	req, rep    int
	size, piece int

	mu      sync.Mutex
	removed [2]bool
}

func (l *sharedListener) Endpoint(client int) ipc.Endpoint {
	return ipc.Endpoint{Addr: fmt.Sprintf("%s%d,%d,%d", sharedPrefix, l.req, l.rep, client)}
}

// Recv takes the next request of any client (msgtyp 0: the oldest message
// in the queue) and then the rest of its pieces by that client's type. The
// oldest message of the queue is always some client's first piece: each
// client sends its pieces in order and the server takes a client's pieces
// all at once.
func (l *sharedListener) Recv(frame []byte) (int, error) {
	if len(frame) != headroom+l.size {
		return -1, fmt.Errorf("frame of %d bytes for %d-byte messages", len(frame), l.size)
	}
	var typ int64
	for off := 0; ; off += l.piece {
		n := min(l.piece, l.size-off)
		h := frame[headroom+off-mtypeLen : headroom+off]
		var saved [8]byte
		copy(saved[:], h)
		got, err := msgrcv(l.req, unsafe.Pointer(&h[0]), n, int(typ), 0)
		t := int64(getType(h))
		copy(h, saved[:])
		if err != nil {
			return -1, l.fail("msgrcv", l.req, err)
		}
		if got != n {
			return -1, fmt.Errorf("msgrcv on the request queue %d: a piece of %d bytes, want %d: the two sides disagree on the message size", l.req, got, n)
		}
		if typ == 0 {
			typ = t
		}
		if off+n >= l.size {
			return int(typ - 1), nil
		}
	}
}

// Send sends frame[headroom:] to client alone: every piece with its type.
func (l *sharedListener) Send(client int, frame []byte) error {
	if len(frame) != headroom+l.size {
		return fmt.Errorf("frame of %d bytes for %d-byte messages", len(frame), l.size)
	}
	typ := clientType(client)
	for off := 0; ; off += l.piece {
		n := min(l.piece, l.size-off)
		h := frame[headroom+off-mtypeLen : headroom+off]
		var saved [8]byte
		copy(saved[:], h)
		putType(h, typ)
		err := msgsnd(l.rep, unsafe.Pointer(&h[0]), n, 0)
		copy(h, saved[:])
		if err != nil {
			return l.fail("msgsnd", l.rep, err)
		}
		if off+n >= l.size {
			return nil
		}
	}
}

func (l *sharedListener) fail(op string, id int, err error) error {
	if err == errEIDRM || (err == errEINVAL && gone(id)) {
		return ipc.ErrClosed
	}
	return fmt.Errorf("%s on queue %d: %w", op, id, err)
}

// Close removes both queues, waking every msgsnd and msgrcv blocked on
// them, in this process and in the clients.
func (l *sharedListener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var first error
	for i, id := range [2]int{l.req, l.rep} {
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

// dialShared is a client's end: it sends its requests, typed with its id,
// on the request queue, and takes its replies, by its type, from the reply
// queue.
func dialShared(addr string) (ipc.Conn, error) {
	bad := func(why string) error {
		return fmt.Errorf("msgqueue endpoint %q is malformed (%s): want %sREQUESTS,REPLIES,CLIENT as the server makes it", addr, why, sharedPrefix)
	}
	f := strings.Split(strings.TrimPrefix(addr, sharedPrefix), ",")
	if len(f) != 3 {
		return nil, bad(fmt.Sprintf("%d fields", len(f)))
	}
	var v [3]int
	for i, s := range f {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, bad(fmt.Sprintf("%q is not a number", s))
		}
		v[i] = n
	}
	if v[0] == v[1] {
		return nil, bad("requests and replies name the same queue")
	}
	for _, id := range v[:2] {
		if err := stat(id); err != nil {
			return nil, fmt.Errorf("System V message queue %d from the server cannot be used (removed, or in another IPC namespace?): %w", id, err)
		}
	}
	return &conn{snd: v[0], rcv: v[1], typ: clientType(v[2])}, nil
}

func putType(b []byte, t int64) {
	if mtypeLen == 8 {
		binary.NativeEndian.PutUint64(b, uint64(t))
	} else {
		binary.NativeEndian.PutUint32(b, uint32(t))
	}
}

func getType(b []byte) uint64 { return getMtype(b) }

// existingQueues is how many System V message queues the system has now.
func existingQueues() (int, error) {
	b, err := os.ReadFile("/proc/sysvipc/msg")
	if err != nil {
		return 0, err
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return max(len(lines)-1, 0), nil // the first line is the header
}
