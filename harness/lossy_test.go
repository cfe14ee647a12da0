package harness

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/ipc"
)

// action is what a lossyLink does with one message.
type action int

const (
	pass action = iota
	drop
	hold // deliver after the next message that passes: reordered
)

// lossyLink is one direction of an in-memory lossy channel: filter decides
// the fate of the i-th message sent (from 0).
//
// Timeouts are deterministic, not timed: when a message the driver would
// wait for (an echo or acknowledgement, or a request for one) is dropped or
// held, the link puts a timeout token (nil) on the driver's link, so the
// driver's Recv gives up exactly then and never because the machine is slow.
type lossyLink struct {
	ch     chan []byte
	mu     sync.Mutex
	n      int
	held   []byte
	filter func(i int, msg []byte) action
	// wake is the driver's link, and awaited says whether the driver waits
	// for an answer to msg (or for msg itself, on the driver's link).
	wake    *lossyLink
	awaited func(msg []byte) bool
}

func newLink(filter func(i int, msg []byte) action) *lossyLink {
	return &lossyLink{ch: make(chan []byte, 1<<16), filter: filter}
}

func (l *lossyLink) send(msg []byte) {
	l.mu.Lock()
	i := l.n
	l.n++
	a := pass
	if l.filter != nil {
		a = l.filter(i, msg)
	}
	c := append([]byte(nil), msg...)
	switch a {
	case drop:
	case hold:
		l.held = c
	default:
		l.ch <- c
		if l.held != nil {
			l.ch <- l.held
			l.held = nil
		}
	}
	l.mu.Unlock()
	if a != pass && l.wake != nil && l.awaited(msg) {
		l.wake.ch <- nil
	}
}

// lossyConn is one side: it sends on out and receives from in, giving up
// at a timeout token as a Lossy mechanism's Conn does at its deadline.
type lossyConn struct {
	out, in *lossyLink
}

func (c *lossyConn) Send(frame []byte) error {
	c.out.send(frame[testHeadroom:])
	return nil
}

func (c *lossyConn) Recv(frame []byte) error {
	select {
	case m, ok := <-c.in.ch:
		switch {
		case !ok:
			return ipc.ErrClosed
		case m == nil:
			return fmt.Errorf("lossy test conn: %w", os.ErrDeadlineExceeded)
		case len(m) != len(frame)-testHeadroom:
			return fmt.Errorf("a message of %d bytes where %d were expected", len(m), len(frame)-testHeadroom)
		}
		copy(frame[testHeadroom:], m)
		return nil
	case <-time.After(time.Minute):
		return errors.New("lossy test conn: nothing came for a minute")
	}
}

func (c *lossyConn) Close() error { return nil }

// lossyPair runs a lossy peer over the two links and returns the driver and
// the peer's result.
func lossyPair(t *testing.T, size int, echo bool, toPeer, toDriver *lossyLink) (*driver, *peer, <-chan error) {
	t.Helper()
	toPeer.wake, toPeer.awaited = toDriver, func(msg []byte) bool {
		_, flags, _ := header(msg)
		return echo || flags&(flagAck|flagEnd|flagCtl) != 0
	}
	toDriver.wake, toDriver.awaited = toDriver, func([]byte) bool { return true }
	d := newDriver(&lossyConn{out: toPeer, in: toDriver}, testHeadroom, size, 0, true)
	d.lossy, d.patience = true, 10*time.Second
	p := newPeer(&lossyConn{out: toDriver, in: toPeer}, testHeadroom, size, 0, echo, true)
	p.lossy = true
	done := make(chan error, 1)
	go func() { done <- p.serve() }()
	t.Cleanup(func() {
		defer func() { recover() }() // closed already
		close(toPeer.ch)
	})
	return d, p, done
}

// dataSeq is the sequence number of a data message, or -1 for a control one.
func dataSeq(msg []byte) int {
	seq, flags, _ := header(msg)
	if !isData(flags) {
		return -1
	}
	return int(seq)
}

// finishPair ends the cell and closes the driver's side, as the harness
// does, which ends the lingering peer.
func finishPair(t *testing.T, d *driver, done <-chan error) {
	t.Helper()
	if err := d.finish(); err != nil {
		t.Fatalf("finish: %v", err)
	}
	close(d.conn.(*lossyConn).out.ch)
	if err := <-done; err != nil {
		t.Fatalf("peer: %v", err)
	}
}

// A pingpong whose message, or whose echo, is dropped completes with that
// round trip counted lost; an echo that comes late is dropped by its
// sequence number, not taken for the current one.
func TestLossyPingPong(t *testing.T) {
	for _, tt := range []struct {
		name                      string
		toPeer, toDriver          func(i int, msg []byte) action
		wantLost, wantReordered   int64
		wantRecorded, wantMessage int64
	}{
		{"message dropped", func(i int, _ []byte) action {
			if i == 5 {
				return drop
			}
			return pass
		}, nil, 1, 0, 99, 100},
		{"echo dropped", nil, func(i int, _ []byte) action {
			if i == 7 {
				return drop
			}
			return pass
		}, 1, 0, 99, 100},
		{"echo late", nil, func(i int, _ []byte) action {
			if i == 7 {
				return hold
			}
			return pass
		}, 1, 1, 99, 100},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, _, done := lossyPair(t, 64, true, newLink(tt.toPeer), newLink(tt.toDriver))
			n, _, err := d.pingpong(limit{count: 100})
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.wantMessage || d.lost != tt.wantLost || d.reordered != tt.wantReordered || d.rec.Count() != tt.wantRecorded {
				t.Errorf("n=%d lost=%d reordered=%d recorded=%d, want %d, %d, %d, %d",
					n, d.lost, d.reordered, d.rec.Count(), tt.wantMessage, tt.wantLost, tt.wantReordered, tt.wantRecorded)
			}
			finishPair(t, d, done)
		})
	}
}

// A stream counts what the peer did not receive, and late messages; the
// acknowledgement at the end of a phase, or its request, or the end of the
// cell, may be lost too and is asked for again.
func TestLossyStream(t *testing.T) {
	const count = 1000
	dropData := func(seqs ...int) func(int, []byte) action {
		return func(_ int, msg []byte) action {
			for _, s := range seqs {
				if dataSeq(msg) == s {
					return drop
				}
			}
			return pass
		}
	}
	dropNth := func(ns ...int) func(int, []byte) action {
		return func(i int, _ []byte) action {
			for _, n := range ns {
				if i == n {
					return drop
				}
			}
			return pass
		}
	}
	for _, tt := range []struct {
		name                    string
		toPeer, toDriver        func(i int, msg []byte) action
		wantLost, wantReordered int64
	}{
		{"none lost", nil, nil, 0, 0},
		{"ten lost", dropData(3, 100, 101, 102, 500, 600, 700, 800, 900, 998), nil, 10, 0},
		{"reordered", func(i int, msg []byte) action {
			if dataSeq(msg) == 10 {
				return hold
			}
			return pass
		}, nil, 0, 1},
		{"ack request lost", dropData(count - 1), nil, 1, 0},
		{"ack lost", nil, dropNth(0), 0, 0},
		{"ack lost twice", nil, dropNth(0, 1), 0, 0},
		{"end lost", dropNth(count), nil, 0, 0},
		{"end's ack lost", nil, dropNth(1), 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, _, done := lossyPair(t, 64, false, newLink(tt.toPeer), newLink(tt.toDriver))
			n, _, err := d.stream(limit{count: count})
			if err != nil {
				t.Fatal(err)
			}
			if n != count || d.lost != tt.wantLost || d.reordered != tt.wantReordered {
				t.Errorf("n=%d lost=%d reordered=%d, want %d, %d, %d", n, d.lost, d.reordered, count, tt.wantLost, tt.wantReordered)
			}
			finishPair(t, d, done)
		})
	}
}

// The counts are per phase: a warm-up's losses do not count in the
// measured phase.
func TestLossyStreamPhases(t *testing.T) {
	toPeer := newLink(func(_ int, msg []byte) action {
		if s := dataSeq(msg); s == 5 || s == 6 || s == 150 {
			return drop
		}
		return pass
	})
	d, _, done := lossyPair(t, 64, false, toPeer, newLink(nil))
	if _, _, err := d.stream(limit{count: 100}); err != nil || d.lost != 2 {
		t.Fatalf("warm-up: lost %d, %v; want 2", d.lost, err)
	}
	n, _, err := d.stream(limit{count: 100})
	if err != nil || n != 100 || d.lost != 1 {
		t.Fatalf("measured: n=%d lost=%d, %v; want 100, 1", n, d.lost, err)
	}
	finishPair(t, d, done)
}

func TestPackCounts(t *testing.T) {
	for _, c := range [][2]int64{{0, 0}, {1, 0}, {12345678901, 77}, {countMask, maxReordered}} {
		if r, o := unpackCounts(packCounts(c[0], c[1])); r != c[0] || o != c[1] {
			t.Errorf("packCounts(%d, %d) reads back as %d, %d", c[0], c[1], r, o)
		}
	}
	if _, o := unpackCounts(packCounts(5, maxReordered+10)); o != maxReordered {
		t.Errorf("reordered does not saturate: %d", o)
	}
	if packCounts(42, 0) != 42 {
		t.Error("with nothing reordered the stamp is not the received count, which the end check reads")
	}
}

// Over a mechanism that cannot lose, a gap still fails the cell.
func TestReliablePeerStillFailsOnAGap(t *testing.T) {
	toPeer := newLink(func(_ int, msg []byte) action {
		if dataSeq(msg) == 3 {
			return drop
		}
		return pass
	})
	d := newDriver(&lossyConn{out: toPeer, in: newLink(nil)}, testHeadroom, 64, 0, false)
	p := newPeer(&lossyConn{out: newLink(nil), in: toPeer}, testHeadroom, 64, 0, false, false)
	for range 5 {
		putHeader(d.out[testHeadroom:], d.seq, 0, 0)
		d.conn.Send(d.out)
		d.seq++
	}
	err := p.serve()
	if se, ok := err.(*SequenceError); !ok || se.Want != 3 || se.Got != 4 {
		t.Errorf("a reliable peer over a gap: %v, want a SequenceError for 3", err)
	}
}

// The lossy paths run in the timed loop too.
func TestLossyLoopsDoNotAllocate(t *testing.T) {
	d := newEchoDriver(4096, true)
	d.lossy, d.patience = true, time.Second
	if a := testing.AllocsPerRun(20, func() {
		if _, _, err := d.pingpong(limit{count: 100}); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("lossy pingpong allocates %v times per 100 round trips", a)
	}
	if a := testing.AllocsPerRun(20, func() {
		if _, _, err := d.stream(limit{count: 100}); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("lossy stream allocates %v times per 100 messages", a)
	}
}
