package harness

import (
	"testing"
	"time"
)

// queueConn is an in-memory Conn whose echoes come back in order through a
// queue, so that its Send and Recv can run at once in two goroutines, as
// an open-loop driver runs them. stallAt, when not 0, makes the Send of the
// message with that sequence number take stall.
type queueConn struct {
	size    int
	q       chan []byte
	stallAt uint64
	stall   time.Duration
}

func newQueueConn(size int) *queueConn {
	return &queueConn{size: size, q: make(chan []byte, inflight)}
}

func (c *queueConn) Send(frame []byte) error {
	if seq, _, _ := header(frame[testHeadroom:]); c.stallAt != 0 && seq == c.stallAt {
		time.Sleep(c.stall)
	}
	c.q <- append([]byte(nil), frame[testHeadroom:]...)
	return nil
}

func (c *queueConn) Recv(frame []byte) error {
	copy(frame[testHeadroom:], <-c.q)
	return nil
}

func (c *queueConn) Close() error { return nil }

func newOpenDriver(c *queueConn) *driver {
	d := newDriver(c, testHeadroom, c.size, 0, true)
	d.open = newOpenLoop(false, 1)
	return d
}

// TestOpenLoopCorrectedIsNeverBelowActual: the sender never sends before a
// message's intended time, so measured from the intended time every round
// trip is at least as long as from the actual send, at every percentile.
func TestOpenLoopCorrectedIsNeverBelowActual(t *testing.T) {
	for _, poisson := range []bool{false, true} {
		c := newQueueConn(64)
		d := newOpenDriver(c)
		d.open.poisson = poisson
		n, elapsed, err := d.openPingPong(limit{count: 300}, 20000, false, nil)
		if err != nil || n != 300 || elapsed <= 0 {
			t.Fatalf("poisson=%v: n=%d elapsed=%d err=%v", poisson, n, elapsed, err)
		}
		actual, corrected := d.rec.Stats(), d.open.corrected.Stats()
		if actual.N != 300 || corrected.N != 300 {
			t.Fatalf("poisson=%v: recorded %d and %d round trips, want 300 each", poisson, actual.N, corrected.N)
		}
		pairs := [][2]int64{{actual.Min, corrected.Min}, {actual.P50, corrected.P50}, {actual.P90, corrected.P90},
			{actual.P99, corrected.P99}, {actual.P999, corrected.P999}, {actual.Max, corrected.Max}}
		for i, p := range pairs {
			if p[1] < p[0] {
				t.Errorf("poisson=%v: statistic %d: corrected %d ns below actual %d ns", poisson, i, p[1], p[0])
			}
		}
	}
}

// TestOpenLoopCorrectedCarriesAStall injects one stall in the sender: one
// Send that takes 60 ms, at 2000 messages a second. Measured from the
// actual send, only the stalled message is slow (the ~120 messages due
// during the stall are sent late and come back at once); from the
// intended time, every one of them waited out the stall.
func TestOpenLoopCorrectedCarriesAStall(t *testing.T) {
	c := newQueueConn(64)
	c.stallAt, c.stall = 100, 60*time.Millisecond
	d := newOpenDriver(c)
	if _, _, err := d.openPingPong(limit{count: 400}, 2000, false, nil); err != nil {
		t.Fatal(err)
	}
	const slow = 20 * time.Millisecond
	countAbove := func(r *Recorder) int64 {
		var n int64
		for _, b := range r.h.Distribution() {
			if b.From >= int64(slow) {
				n += b.Count
			}
		}
		return n
	}
	a, k := countAbove(d.rec), countAbove(d.open.corrected)
	// Messages due in the first 40 ms of the stall waited at least 20 ms
	// past their time: about 80 of them.
	if k < 60 {
		t.Errorf("corrected: %d round trips of %v or more, want at least 60 (the messages due during the stall)", k, slow)
	}
	if a >= k/4 {
		t.Errorf("actual: %d round trips of %v or more against %d corrected: the uncorrected figure should hide the stall", a, slow, k)
	}
	if d.open.corrected.Stats().Max < int64(c.stall) {
		t.Errorf("corrected max %v, want at least the stall's %v", time.Duration(d.open.corrected.Stats().Max), c.stall)
	}
}
