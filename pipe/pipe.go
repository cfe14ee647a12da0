// Package pipe measures anonymous pipes: two of them, one per direction,
// created by the driver and inherited by the peer, as a shell pipeline or a
// parent and its child would use them.
package pipe

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/ipcbench/ipcbench/ipc"
	"golang.org/x/sys/unix"
)

// New returns the pipe mechanism.
func New() ipc.Transport { return transport{} }

type transport struct{}

func (transport) Name() string { return "pipe" }

// Caps: a pipe carries a byte stream of any length through the runtime
// poller or raw read/write, and its capacity shapes the figures.
//
// Pipes are point-to-point, so a server has a pair per client (the generic
// server form), and a pipe is made once and inherited, never connected to.
func (transport) Caps(ipc.Config) ipc.Caps {
	return ipc.Caps{
		Sysctls:     []string{"fs.pipe-max-size"},
		Facts:       capacity,
		NoCloseWake: "closing a pipe end does not wake a reader while another write end is open: the peer's exit closes it",
		ServerNote:  "each client its own pair of pipes (pipes are point-to-point)",
		NoConnect:   "a pipe has no connections: it is made once, by its creator, and inherited",
	}
}

// capacity is the capacity of a new pipe, what the pipe mechanism gets, as
// the fact "pipe_bytes".
func capacity() map[string]int64 {
	var p [2]int
	if unix.Pipe2(p[:], unix.O_CLOEXEC) != nil {
		return nil
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	n, err := unix.FcntlInt(uintptr(p[0]), unix.F_GETPIPE_SZ, 0)
	if err != nil {
		return nil
	}
	return map[string]int64{"pipe_bytes": int64(n)}
}

// Listen makes both pipes. The peer's ends go to it as inherited
// descriptors: its read end of the driver-to-peer pipe first, then its write
// end of the peer-to-driver pipe.
func (transport) Listen(cfg ipc.Config) (ipc.Listener, error) {
	downR, downW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("creating a pipe: %w", err)
	}
	upR, upW, err := os.Pipe()
	if err != nil {
		downR.Close()
		downW.Close()
		return nil, fmt.Errorf("creating a pipe: %w", err)
	}
	return &listener{cfg: cfg, peerR: downR, peerW: upW, myR: upR, myW: downW}, nil
}

func (transport) Dial(ep ipc.Endpoint, cfg ipc.Config) (ipc.Conn, error) {
	if len(ep.Files) != 2 {
		return nil, fmt.Errorf("expected 2 inherited pipe ends, got %d", len(ep.Files))
	}
	return ipc.NewStreamConn(ep.Files[0], ep.Files[1], cfg.IO), nil
}

type listener struct {
	cfg          ipc.Config
	peerR, peerW *os.File // the peer's ends; the harness closes them once it has started
	myR, myW     *os.File // the driver's ends, owned by the Conn after Accept

	// Close may run in another goroutine than Accept (the harness stops a
	// cell that way), so who owns the driver's ends is decided under mu.
	mu       sync.Mutex
	closed   bool
	accepted bool
}

func (l *listener) Endpoint() ipc.Endpoint {
	return ipc.Endpoint{Files: []*os.File{l.peerR, l.peerW}}
}

// Accept returns the driver's ends at once: a pipe needs no connecting.
func (l *listener) Accept(time.Time) (ipc.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, fmt.Errorf("accept on a closed pipe listener: %w", ipc.ErrClosed)
	}
	l.accepted = true
	return ipc.NewStreamConn(l.myR, l.myW, l.cfg.IO), nil
}

// Close releases whatever is still the listener's: the peer's ends, and
// the driver's if no Conn took them. Closing a pipe end does not wake a
// blocked reader; the peer's exit does.
func (l *listener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	l.peerR.Close()
	l.peerW.Close()
	if !l.accepted {
		l.myR.Close()
		l.myW.Close()
	}
	return nil
}
