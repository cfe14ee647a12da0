package harness

import (
	"fmt"
	"sync/atomic"

	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/results"
)

// driver is one measuring side: a Conn and everything its timed loop
// touches, allocated before the loop starts. It belongs to one goroutine.
type driver struct {
	conn     ipc.Conn
	out, in  []byte // separate frames, so an echo can't pass for the original
	h        int    // the Conn's headroom: out[h:] and in[h:] are the messages
	seq      uint64 // the next sequence number to send
	rec      *Recorder
	verify   bool
	progress *atomic.Int64 // messages done, read by the watchdog
	// progressMask sets how often progress is stored: every 16 small
	// messages (an atomic store costs a little), every large one (16 of
	// them could outlast a short -timeout and look like a stall).
	progressMask int64
	cpus         cpuSampler // which CPUs the measuring thread ran on
	lossState               // over a lossy channel (see lossy.go)
	// open, for an open-loop cell (-rate), is the state of its schedule.
	open *openLoop
}

// newDriver makes a driver for messages of size bytes over conn, whose
// frames have headroom h; the payloads start offset bytes past a page.
func newDriver(conn ipc.Conn, h, size, offset int, verify bool) *driver {
	d := &driver{
		conn:     conn,
		out:      ipc.NewFrame(h, size, offset),
		in:       ipc.NewFrame(h, size, offset),
		h:        h,
		rec:      NewRecorder(),
		verify:   verify,
		progress: new(atomic.Int64),
	}
	if size < 64<<10 {
		d.progressMask = 15
	}
	fillPayload(d.out[h:], 0)
	return d
}

// limit says when a phase ends: after count messages, or when the clock
// passes until (count 0).
type limit struct {
	count int64
	until int64
	// warmup leaves the phase's messages unstamped, so the peer records no
	// one-way delay for them: only measured messages count.
	warmup bool
}

func (l limit) done(n, now int64) bool {
	if l.count > 0 {
		return n >= l.count
	}
	return now >= l.until
}

// pingpong sends a message, waits for its same-size echo, and records the
// round trip, until the limit. It returns the round trips done and the time
// they took. Nothing in the loop allocates.
func (d *driver) pingpong(lim limit) (n, elapsed int64, err error) {
	out, in := d.out[d.h:], d.in[d.h:]
	d.lost, d.reordered = 0, 0
	start := Now()
	now := start
	for !lim.done(n, now) {
		seq := d.seq
		if d.verify {
			fillPayload(out, seq)
		}
		t0 := Now()
		stamp := t0
		var flags uint64
		if lim.warmup {
			stamp = 0
		} else if n < markCount {
			flags = flagMark
		}
		putHeader(out, seq, flags, stamp)
		if err = d.conn.Send(d.out); err != nil {
			return n, now - start, err
		}
		ok, err := d.awaitEcho(seq)
		if err != nil {
			return n, now - start, err
		}
		now = Now()
		if !ok { // lost (a lossy channel): counted, and on to the next
			d.seq++
			n++
			continue
		}
		if d.verify {
			if err = checkPayload(in, seq); err != nil {
				return n, now - start, err
			}
		}
		d.rec.Record(now - t0)
		d.seq++
		n++
		if n&d.progressMask == 0 {
			d.progress.Store(n)
		}
		if n&cpuSampleMask == 0 {
			d.cpus.sample()
		}
	}
	return n, now - start, nil
}

// stream sends messages as fast as the mechanism takes them until the
// limit; the last one asks for an acknowledgement, and the time runs from
// the first send until it arrives, so every message is known delivered.
func (d *driver) stream(lim limit) (n, elapsed int64, err error) {
	out := d.out[d.h:]
	d.lost, d.reordered = 0, 0
	start := Now()
	for {
		seq := d.seq
		n++
		var flags uint64
		if lim.done(n, Now()) {
			flags = flagAck
		}
		if !lim.warmup && n <= markCount {
			flags |= flagMark
		}
		if d.verify {
			fillPayload(out, seq)
		}
		putHeader(out, seq, flags, 0)
		if err = d.conn.Send(d.out); err != nil {
			return n - 1, Now() - start, err
		}
		d.seq++
		if n&d.progressMask == 0 {
			d.progress.Store(n)
		}
		if n&cpuSampleMask == 0 {
			d.cpus.sample()
		}
		if flags&flagAck != 0 {
			if d.lossy {
				err = d.endStreamLossy(seq, n)
			} else {
				err = d.awaitAck(seq)
			}
			if err != nil {
				return n, Now() - start, err
			}
			return n, Now() - start, nil
		}
	}
}

// finish tells the peer the cell is over, waits for its acknowledgement,
// and checks that the peer received every message sent.
func (d *driver) finish() error {
	if d.lossy {
		return d.finishLossy()
	}
	seq := d.seq
	putHeader(d.out[d.h:], seq, flagEnd, 0)
	if err := d.conn.Send(d.out); err != nil {
		return err
	}
	d.seq++
	if err := d.awaitAck(seq); err != nil {
		return err
	}
	if _, _, received := header(d.in[d.h:]); received != int64(seq) {
		return fmt.Errorf("the peer received %d messages, the driver sent %d", received, seq)
	}
	return nil
}

func (d *driver) awaitAck(seq uint64) error {
	if err := d.conn.Recv(d.in); err != nil {
		return err
	}
	got, flags, _ := header(d.in[d.h:])
	if got != seq || flags&flagAck == 0 {
		return fmt.Errorf("driver expected the acknowledgement of message %d, got message %d (flags %#x)", seq, got, flags>>56)
	}
	return nil
}

// peer is the other process's side: it receives every message, checks its
// sequence number (and payload when verifying), echoes it for pingpong, and
// acknowledges what asks for it.
type peer struct {
	conn     ipc.Conn
	frame    []byte
	h        int // the Conn's headroom: frame[h:] is the message
	seq      uint64
	echo     bool
	verify   bool
	oneWay   *Recorder
	received int64 // data messages, control messages excluded
	cpus     cpuSampler
	peerLoss // over a lossy channel (see lossy.go)

	// meter, when set, measures the peer's cost over the measured window:
	// from the first message marked measured to the end of the cell.
	meter          *usageMeter
	costFrom       usage
	marked, costed bool
	cost           window
}

// newPeer makes the peer's side for messages of size bytes over conn, whose
// frames have headroom h; the payload starts offset bytes past a page.
func newPeer(conn ipc.Conn, h, size, offset int, echo, verify bool) *peer {
	return &peer{conn: conn, frame: ipc.NewFrame(h, size, offset), h: h, echo: echo, verify: verify, oneWay: NewRecorder()}
}

// serve runs until the driver ends the cell or something fails.
func (p *peer) serve() error {
	msg := p.frame[p.h:]
	p.cpus.sample()
	for {
		if err := p.conn.Recv(p.frame); err != nil {
			if done, err := p.recvFailed(err); done || err != nil {
				return err
			}
			continue
		}
		p.quiet = 0
		seq, flags, stamp := header(msg)
		var now int64
		if stamp != 0 { // only pingpong stamps: a stream pays no clock read
			now = Now()
		}
		if err := p.checkSeq(seq, flags); err != nil {
			return err
		}
		if p.meter != nil {
			p.meterAt(flags)
		}
		if flags&flagEnd != 0 {
			// The acknowledgement carries how many messages arrived, so the
			// driver can confirm delivery even without a report (remote).
			putHeader(msg, seq, flagAck, p.counts())
			if err := p.conn.Send(p.frame); err != nil || !p.lossy {
				return err
			}
			p.ending = true // and stay, to answer again if this is lost
			continue
		}
		if flags&flagCtl != 0 { // a lossy driver asks again for an acknowledgement
			putHeader(msg, seq, flagAck, p.counts())
			if err := p.conn.Send(p.frame); err != nil {
				return err
			}
			continue
		}
		p.received++
		if p.received&cpuSampleMask == 0 {
			p.cpus.sample()
		}
		if p.verify {
			if err := checkPayload(msg, seq); err != nil {
				return err
			}
		}
		switch {
		case flags&flagAck != 0:
			putHeader(msg, seq, flagAck, p.counts())
			if err := p.conn.Send(p.frame); err != nil {
				return err
			}
		case p.echo:
			// Echo first, record after: the recording is then off the
			// round trip's critical path when the driver runs elsewhere.
			if err := p.conn.Send(p.frame); err != nil {
				return err
			}
			if stamp != 0 {
				p.oneWay.Record(now - stamp)
			}
		}
	}
}

// meterAt opens the peer's cost window at the first measured message and
// closes it at the end of the cell.
func (p *peer) meterAt(flags uint64) {
	switch {
	case flags&flagMark != 0 && !p.marked:
		p.marked = true
		p.costFrom = p.meter.take(p.conn)
	case flags&flagEnd != 0 && p.marked && !p.costed:
		p.costed = true
		p.cost = between(p.meter.scope(), p.costFrom, p.meter.take(p.conn))
	}
}

// isEcho says whether the workload's peer echoes every message.
func isEcho(workload string) bool { return workload == results.PingPong }
