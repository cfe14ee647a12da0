// Package remote is ipcbench's protocol for cross-host runs: the handshake
// between `ipcbench run -remote` and `ipcbench serve` (Hello, the reply),
// the server (Serve) and the client's session (Dial). What runs over a
// session once the handshake is done is the harness's: the server is given
// the peer's loop (ServeOptions.Peer), the client uses the Session's Conn.
package remote

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/ipcbench/ipcbench/results"
)

// The handshake between `ipcbench run -remote` and `ipcbench serve`. A
// server anyone can reach reads only this fixed-size hello before it has
// decided to serve, so a stranger can make it allocate nothing but the
// hello's 32 bytes, and every field is checked against a bound.
//
//	hello (client to server), 32 bytes:
//	  0-3   magic "IPCB"
//	  4-5   protocol version, big-endian
//	  6     workload: 1 pingpong, 2 stream
//	  7     flags: bit 0 verify payloads
//	  8-11  message size in bytes, big-endian
//	  12-31 zero
//
//	reply (server to client): 10 bytes, then a JSON body of at most 4 KiB:
//	  0-3   magic "IPCB"
//	  4-5   the server's protocol version
//	  6-7   status: 0 ok, else the request is refused (the body says why)
//	  8-9   body length
//
// After an ok reply the connection carries the cell's messages, exactly
// as between a local driver and peer.
const (
	ProtocolVersion = 1
	HelloSize       = 32
	replyHeaderSize = 10
	maxReplyBody    = 4096
)

// WireMagic starts every hello and reply.
var WireMagic = [4]byte{'I', 'P', 'C', 'B'}

// Reply statuses.
const (
	StatusOK uint16 = iota
	StatusVersion
	StatusBadRequest
	StatusTooLarge
	StatusBusy
)

// Hello is a client's request for one session.
type Hello struct {
	Version  uint16
	Workload string
	Verify   bool
	Size     int
}

// Encode is the hello on the wire.
func (h Hello) Encode() []byte {
	b := make([]byte, HelloSize)
	copy(b, WireMagic[:])
	binary.BigEndian.PutUint16(b[4:], h.Version)
	switch h.Workload {
	case results.PingPong:
		b[6] = 1
	case results.Stream:
		b[6] = 2
	}
	if h.Verify {
		b[7] = 1
	}
	binary.BigEndian.PutUint32(b[8:], uint32(h.Size))
	return b
}

// errBadMagic is a peer that does not speak ipcbench at all.
var errBadMagic = errors.New("not an ipcbench client (bad magic)")

// DecodeHello checks a hello strictly, its size against minSize..maxSize
// (the sizes ipcbench measures). A wrong version is reported as
// *VersionError so the server can answer with its own version.
func DecodeHello(b []byte, minSize, maxSize int) (Hello, error) {
	var h Hello
	if len(b) != HelloSize {
		return h, fmt.Errorf("hello is %d bytes, want %d", len(b), HelloSize)
	}
	if !bytes.Equal(b[:4], WireMagic[:]) {
		return h, errBadMagic
	}
	h.Version = binary.BigEndian.Uint16(b[4:])
	if h.Version != ProtocolVersion {
		return h, &VersionError{Client: h.Version, Server: ProtocolVersion}
	}
	switch b[6] {
	case 1:
		h.Workload = results.PingPong
	case 2:
		h.Workload = results.Stream
	default:
		return h, fmt.Errorf("unknown workload code %d", b[6])
	}
	if b[7]&^1 != 0 {
		return h, fmt.Errorf("unknown flags %#x", b[7])
	}
	h.Verify = b[7]&1 != 0
	size := binary.BigEndian.Uint32(b[8:])
	if int64(size) < int64(minSize) || int64(size) > int64(maxSize) {
		return h, fmt.Errorf("message size %d is outside %d..%d", size, minSize, maxSize)
	}
	h.Size = int(size)
	for _, x := range b[12:] {
		if x != 0 {
			return h, errors.New("reserved bytes are not zero")
		}
	}
	return h, nil
}

// VersionError is a client and server that speak different protocols.
type VersionError struct{ Client, Server uint16 }

func (e *VersionError) Error() string {
	return fmt.Sprintf("the client speaks ipcbench protocol %d and the server protocol %d: run the same ipcbench version on both machines", e.Client, e.Server)
}

// ServerInfo is what a server tells a client about itself; it goes into
// the results' meta, so a cross-host run says what it ran against.
type ServerInfo = results.RemoteInfo

// ReplyBody is the JSON after a reply's header.
type ReplyBody struct {
	Server *ServerInfo `json:"server,omitempty"`
	Error  string      `json:"error,omitempty"`
}

// EncodeReply is a server's reply.
func EncodeReply(status uint16, body ReplyBody) []byte {
	js, _ := json.Marshal(body)
	if len(js) > maxReplyBody {
		js, _ = json.Marshal(ReplyBody{Error: "reply too long"})
	}
	b := make([]byte, replyHeaderSize, replyHeaderSize+len(js))
	copy(b, WireMagic[:])
	binary.BigEndian.PutUint16(b[4:], ProtocolVersion)
	binary.BigEndian.PutUint16(b[6:], status)
	binary.BigEndian.PutUint16(b[8:], uint16(len(js)))
	return append(b, js...)
}

// ReadReply reads and checks a server's reply; a refusal is an error that
// says why in the server's words.
func ReadReply(r io.Reader) (*ServerInfo, error) {
	var h [replyHeaderSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, fmt.Errorf("the server did not answer the handshake: %w", err)
	}
	if !bytes.Equal(h[:4], WireMagic[:]) {
		return nil, errors.New("the address answered, but not as an ipcbench server")
	}
	version := binary.BigEndian.Uint16(h[4:])
	status := binary.BigEndian.Uint16(h[6:])
	n := binary.BigEndian.Uint16(h[8:])
	if n > maxReplyBody {
		return nil, fmt.Errorf("the server's reply is %d bytes, more than the %d allowed", n, maxReplyBody)
	}
	js := make([]byte, n)
	if _, err := io.ReadFull(r, js); err != nil {
		return nil, fmt.Errorf("the server's reply was cut short: %w", err)
	}
	if version != ProtocolVersion {
		return nil, &VersionError{Client: ProtocolVersion, Server: version}
	}
	var body ReplyBody
	if err := json.Unmarshal(js, &body); err != nil {
		return nil, fmt.Errorf("the server's reply is garbled: %w", err)
	}
	if status != StatusOK {
		if body.Error == "" {
			body.Error = fmt.Sprintf("status %d", status)
		}
		return nil, fmt.Errorf("the server refused: %s", body.Error)
	}
	if body.Server == nil {
		return nil, errors.New("the server's reply has no server facts")
	}
	return body.Server, nil
}
