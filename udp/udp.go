// Package udp is the UDP Transport over loopback: one socket per side, each
// connected to the other (connect(2) on both), so that both send and receive
// without addresses and each receives only what its peer sent.
//
// UDP is lossy (Caps.Lossy): a datagram that finds the receiver's buffer
// (SO_RCVBUF, net.core.rmem_default unless set) full is dropped, and the
// harness counts it lost instead of failing the cell. A message above the
// largest IPv4 UDP payload, 65507 bytes, is split into pieces by
// ipc.SplitLossy, each with a small header, so that a message with a lost
// piece is one lost message; then both sockets ask for a receive buffer
// that holds a whole message (up to net.core.rmem_max), since its pieces
// arrive back to back and the default holds three.
package udp

import (
	"fmt"
	"net"

	"github.com/ipcbench/ipcbench/ipc"
	"golang.org/x/sys/unix"
)

// MaxDatagram is the largest payload of an IPv4 UDP datagram: an IP packet
// is at most 65535 bytes, of which 20 are the IP header and 8 UDP's.
const MaxDatagram = 65535 - 20 - 8

// MaxPiece is the most of a split message one datagram carries: the rest
// is the piece's header (ipc.SplitLossy).
const MaxPiece = MaxDatagram - ipc.PieceHeaderSize

// loopback is where both sockets are bound: ephemeral ports of 127.0.0.1,
// never reachable from another host.
const loopback = "127.0.0.1:0"

type transport struct {
	name   string
	rcvbuf int // SO_RCVBUF of both sockets, 0: the default (tests only)
}

// New returns the udp Transport.
func New() ipc.Transport { return transport{name: "udp"} }

func (t transport) Name() string { return t.name }

// sysctls shape the socket buffers: a datagram is dropped when the
// receiver's is full, and a sender waits when its own is.
var sysctls = []string{"net.core.rmem_default", "net.core.rmem_max", "net.core.wmem_default", "net.core.wmem_max"}

// Caps: lossy, both io modes, pieces of at most MaxDatagram.
func (transport) Caps(cfg ipc.Config) ipc.Caps {
	c := ipc.Caps{
		MaxMessage:      MaxDatagram,
		MaxMessageLimit: "the IPv4 UDP payload limit, less a piece header when split:",
		Lossy:           true,
		IOModes:         []ipc.IOMode{ipc.IORaw, ipc.IOGo},
		Sysctls:         sysctls,
		// The server workload's generic form: each client its own pair
		// of connected sockets, losses counted by the clients. (UDP's own
		// server form, one socket answering every client with sendto, is
		// not built.)
		ServerNote: "each client its own pair of connected sockets (not UDP's one-socket server with sendto)",
		NoConnect:  "UDP has no connections: connect(2) on a datagram socket only sets its default peer, with no handshake to time",
	}
	note := "loopback, connected"
	if cfg.Size > MaxDatagram {
		// The pieces of ipc.SplitLossy carry their header in front, in the
		// datagram.
		c.MaxMessage = MaxPiece
	}
	if n := c.Pieces(cfg.Size); n > 1 {
		c.Headroom = ipc.PieceHeaderSize
		rcv, max, err := splitRecvBuffer(cfg.Size)
		if err != nil {
			c.Err = err
			return c
		}
		if rcv >= wantRecvBuffer(cfg.Size) {
			note += fmt.Sprintf("; SO_RCVBUF set to %d B to hold a whole message", rcv)
		} else {
			note += fmt.Sprintf("; SO_RCVBUF set to %d B (net.core.rmem_max), less than a message: expect most lost", max)
		}
		note += "; each piece has an 8-byte header, a message that loses one is lost"
	} else if rcv, err := ipc.ReadSysctl("net.core.rmem_default"); err == nil {
		note += fmt.Sprintf("; SO_RCVBUF %d B (net.core.rmem_default): a datagram that finds it full is dropped, counted lost", rcv)
	}
	c.Note = note
	return c
}

// wantRecvBuffer is the receive buffer a message of size bytes needs when it
// is split: all its datagrams arrive back to back, and a receiver that has
// not room for them all drops the rest (the default, net.core.rmem_default,
// holds three 64 KB datagrams). Each datagram costs its length and the
// kernel's bookkeeping (within 2 KB).
func wantRecvBuffer(size int) int {
	n := (size-1)/MaxPiece + 1
	return size + 2048*n
}

// splitRecvBuffer is the SO_RCVBUF both sockets ask for when messages of
// size are split, as much as wantRecvBuffer says within net.core.rmem_max
// (the kernel then doubles it, for its bookkeeping), and that maximum.
func splitRecvBuffer(size int) (rcv, max int, err error) {
	m, err := ipc.ReadSysctl("net.core.rmem_max")
	if err != nil {
		return 0, 0, err
	}
	return int(min(int64(wantRecvBuffer(size)), m)), int(m), nil
}

// Listen binds the driver's socket to an ephemeral loopback port; the peer
// connects to it and says hello, and Accept connects the driver's socket to
// the peer's.
func (t transport) Listen(cfg ipc.Config) (ipc.Listener, error) {
	addr, err := net.ResolveUDPAddr("udp4", loopback)
	if err != nil {
		return nil, err
	}
	c, err := net.ListenUDP("udp4", addr)
	if err != nil {
		return nil, err
	}
	if err := setRecvBuffer(c, t.rcvbuf, cfg.Size); err != nil {
		c.Close()
		return nil, err
	}
	return ipc.NewDatagramListener(c, c.LocalAddr().String(), cfg, nil)
}

// Dial binds the peer's socket to an ephemeral loopback port and connects it
// to the driver's.
func (t transport) Dial(ep ipc.Endpoint, cfg ipc.Config) (ipc.Conn, error) {
	addr, token, err := ipc.SplitDatagramAddr(ep.Addr)
	if err != nil {
		return nil, err
	}
	raddr, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return nil, err
	}
	c, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, raddr)
	if err != nil {
		return nil, err
	}
	if err := setRecvBuffer(c, t.rcvbuf, cfg.Size); err != nil {
		c.Close()
		return nil, err
	}
	return ipc.JoinDatagram(c, token, cfg)
}

// setRecvBuffer sets SO_RCVBUF on c: rcvbuf if it is not 0 (tests provoke
// loss with a tiny one; the kernel doubles the value and keeps it above a
// minimum), or splitRecvBuffer when messages of size are split; otherwise
// the socket keeps the default, net.core.rmem_default.
func setRecvBuffer(c *net.UDPConn, rcvbuf, size int) error {
	if rcvbuf == 0 && size > MaxDatagram {
		var err error
		if rcvbuf, _, err = splitRecvBuffer(size); err != nil {
			return err
		}
	}
	if rcvbuf == 0 {
		return nil
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf)
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("cannot set SO_RCVBUF: %w", serr)
	}
	return nil
}
