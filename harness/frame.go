package harness

import (
	"encoding/binary"
	"fmt"
)

// Every message starts with a header that the receiver checks, so that a
// lost, duplicated, reordered or short message fails the cell instead of
// quietly counting:
//
//	bytes 0-7   sequence number, with the control flags in the top byte
//	bytes 8-15  the driver's send time (Now), 0 when not stamped
//
// The rest of the message is payload.
const HeaderSize = 16

// MinSize is the smallest message ipcbench measures: the header. Smaller
// messages could not carry their sequence number and send time.
const MinSize = HeaderSize

// MaxSize is the largest message ipcbench measures. Each side holds two
// buffers of this size per pair, so it bounds memory.
const MaxSize = 64 << 20

// MaxDriverBuffers bounds the message buffers of all pairs of a cell in the
// driver: pairs x 2 frames x the largest size.
const MaxDriverBuffers = 2 << 30

const (
	// flagAck asks the peer to answer with an acknowledgement. The stream
	// workload sets it on the last message of a phase.
	flagAck uint64 = 1 << 63
	// flagEnd asks the peer to acknowledge and stop: the cell is over.
	flagEnd uint64 = 1 << 62
	// seqMask keeps the sequence number out of the flag bits.
	seqMask uint64 = 1<<56 - 1
)

// putHeader writes the header of msg (a frame past its headroom).
func putHeader(msg []byte, seq, flags uint64, stamp int64) {
	binary.LittleEndian.PutUint64(msg[0:8], seq&seqMask|flags)
	binary.LittleEndian.PutUint64(msg[8:16], uint64(stamp))
}

// header reads the header of msg.
func header(msg []byte) (seq, flags uint64, stamp int64) {
	w := binary.LittleEndian.Uint64(msg[0:8])
	return w & seqMask, w &^ seqMask, int64(binary.LittleEndian.Uint64(msg[8:16]))
}

// SequenceError is a message that did not arrive in order.
type SequenceError struct {
	Side      string // "driver" or "peer"
	Want, Got uint64
}

func (e *SequenceError) Error() string {
	switch {
	case e.Got < e.Want:
		return fmt.Sprintf("%s received message %d again or out of order (expected %d)", e.Side, e.Got, e.Want)
	default:
		return fmt.Sprintf("%s received message %d, expected %d: %d message(s) lost or reordered", e.Side, e.Got, e.Want, e.Got-e.Want)
	}
}

// fillPayload writes a pattern that depends on the sequence number, so a
// stale or misplaced buffer cannot pass verification.
func fillPayload(msg []byte, seq uint64) {
	b := byte(seq*131 + 7)
	for i := HeaderSize; i < len(msg); i++ {
		msg[i] = b + byte(i)
	}
}

// checkPayload verifies a pattern written by fillPayload.
func checkPayload(msg []byte, seq uint64) error {
	b := byte(seq*131 + 7)
	for i := HeaderSize; i < len(msg); i++ {
		if msg[i] != b+byte(i) {
			return fmt.Errorf("message %d is corrupt at byte %d of %d", seq, i, len(msg))
		}
	}
	return nil
}
