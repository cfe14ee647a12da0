package harness

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/ipcbench/ipcbench/ipc"
)

// Loss is counted, not fatal, over a Lossy mechanism (udp): a datagram that
// finds the receiver's buffer full is gone, and the cell must go on and say
// how many went. Everything here is off the path of mechanisms that cannot
// lose: their cells still fail on the first gap (SequenceError).
//
//   - Every Recv has a deadline (Config.RecvTimeout) and returns an error
//     that wraps os.ErrDeadlineExceeded (ipc.ErrTimeout) when it passes.
//   - The receiver counts late messages (a sequence number below one it has
//     seen: reordered) instead of failing. Lost messages are not counted by
//     gaps but by difference: what the sender sent less what the receiver
//     received, which also counts those lost at the end.
//   - pingpong gives up on a round trip when its echo does not come within
//     the deadline, counts it lost and sends the next message; an echo that
//     arrives after that is recognised by its sequence number, counted
//     reordered and dropped.
//   - stream asks for an acknowledgement at the end of a phase, which carries
//     how many data messages the peer has received and how many of them came
//     late (packCounts). A lost request or answer is asked for again with a
//     control message (flagCtl) until Options.Timeout.
//   - The end of the cell (flagEnd) is retried the same way, and the peer
//     stays a while after answering it (lingerTimeouts), to answer again if
//     its answer was lost.

// LossyRecvTimeout is the receive deadline of a lossy mechanism for
// messages of size bytes (Config.RecvTimeout): 10 ms, far above a loopback
// round trip, or 20 ns per byte (50 MB/s) for large messages, whose echo
// takes its time. A late echo is not mistaken for a later one: it is
// counted reordered, and its round trip lost.
func LossyRecvTimeout(size int) time.Duration {
	return max(10*time.Millisecond, time.Duration(size)*20*time.Nanosecond)
}

// lossState is the driver's bookkeeping over a lossy channel, per phase.
type lossState struct {
	lossy bool
	// patience bounds the retries of one acknowledgement (Options.Timeout).
	patience time.Duration
	// lost and reordered count the current phase's messages.
	lost, reordered int64
	// ackedReceived and ackedReordered are the peer's counts in the last
	// acknowledgement accepted: where the next stream phase starts from.
	ackedReceived, ackedReordered int64
}

// flagCtl marks a control message that is not data: the peer does not count
// or verify it. A lossy driver sends it with flagAck to ask again for an
// acknowledgement whose request or answer was lost.
const flagCtl uint64 = 1 << 61

// An acknowledgement's stamp carries the peer's counts: data messages
// received in the low countBits bits, of them received late above (capped).
const (
	countBits    = 40
	countMask    = 1<<countBits - 1
	maxReordered = 1<<(63-countBits) - 1
)

func packCounts(received, reordered int64) int64 {
	return received&countMask | min(reordered, maxReordered)<<countBits
}

func unpackCounts(stamp int64) (received, reordered int64) {
	return stamp & countMask, stamp >> countBits
}

// isTimeout reports whether a Recv gave up at its deadline.
func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// awaitEcho receives the echo of message seq. Over a lossy channel it drops
// late echoes of earlier messages (counting them reordered) and gives up at
// the receive deadline: ok is then false, and the round trip counted lost.
func (d *driver) awaitEcho(seq uint64) (ok bool, err error) {
	for {
		if err := d.conn.Recv(d.in); err != nil {
			if d.lossy && isTimeout(err) {
				d.lost++
				return false, nil
			}
			return false, err
		}
		got, _, _ := header(d.in[d.h:])
		switch {
		case got == seq:
			return true, nil
		case d.lossy && got < seq:
			d.reordered++
			continue
		}
		return false, &SequenceError{Side: "driver", Want: seq, Got: got}
	}
}

// awaitAckLossy waits for the acknowledgement of any message from first
// on, which the driver sent asking for one; after each receive deadline it
// asks again with a new message of retry's flags (flagAck|flagCtl, or
// flagEnd). It returns the peer's counts.
func (d *driver) awaitAckLossy(first, retry uint64) (received, reordered int64, err error) {
	deadline := time.Now().Add(d.patience)
	for {
		err := d.conn.Recv(d.in)
		if err == nil {
			got, flags, stamp := header(d.in[d.h:])
			switch {
			case flags&flagAck != 0 && got >= first && got < d.seq:
				received, reordered = unpackCounts(stamp)
				d.ackedReceived, d.ackedReordered = received, reordered
				return received, reordered, nil
			case got < first:
				continue // a late echo or acknowledgement of an earlier message
			}
			return 0, 0, fmt.Errorf("driver expected an acknowledgement of message %d or later, got message %d (flags %#x)", first, got, flags>>56)
		}
		if !isTimeout(err) {
			return 0, 0, err
		}
		if time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("the peer did not acknowledge message %d within %v (-timeout), asked again after every receive timeout", first, d.patience)
		}
		putHeader(d.out[d.h:], d.seq, retry, 0)
		if err := d.conn.Send(d.out); err != nil {
			return 0, 0, err
		}
		d.seq++
	}
}

// endStreamLossy ends a stream phase of n data messages whose last, seq,
// asked for an acknowledgement: the phase's lost and reordered messages are
// what the acknowledgement says less what the one before it did.
func (d *driver) endStreamLossy(seq uint64, n int64) error {
	fromReceived, fromReordered := d.ackedReceived, d.ackedReordered
	received, reordered, err := d.awaitAckLossy(seq, flagAck|flagCtl)
	if err != nil {
		return err
	}
	// Late messages of an earlier phase could make it negative.
	d.lost = max(n-(received-fromReceived), 0)
	d.reordered = reordered - fromReordered
	return nil
}

// finishLossy ends the cell over a lossy channel: the end message is sent
// again until it is acknowledged. The phases have counted their losses.
func (d *driver) finishLossy() error {
	first := d.seq
	putHeader(d.out[d.h:], first, flagEnd, 0)
	if err := d.conn.Send(d.out); err != nil {
		return err
	}
	d.seq++
	_, _, err := d.awaitAckLossy(first, flagEnd)
	if errors.Is(err, ipc.ErrClosed) {
		// Only a peer that acknowledged the end leaves without an error
		// (which its report would carry): its answers were lost.
		return nil
	}
	return err
}

// lingerTimeouts is how many receive deadlines in a row a lossy peer waits,
// after it has acknowledged the end, before it leaves: long enough to
// answer the driver again if its acknowledgement was lost (the driver asks
// again after one deadline).
const lingerTimeouts = 5

// peerLoss is the peer's bookkeeping over a lossy channel.
type peerLoss struct {
	lossy     bool
	reordered int64 // data messages that arrived after a later one
	ending    bool  // the end was acknowledged: leave when the driver is quiet
	quiet     int   // receive deadlines passed in a row since then
}

// recvFailed decides what a failed Recv means for a lossy peer: done (the
// cell is over), go on (a deadline passed: wait again), or the error.
func (p *peer) recvFailed(err error) (done bool, _ error) {
	if !p.lossy {
		return false, err
	}
	if isTimeout(err) {
		if p.ending {
			p.quiet++
			return p.quiet >= lingerTimeouts, nil
		}
		return false, nil
	}
	if p.ending {
		return true, nil // the driver closed the channel after the end
	}
	return false, err
}

// checkSeq checks a message's sequence number: any gap fails a cell over
// a mechanism that cannot lose; over a lossy one a late data message is
// counted and a gap skipped (lost messages are counted by the driver).
func (p *peer) checkSeq(seq, flags uint64) error {
	switch {
	case seq == p.seq:
		p.seq++
	case !p.lossy:
		return &SequenceError{Side: "peer", Want: p.seq, Got: seq}
	case seq < p.seq:
		if isData(flags) {
			p.reordered++
		}
	default:
		p.seq = seq + 1
	}
	return nil
}

// isData reports whether a message is data, which the peer counts and
// verifies, rather than a control message (the end, an ack asked again).
func isData(flags uint64) bool { return flags&(flagEnd|flagCtl) == 0 }

// counts is what an acknowledgement carries (see packCounts).
func (p *peer) counts() int64 { return packCounts(p.received, p.reordered) }
