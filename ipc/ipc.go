// Package ipc is the contract between ipcbench's harness and its mechanisms:
// a Transport creates a channel (Listen in the driver, Dial in the peer) and
// describes itself (Caps); a Conn carries whole messages. It also holds what
// two mechanisms share: the stream and socket adapters (NewStreamConn,
// NetConn, NetListener), frames (NewFrame), splitting messages a mechanism
// cannot carry whole (Split), private directories (TempDir) and records of
// named objects that a killed run could leave behind (Record, ObjectKind).
//
// A mechanism imports ipc and nothing of the harness; the harness imports ipc
// and never a mechanism: main hands it the list.
package ipc

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
	// Caps describes the mechanism and how it carries a message of cfg.Size
	// on this machine now (it may read sysctls). The harness calls it
	// before Listen (driver) and Dial (peer).
	Caps(cfg Config) Caps
	// Listen creates a channel for one driver/peer pair. What the peer needs
	// to find it is in the Listener's Endpoint.
	Listen(cfg Config) (Listener, error)
	// Dial joins the channel from the peer process.
	Dial(ep Endpoint, cfg Config) (Conn, error)
}

// Caps is what a mechanism says about itself; shared code acts on it, so no
// mechanism needs optional interfaces.
type Caps struct {
	// Headroom is how many bytes in front of the message a Conn may
	// overwrite during a call (a System V message's 8-byte mtype). Frames
	// are allocated with this much in front.
	Headroom int
	// MaxMessage is the largest message the mechanism carries whole; 0
	// means any size. A larger message is split into pieces of at most
	// MaxMessage by shared code (Split, applied by the harness on both
	// sides), and the row's note says so, naming MaxMessageLimit.
	MaxMessage      int
	MaxMessageLimit string // what sets MaxMessage, e.g. "kernel.msgmax"
	// Lossy mechanisms may drop (or reorder) messages: the harness counts
	// gaps in the sequence numbers instead of failing the cell, and gives
	// Recv a deadline (Config.RecvTimeout).
	Lossy bool
	// IOModes are the IO modes with a path of their own (raw: blocking
	// syscalls on a locked thread; go: the runtime poller). In a mode not
	// listed the mechanism runs its raw path and the row's note says "no
	// poller path". nil means both.
	IOModes []IOMode
	// RawPath names the raw path in a few words ("blocking
	// msgsnd/msgrcv") for the note of a mode not in IOModes: "no poller
	// path: blocking msgsnd/msgrcv in both io modes".
	RawPath string
	// Sysctls are the sysctl names that shape this mechanism
	// ("kernel.msgmax", "net.core.rmem_default", "fs.mqueue.msgsize_max");
	// the run records them in meta.limits (see ReadLimits).
	Sysctls []string
	// Facts, if not nil, measures what shapes the mechanism that is no
	// sysctl (the capacity of a new pipe); the run records it in
	// meta.limits next to the sysctls.
	Facts func() map[string]int64
	// Remote: the mechanism can run against `ipcbench serve` on another
	// host (tcpsocket).
	Remote bool
	// Objects are the kinds of named object this mechanism creates outside
	// the run's private temp directory (a System V queue, a POSIX queue)
	// that a killed run could leave behind.
	Objects []ObjectKind
	// NoCloseWake, when set, says why Listener.Close cannot wake a call
	// blocked on the channel in this process, and what wakes it instead
	// ("closing a pipe end does not wake its reader: the peer's exit
	// does"). The conformance suite checks that Close wakes one unless
	// this is set.
	NoCloseWake string
	// NoCloseNotice, when set, says why the other side's calls do not fail
	// with ErrClosed once one side has closed its Conn, and what ends the
	// channel instead ("a queue outlives its users: Listener.Close removes
	// it"). The suite then checks ErrClosed after Listener.Close.
	NoCloseNotice string
	// Note is a few words for the row ("loopback, TCP_NODELAY on").
	Note string
	// Uses is what one channel holds (descriptors, named objects, ports),
	// for refusing a run the machine cannot hold before it starts.
	Uses Uses
	// Err, when set, means the mechanism cannot carry this message here (a
	// *LimitError naming the sysctl): the cell becomes a row with this
	// error, never a capped run.
	Err error

	// The server and connect workloads (servercaps.go). A mechanism that
	// sets none of these still gets a server form: one channel per client.

	// Server is the mechanism's native form of workload server; the zero
	// value, ServerChannels, is the generic form.
	Server ServerForm
	// ListenShared, for ServerShared, creates the one channel all clients
	// share and returns the server's end. It refuses what its limits cannot
	// hold for that many clients (a *LimitError) before creating anything.
	ListenShared func(cfg Config, clients int) (SharedListener, error)
	// NoServer, when set, says why the mechanism has no server form here:
	// its server cells are skipped rows (no figures, not an error).
	NoServer string
	// ServerNote says in a few words how the mechanism's server form holds
	// its clients ("each client its own pair of pipes"); the harness adds
	// how it serves them (one thread with epoll, a goroutine each, ...).
	ServerNote string
	// Connector, when not nil, means the mechanism has connections
	// (workload connect): it returns a Connector that makes new connections
	// to ep, which one Listener accepts any number of times (one Accept
	// each).
	Connector func(ep Endpoint, cfg Config) (Connector, error)
	// NoConnect says why a mechanism without Connector has no connections:
	// its connect cells are skipped rows saying so.
	NoConnect string
	// PortsPerClient is how many ephemeral ports each client's connection
	// holds (TCP: one), checked against net.ipv4.ip_local_port_range
	// before a server cell starts.
	PortsPerClient int
}

// HasIOMode reports whether mode has a path of its own (see IOModes).
func (c Caps) HasIOMode(mode IOMode) bool {
	if c.IOModes == nil {
		return true
	}
	for _, m := range c.IOModes {
		if m == mode {
			return true
		}
	}
	return false
}

// Pieces is how many pieces of at most MaxMessage carry a message of size
// bytes: 1 when it is carried whole (an empty message too).
func (c Caps) Pieces(size int) int {
	if c.MaxMessage <= 0 || size <= c.MaxMessage {
		return 1
	}
	return (size-1)/c.MaxMessage + 1
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
	// Offset is where the payload starts past a page boundary, 0..4095
	// (see NewFrame).
	Offset int
	// IO selects raw syscalls or the Go runtime poller.
	IO IOMode
	// Timeout bounds every wait for the other side outside the timed loop
	// (accepting, dialling).
	Timeout time.Duration
	// Remote, when set, is the HOST:PORT of an `ipcbench serve` peer (only
	// for Caps.Remote mechanisms).
	Remote string
	// RecvTimeout, for a Lossy mechanism, is the longest one Recv waits
	// before it returns ErrTimeout (the harness counts the message as lost
	// and goes on). 0: wait for ever.
	RecvTimeout time.Duration
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

// A Conn carries whole messages in both directions.
//
// Both methods take a frame: frame[h:] is the message, h = Caps.Headroom, and
// the h bytes in front of it belong to the Conn for the duration of the call.
// After splitting, frames of any length up to h+MaxMessage are passed.
// Neither may allocate: they run inside the timed loop.
type Conn interface {
	// Send sends frame[h:] as one message.
	Send(frame []byte) error
	// Recv fills frame[h:] with one message of exactly that length.
	Recv(frame []byte) error
	// Close releases the driver's or peer's end.
	Close() error
}

// ErrClosed is returned by a Conn whose other side has gone away.
var ErrClosed = errors.New("the other side closed the channel")

// ErrTimeout is returned by the Recv of a Lossy mechanism that waited
// Config.RecvTimeout without a message. It wraps os.ErrDeadlineExceeded.
var ErrTimeout = fmt.Errorf("no message within the receive timeout: %w", os.ErrDeadlineExceeded)

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
