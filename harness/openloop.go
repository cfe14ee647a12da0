package harness

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Open loop (-rate): the driver sends pingpong messages on a fixed schedule
// whatever the echoes do, from one thread, and a second thread receives the
// echoes. Closed loop, the next message waits for the last echo, so a stall
// delays the messages that would have been sent during it and their waiting
// is never measured (coordinated omission). Here each message has an
// intended send time on the schedule; the round trip is recorded twice:
// from the actual send (rtt_ns) and from the intended one
// (rtt_corrected_ns), which carries every stall the sender sat through.
//
// The schedule is absolute (message i is due at start + i/rate, or at a
// Poisson process's i-th arrival), so a late send does not push the rest
// back, and the achieved rate is the offered one as long as the mechanism
// keeps up. The sender never sends early: corrected >= actual, message by
// message.

// Rate is an offered load for open-loop pingpong cells.
type Rate struct {
	// PerS is messages (round trips) per second. When Percent is set,
	// PerS is worked out per cell from its closed-loop warm-up.
	PerS float64
	// Percent, when not 0, is the load as a percentage of the cell's
	// closed-loop maximum, measured in its warm-up.
	Percent float64
}

func (r Rate) String() string {
	if r.Percent > 0 {
		return fmt.Sprintf("%g%%", r.Percent)
	}
	return fmt.Sprintf("%g/s", r.PerS)
}

// minCalibration is the shortest warm-up of a cell whose rate is a
// percentage of its closed-loop maximum, which the warm-up measures.
const minCalibration = 100 * time.Millisecond

// flagLast marks the last message of an open-loop phase.
const flagLast uint64 = 1 << 59

// inflight bounds the messages sent and not yet echoed: the slots that hold
// their send times. A sender that gets this far ahead waits (and falls
// behind its schedule, which the corrected figures then show).
const inflight = 1 << 14

// openLoop is the state of one driver's open-loop phases, allocated before
// the timed loop.
type openLoop struct {
	actual, intended [inflight]atomic.Int64
	echoed           atomic.Int64 // echoes received in the phase
	failed           atomic.Bool  // the receiver stopped with an error
	corrected        *Recorder
	rng              *rand.Rand // Poisson inter-arrival times
	poisson          bool
}

func newOpenLoop(poisson bool, seed uint64) *openLoop {
	return &openLoop{corrected: NewRecorder(), poisson: poisson, rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))}
}

// openPingPong runs one open-loop phase at perS messages per second until
// the limit (counting messages sent), then waits for their echoes. It
// returns the messages sent and the time from the first intended send to
// the last echo. pin, if not nil, places the receiving thread where the
// sending one is (-cpus).
func (d *driver) openPingPong(lim limit, perS float64, raw bool, pin func() (func(), error)) (n, elapsed int64, err error) {
	ol := d.open
	d.lost, d.reordered = 0, 0
	ol.echoed.Store(0)
	ol.failed.Store(false)
	out := d.out[d.h:]
	period := 1e9 / perS
	first := d.seq
	var sent atomic.Int64 // messages of this phase sent; -1 while sending
	sent.Store(-1)
	var wg sync.WaitGroup
	var recvErr error
	var last int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		if raw {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			if pin != nil {
				restore, err := pin()
				if err != nil {
					recvErr = err
					ol.failed.Store(true)
					return
				}
				defer restore()
			}
		}
		last, recvErr = d.receiveEchoes(first, &sent)
		if recvErr != nil {
			ol.failed.Store(true)
		}
	}()

	start := Now() + 50_000 // a little ahead, so message 0 is not already late
	due := float64(start)
	over := func(n int64, due float64) bool {
		return lim.count > 0 && n >= lim.count || lim.count == 0 && int64(due) >= lim.until
	}
	for !ol.failed.Load() && !over(n, due) {
		intended := int64(due)
		next := float64(start) + float64(n+1)*period
		if ol.poisson {
			next = due + ol.rng.ExpFloat64()*period
		}
		// The last message says so, and its echo tells the receiving
		// thread to stop: it cannot be told otherwise while it waits in a
		// blocking Recv.
		var flags uint64
		if over(n+1, next) {
			flags = flagLast
		}
		waitUntil(intended)
		for d.seq-first-uint64(ol.echoed.Load()) >= inflight && !ol.failed.Load() {
			schedYield() // too far ahead of the echoes: wait for room
		}
		seq := d.seq
		slot := seq % inflight
		if d.verify {
			fillPayload(out, seq)
		}
		t0 := Now()
		ol.intended[slot].Store(intended)
		ol.actual[slot].Store(t0)
		if n < markCount {
			flags |= flagMark
		}
		putHeader(out, seq, flags, t0)
		if err = d.conn.Send(d.out); err != nil {
			break
		}
		d.seq++
		n++
		if n&d.progressMask == 0 {
			d.progress.Store(n)
		}
		if n&cpuSampleMask == 0 {
			d.cpus.sample()
		}
		due = next
	}
	sent.Store(n)
	if err != nil {
		// The receiver is blocked on a channel that broke: the watchdog's
		// stop (or the peer's death) wakes it.
		wg.Wait()
		return n, 0, err
	}
	wg.Wait()
	if recvErr != nil {
		return n, 0, recvErr
	}
	return n, last - start, nil
}

// receiveEchoes is the receiving thread: it records each echo's round trip
// from its actual and its intended send time until every message sent has
// come back (or, over a lossy channel, until a receive deadline passes after
// the sender stopped: those not back are lost). It returns the time of the
// last echo.
func (d *driver) receiveEchoes(first uint64, sent *atomic.Int64) (last int64, err error) {
	ol := d.open
	in := d.in[d.h:]
	var got, highest int64
	for {
		if s := sent.Load(); s >= 0 && got >= s {
			return last, nil
		}
		if err := d.conn.Recv(d.in); err != nil {
			if d.lossy && isTimeout(err) {
				if s := sent.Load(); s >= 0 {
					d.lost += s - got
					return last, nil
				}
				continue
			}
			return last, err
		}
		now := Now()
		seq, flags, _ := header(in)
		if seq < first {
			if d.lossy {
				continue // a late echo of an earlier phase
			}
			return last, &SequenceError{Side: "driver", Want: first + uint64(got), Got: seq}
		}
		i := int64(seq - first)
		if !d.lossy && i != got {
			return last, &SequenceError{Side: "driver", Want: first + uint64(got), Got: seq}
		}
		if i < highest {
			d.reordered++
		}
		highest = max(highest, i+1)
		if d.verify {
			if err := checkPayload(in, seq); err != nil {
				return last, err
			}
		}
		slot := seq % inflight
		d.rec.Record(now - ol.actual[slot].Load())
		ol.corrected.Record(now - ol.intended[slot].Load())
		got++
		last = now
		ol.echoed.Store(got)
		if flags&flagLast != 0 {
			if s := sent.Load(); d.lossy && s > got {
				d.lost += s - got
			}
			return last, nil
		}
	}
}

// waitUntil returns once the clock reaches t: it sleeps while there is
// time to spare and yields the CPU for the last stretch, which a sleep
// would overshoot (by tens of microseconds on a VM) and a pure spin would
// take from a peer pinned to the same CPU.
func waitUntil(t int64) {
	const slack = 30_000 // ns left to yield through rather than sleep
	for {
		left := t - Now()
		if left <= 0 {
			return
		}
		if left > 2*slack {
			ts := unix.NsecToTimespec(left - slack)
			unix.Nanosleep(&ts, nil)
			continue
		}
		schedYield()
	}
}

// schedYield gives the CPU to another runnable thread, if any.
func schedYield() { unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0) }
