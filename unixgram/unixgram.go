// Package unixgram is the Unix domain datagram socket Transport (AF_UNIX,
// SOCK_DGRAM): the driver binds a socket file in a private directory, the
// peer binds its own next to it and connects to the driver's, and the driver
// connects back once the peer has said hello. Both then send and receive
// without addresses.
//
// Two limits shape it, and both are read, not assumed. The sender's
// SO_SNDBUF (net.core.wmem_default unless set) caps one datagram: the kernel
// refuses (EMSGSIZE) a datagram larger than the send buffer less a small
// overhead, so a larger message is split into pieces (ipc.Split). And the
// memory of the datagrams sent and not yet read is charged to the sender's
// send buffer: a sender that finds it full waits (about 277 small datagrams
// with the default 212992 bytes). net.unix.max_dgram_qlen, the other limit
// usually named, bounds only the queue of a receiver that is not connected
// back to the sender (a server socket that many clients send to, like
// syslog's /dev/log); both sockets here are connected to each other, so it
// does not apply (TestQueueLimit shows both cases).
package unixgram

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/ipcbench/ipcbench/ipc"
	"golang.org/x/sys/unix"
)

// maxPath is the longest socket path Linux takes: sun_path is 108 bytes.
const maxPath = 108

// The socket files in the cell's private directory.
const (
	driverSock = "driver.sock"
	peerSock   = "peer.sock"
)

type transport struct{}

// New returns the unixgram Transport.
func New() ipc.Transport { return transport{} }

func (transport) Name() string { return "unixgram" }

var sysctls = []string{"net.core.wmem_default", "net.core.wmem_max", "net.unix.max_dgram_qlen"}

// Caps: both io modes; pieces of at most the largest datagram a new socket
// can send, found by reading SO_SNDBUF and trying it.
//
// Not Lossy: on Linux a datagram socket of the Unix domain never drops a
// datagram it has accepted. When the sender's buffer is full (SO_SNDBUF,
// charged until the receiver has read the datagram), or the receiver's
// queue is (net.unix.max_dgram_qlen, for a receiver not connected back),
// sendmsg blocks (or, on a non-blocking socket, fails with EAGAIN and the
// poller waits) until there is room: net/unix/af_unix.c, unix_dgram_sendmsg
// and unix_wait_for_peer. So every message arrives, in order, and the
// harness checks that as for a stream socket (TestNeverDrops shows it with
// a receiver that falls behind).
func (transport) Caps(cfg ipc.Config) ipc.Caps {
	c := ipc.Caps{
		IOModes:   []ipc.IOMode{ipc.IORaw, ipc.IOGo},
		Sysctls:   sysctls,
		NoConnect: "Unix datagram sockets have no connections: connect(2) only sets a socket's default peer, with no handshake to time",
		// Many clients send to one server socket (shared.go).
		Server:       ipc.ServerShared,
		ListenShared: listenShared,
		ServerNote:   serverNote,
	}
	largest, sndbuf, err := LargestDatagram()
	if err != nil {
		c.Err = err
		return c
	}
	c.MaxMessage = largest
	c.MaxMessageLimit = fmt.Sprintf("the largest datagram SO_SNDBUF %d allows:", sndbuf)
	c.Note = fmt.Sprintf("socket files in a private directory, connected both ways: a sender waits while unread datagrams fill its SO_SNDBUF (%d B); net.unix.max_dgram_qlen does not apply", sndbuf)
	return c
}

// LargestDatagram returns the largest datagram a new AF_UNIX SOCK_DGRAM
// socket can send, and its SO_SNDBUF. It reads SO_SNDBUF and then sends to
// find the real limit: the kernel refuses a datagram above SO_SNDBUF less an
// overhead (32 bytes in today's af_unix.c), which is tried first and then,
// if the kernel disagrees, searched for.
func LargestDatagram() (largest, sndbuf int, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("unixgram: cannot make a socket pair to read SO_SNDBUF: %w", err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	return largestDatagram(fds[0], fds[1])
}

// largestDatagram finds the largest datagram that the socket s can send
// to r, which is connected to it and empty.
func largestDatagram(s, r int) (largest, sndbuf int, err error) {
	sndbuf, err = unix.GetsockoptInt(s, unix.SOL_SOCKET, unix.SO_SNDBUF)
	if err != nil {
		return 0, 0, fmt.Errorf("unixgram: cannot read SO_SNDBUF: %w", err)
	}
	buf := make([]byte, sndbuf+1)
	fits := func(n int) (bool, error) {
		_, err := unix.Write(s, buf[:n])
		switch {
		case err == nil:
			if _, _, err := unix.Recvfrom(r, buf, unix.MSG_DONTWAIT); err != nil {
				return false, fmt.Errorf("unixgram: reading back a %d-byte datagram: %w", n, err)
			}
			return true, nil
		case errors.Is(err, unix.EMSGSIZE):
			return false, nil
		}
		return false, fmt.Errorf("unixgram: sending a %d-byte datagram to find the largest: %w", n, err)
	}
	if guess := sndbuf - 32; guess > 0 {
		ok, err := fits(guess)
		if err != nil {
			return 0, 0, err
		}
		over, err := fits(guess + 1)
		if err != nil {
			return 0, 0, err
		}
		if ok && !over {
			return guess, sndbuf, nil
		}
	}
	// Search: lo fits (an empty datagram always does), hi does not.
	lo, hi := 0, sndbuf+1
	if ok, err := fits(hi); err != nil || ok {
		return 0, 0, fmt.Errorf("unixgram: a datagram larger than SO_SNDBUF %d was accepted (%v): the limit is not where expected", sndbuf, err)
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, err := fits(mid)
		if err != nil {
			return 0, 0, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	if lo == 0 {
		return 0, 0, &ipc.LimitError{Limit: "SO_SNDBUF", Value: int64(sndbuf), What: "a Unix datagram socket cannot send a single byte"}
	}
	return lo, sndbuf, nil
}

// Listen makes a private (0700) directory and binds the driver's socket in
// it. The Listener's Close removes the directory with both socket files.
func (transport) Listen(cfg ipc.Config) (ipc.Listener, error) {
	dir, err := ipc.TempDir()
	if err != nil {
		return nil, err
	}
	removeDir := func() error { return os.RemoveAll(dir) }
	path := filepath.Join(dir, driverSock)
	if len(filepath.Join(dir, peerSock)) > maxPath || len(path) > maxPath {
		removeDir()
		return nil, fmt.Errorf("the socket path %s is longer than the %d bytes Linux allows; set TMPDIR to a shorter directory", path, maxPath)
	}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		removeDir()
		return nil, err
	}
	return ipc.NewDatagramListener(c, path, cfg, removeDir)
}

// Dial binds the peer's socket next to the driver's and connects it there.
func (transport) Dial(ep ipc.Endpoint, cfg ipc.Config) (ipc.Conn, error) {
	if strings.HasPrefix(ep.Addr, sharedPrefix) {
		return dialShared(ep.Addr, cfg)
	}
	path, token, err := ipc.SplitDatagramAddr(ep.Addr)
	if err != nil {
		return nil, err
	}
	laddr := &net.UnixAddr{Name: filepath.Join(filepath.Dir(path), peerSock), Net: "unixgram"}
	c, err := net.DialUnix("unixgram", laddr, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, err
	}
	return ipc.JoinDatagram(c, token, cfg)
}
