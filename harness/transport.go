// Package harness drives the same workloads over any IPC mechanism between two
// real processes: it starts and supervises the peer (this same binary, run
// again), runs the pingpong and stream workloads, times them, and turns what it
// measured into results rows.
//
// The harness never imports a mechanism. Each mechanism is a Transport that
// knows only its own syscalls; main hands the harness the list.
package harness

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// A Transport is one IPC mechanism. Listen runs in the driver and creates the
// channel; Dial runs in the peer process and joins it.
type Transport interface {
	// Name is the mechanism's name on the command line and in results.
	Name() string
	// Listen creates a channel for one driver/peer pair. What the peer needs
	// to find it is in the Listener's Endpoint.
	Listen(cfg Config) (Listener, error)
	// Dial joins the channel from the peer process.
	Dial(ep Endpoint, cfg Config) (Conn, error)
}

// A Describer is a Transport that has something to say about how it carries a
// message of a given size: split into pieces by a kernel limit, or an option
// that shapes its figures (TCP_NODELAY). The note goes into the results row.
type Describer interface {
	Describe(cfg Config) Description
}

// Description is what a Describer says about one cell.
type Description struct {
	// Pieces is how many kernel messages carry one message, if more than one.
	Pieces int
	// Note is a few words for the table and results.json.
	Note string
}

// IOMode is how a Conn moves bytes.
type IOMode string

const (
	// IORaw is blocking read/write (or msgsnd/msgrcv) straight through
	// x/sys/unix on a goroutine locked to its thread: the mechanism's cost
	// with as little of Go's in the way as possible.
	IORaw IOMode = "raw"
	// IOGo is os.File or net.Conn through the runtime's network poller, as a
	// typical Go program does it.
	IOGo IOMode = "go"
)

// Config is what both sides agree on for one cell.
type Config struct {
	// Size is the message size in bytes, the same in both directions.
	Size int
	// IO selects raw syscalls or the Go runtime poller.
	IO IOMode
	// Timeout bounds every wait for the other side outside the timed loop
	// (accepting, dialling).
	Timeout time.Duration
	// Remote, when set, is the address of an ipcbench serve peer (TCP only).
	Remote string
}

// Endpoint is what the peer process needs to join a channel: a string it
// receives in its environment (a socket path, a host:port, queue ids) and
// descriptors it inherits. Files[i] becomes descriptor i in the peer's
// Endpoint; the harness takes care of the numbering.
type Endpoint struct {
	Addr  string
	Files []*os.File
}

// A Listener is the driver's side of a channel that is being set up.
type Listener interface {
	// Endpoint is what to hand the peer process.
	Endpoint() Endpoint
	// Accept waits until the peer has dialled, at most until deadline, and
	// returns the driver's end of the channel. The descriptors in Endpoint
	// may be closed by the harness once the peer has started.
	Accept(deadline time.Time) (Conn, error)
	// Close removes everything Listen created that must not outlive the cell
	// (a queue, a socket file and its directory). It is safe to call more
	// than once, and from another goroutine while a Conn is blocked, which it
	// then wakes if the mechanism allows (removing a queue does).
	Close() error
}

// Headroom is the number of bytes in front of every message that a Conn may
// overwrite. A System V message starts with an 8-byte type; writing it in
// place, in front of the payload, saves copying every message.
const Headroom = 8

// A Conn carries whole messages of the cell's size in both directions.
//
// Both methods take a frame: frame[Headroom:] is the message, and the bytes
// before it belong to the Conn for the duration of the call. Neither may
// allocate: they run inside the timed loop.
type Conn interface {
	// Send sends frame[Headroom:] as one message.
	Send(frame []byte) error
	// Recv fills frame[Headroom:] with exactly one message.
	Recv(frame []byte) error
	// Close releases the driver's or peer's end.
	Close() error
}

// ErrClosed is returned by a Conn whose other side has gone away.
var ErrClosed = errors.New("the other side closed the channel")

// NewFrame allocates a frame for messages of size bytes.
func NewFrame(size int) []byte { return make([]byte, Headroom+size) }

// LimitError is a kernel limit that stops a mechanism from carrying a
// message at all. The cell becomes a row with this error, never a capped run.
type LimitError struct {
	Limit string // the sysctl or setting, e.g. "kernel.msgmnb"
	Value int64
	What  string // what cannot be done
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s (%s is %d)", e.What, e.Limit, e.Value)
}
