package harness

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/results"
)

// roleClient is the peer role of a client of the server and connect
// workloads: it measures, the server (the driver process) serves.
const roleClient = "client"

// runClient is a client process's part of a cell once it has its orders:
// join the server, say it is ready, wait for the word to start, run the
// workload, and return the final report.
func runClient(spec peerSpec, t ipc.Transport, ep ipc.Endpoint, cfg ipc.Config, ready func() error, start <-chan struct{}) (*peerReport, error) {
	warmup := limit{until: 0, warmup: true}
	h := t.Caps(cfg).Headroom
	lim := limit{count: spec.Count}
	switch spec.Workload {
	case results.Server:
		conn, err := t.Dial(ep, cfg)
		if err != nil {
			return nil, fmt.Errorf("%s: joining the server: %w", spec.Mechanism, explainLimit(err))
		}
		defer conn.Close()
		caps := t.Caps(cfg)
		d := newDriver(splitFor(conn, caps, spec.Piece), h, spec.Size, spec.Offset, spec.Verify)
		d.lossy, d.patience = caps.Lossy, time.Duration(spec.TimeoutNS)
		if err := ready(); err != nil {
			return nil, err
		}
		<-start
		if spec.WarmupNS > 0 {
			warmup.until = Now() + spec.WarmupNS
			if _, _, err := d.pingpong(warmup); err != nil {
				return nil, err
			}
			d.rec.Reset()
		}
		if spec.Count == 0 {
			lim.until = Now() + spec.DurationNS
		}
		n, elapsed, err := d.pingpong(lim)
		if err != nil {
			return nil, err
		}
		lost, reordered := d.lost, d.reordered // the measured phase's: finish counts none
		if err := d.finish(); err != nil {
			return nil, err
		}
		return &peerReport{Done: true, Received: n, ElapsedNS: elapsed, RTT: d.rec, Lost: lost, Reordered: reordered}, nil
	case results.Connect:
		caps := t.Caps(cfg)
		if caps.Connector == nil {
			return nil, fmt.Errorf("%s has no connections to make", spec.Mechanism)
		}
		cn, err := caps.Connector(ep, cfg)
		if err != nil {
			return nil, err
		}
		defer cn.Close()
		c := newConnectClient(cn, h, spec.Size, spec.Offset, spec.Piece, spec.Verify)
		if err := ready(); err != nil {
			return nil, err
		}
		<-start
		if spec.WarmupNS > 0 {
			warmup.until = Now() + spec.WarmupNS
			if _, _, err := c.run(warmup); err != nil {
				return nil, err
			}
			c.rtt.Reset()
			c.connect.Reset()
		}
		if spec.Count == 0 {
			lim.until = Now() + spec.DurationNS
		}
		n, elapsed, err := c.run(lim)
		if err != nil {
			return nil, err
		}
		if err := c.transaction(flagEnd, false); err != nil {
			return nil, err
		}
		return &peerReport{Done: true, Received: n, ElapsedNS: elapsed, RTT: c.rtt, Connect: c.connect}, nil
	}
	return nil, fmt.Errorf("a client has no workload %q", spec.Workload)
}

// connectClient is the measuring side of workload connect: everything its
// loop touches is allocated before it starts.
type connectClient struct {
	cn           ipc.Connector
	out, in      []byte
	h, piece     int // the Conns' headroom; the pieces of a message, 0: whole
	seq          uint64
	verify       bool
	rtt, connect *Recorder
}

func newConnectClient(cn ipc.Connector, h, size, offset, piece int, verify bool) *connectClient {
	c := &connectClient{cn: cn, out: ipc.NewFrame(h, size, offset), in: ipc.NewFrame(h, size, offset), h: h, piece: piece, verify: verify,
		rtt: NewRecorder(), connect: NewRecorder()}
	fillPayload(c.out[h:], 0)
	return c
}

// run makes transactions until the limit and returns how many and the time
// they took. In raw mode nothing in it allocates.
func (c *connectClient) run(lim limit) (n, elapsed int64, err error) {
	start := Now()
	now := start
	for !lim.done(n, now) {
		if err := c.transaction(0, !lim.warmup); err != nil {
			return n, Now() - start, err
		}
		n++
		now = Now()
	}
	return n, now - start, nil
}

// transaction is one connection: connect, send, receive the echo, close,
// timed whole into rtt and the connect(2) alone into connect when record.
func (c *connectClient) transaction(flags uint64, record bool) error {
	out, in := c.out[c.h:], c.in[c.h:]
	seq := c.seq
	if c.verify {
		fillPayload(out, seq)
	}
	t0 := Now()
	putHeader(out, seq, flags, t0)
	conn, took, err := c.cn.Connect()
	if err != nil {
		return explainConnect(err)
	}
	conn = split(conn, c.h, c.piece) // only a mechanism with MaxMessage: allocates
	if err := conn.Send(c.out); err != nil {
		conn.Close()
		return err
	}
	if err := conn.Recv(c.in); err != nil {
		conn.Close()
		return err
	}
	if err := conn.Close(); err != nil {
		return err
	}
	now := Now()
	got, gotFlags, _ := header(in)
	if got != seq {
		return &SequenceError{Side: "client", Want: seq, Got: got}
	}
	if flags&flagEnd != 0 && gotFlags&flagAck == 0 {
		return fmt.Errorf("the server did not acknowledge the end of the cell (message %d)", seq)
	}
	if c.verify && flags == 0 {
		if err := checkPayload(in, seq); err != nil {
			return err
		}
	}
	if record {
		c.rtt.Record(now - t0)
		c.connect.Record(int64(took))
	}
	c.seq++
	return nil
}

// explainConnect says what ran out when a connect(2) fails for want of a
// resource, and which setting would help.
func explainConnect(err error) error {
	switch {
	case errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EADDRINUSE):
		hint := "the ephemeral ports ran out: each closed connection keeps its port in TIME_WAIT for 60 s"
		if lo, hi, ok := portRange(); ok {
			hint += fmt.Sprintf("; net.ipv4.ip_local_port_range is %d-%d (%d ports)", lo, hi, hi-lo+1)
		}
		if v, ok := readSysctlInt("net.ipv4.tcp_tw_reuse"); ok {
			hint += fmt.Sprintf(", net.ipv4.tcp_tw_reuse is %d", v)
		}
		hint += ": widen the range, set net.ipv4.tcp_tw_reuse=1, or use a shorter -duration"
		return fmt.Errorf("%w (%s)", err, hint)
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EAGAIN):
		// A full accept queue: unix sockets refuse (EAGAIN), TCP drops the SYN.
		hint := "the server's accept queue is full"
		if v, ok := readSysctlInt("net.core.somaxconn"); ok {
			hint += fmt.Sprintf(" (net.core.somaxconn is %d)", v)
		}
		return fmt.Errorf("%w (%s)", err, hint)
	}
	return explainLimit(err)
}

func readSysctlInt(name string) (int64, bool) {
	v, err := ipc.ReadSysctl(name)
	return v, err == nil
}
