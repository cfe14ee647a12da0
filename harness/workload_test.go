package harness

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/ipc"
)

// testHeadroom is the headroom of the test Conns' frames: some, so that a
// loop that ignores it shows.
const testHeadroom = 8

// echoConn is an in-memory Conn whose Recv returns the last message sent,
// as a perfect peer would echo it. It does not allocate either, so the
// loops' own allocations are what AllocsPerRun counts.
type echoConn struct {
	last []byte
	drop uint64 // when non-zero, the echo carries this sequence number instead
}

func (c *echoConn) Send(frame []byte) error {
	copy(c.last, frame[testHeadroom:])
	return nil
}

func (c *echoConn) Recv(frame []byte) error {
	copy(frame[testHeadroom:], c.last)
	if c.drop != 0 {
		seq, flags, stamp := header(frame[testHeadroom:])
		if seq == c.drop {
			putHeader(frame[testHeadroom:], seq+1, flags, stamp)
		}
	}
	return nil
}

func (c *echoConn) Close() error { return nil }

func newEchoDriver(size int, verify bool) *driver {
	return newDriver(&echoConn{last: make([]byte, size)}, testHeadroom, size, 0, verify)
}

func TestTimedLoopsDoNotAllocate(t *testing.T) {
	for _, verify := range []bool{false, true} {
		d := newEchoDriver(4096, verify)
		if a := testing.AllocsPerRun(20, func() {
			if _, _, err := d.pingpong(limit{count: 100}); err != nil {
				t.Fatal(err)
			}
		}); a != 0 {
			t.Errorf("pingpong (verify=%v) allocates %v times per 100 round trips", verify, a)
		}
		if a := testing.AllocsPerRun(20, func() {
			if _, _, err := d.stream(limit{count: 100}); err != nil {
				t.Fatal(err)
			}
		}); a != 0 {
			t.Errorf("stream (verify=%v) allocates %v times per 100 messages", verify, a)
		}
		if a := testing.AllocsPerRun(20, func() {
			if _, _, err := d.pingpong(limit{until: Now() + 100_000}); err != nil {
				t.Fatal(err)
			}
		}); a != 0 {
			t.Errorf("pingpong by duration allocates %v times", a)
		}
	}
}

func TestPingPongCountsAndRecords(t *testing.T) {
	d := newEchoDriver(64, true)
	n, elapsed, err := d.pingpong(limit{count: 500})
	if err != nil || n != 500 || elapsed <= 0 {
		t.Fatalf("n=%d elapsed=%d err=%v", n, elapsed, err)
	}
	if d.rec.Count() != 500 {
		t.Errorf("recorded %d round trips, want 500", d.rec.Count())
	}
	n, _, err = d.stream(limit{count: 1})
	if err != nil || n != 1 {
		t.Fatalf("stream of one message: n=%d err=%v", n, err)
	}
}

func TestLostMessageFailsTheCell(t *testing.T) {
	d := newDriver(&echoConn{last: make([]byte, 64), drop: 7}, testHeadroom, 64, 0, false)
	_, _, err := d.pingpong(limit{count: 100})
	var se *SequenceError
	if !errors.As(err, &se) || se.Want != 7 || se.Got != 8 {
		t.Fatalf("want a sequence error at message 7, got %v", err)
	}
}

func TestPeerChecksOrderAndPayload(t *testing.T) {
	p := newPeer(&scriptConn{}, testHeadroom, 64, 0, true, true)
	conn := p.conn.(*scriptConn)
	msg := make([]byte, 64)
	for seq := uint64(0); seq < 3; seq++ {
		fillPayload(msg, seq)
		putHeader(msg, seq, 0, Now())
		conn.in = append(conn.in, append([]byte(nil), msg...))
	}
	fillPayload(msg, 4) // message 3 is missing
	putHeader(msg, 4, 0, 0)
	conn.in = append(conn.in, append([]byte(nil), msg...))
	err := p.serve()
	var se *SequenceError
	if !errors.As(err, &se) || se.Want != 3 || se.Got != 4 {
		t.Fatalf("want a sequence error (3 lost), got %v", err)
	}
	if p.received != 3 || len(conn.out) != 3 || p.oneWay.Count() != 3 {
		t.Errorf("received %d, echoed %d, one-way %d; want 3 each", p.received, len(conn.out), p.oneWay.Count())
	}

	p = newPeer(&scriptConn{}, testHeadroom, 64, 0, false, true)
	conn = p.conn.(*scriptConn)
	fillPayload(msg, 0)
	putHeader(msg, 0, 0, 0)
	msg[40] ^= 1
	conn.in = append(conn.in, append([]byte(nil), msg...))
	if err := p.serve(); err == nil || !strings.Contains(err.Error(), "corrupt at byte 40") {
		t.Fatalf("want a corrupt payload error, got %v", err)
	}
}

// scriptConn replays scripted messages and keeps what is sent.
type scriptConn struct {
	in, out [][]byte
}

func (c *scriptConn) Send(frame []byte) error {
	c.out = append(c.out, append([]byte(nil), frame[testHeadroom:]...))
	return nil
}

func (c *scriptConn) Recv(frame []byte) error {
	if len(c.in) == 0 {
		return ipc.ErrClosed
	}
	copy(frame[testHeadroom:], c.in[0])
	c.in = c.in[1:]
	return nil
}

func (c *scriptConn) Close() error { return nil }

func TestRecorderStats(t *testing.T) {
	r := NewRecorder()
	for v := int64(1); v <= 1000; v++ {
		r.Record(v * 1000)
	}
	s := r.Stats()
	if s.Min != 1000 || s.Max != 1_000_000 || s.Mean != 500_500 {
		t.Errorf("exact figures wrong: %+v", *s)
	}
	if want := 288_675.0; math.Abs(s.Stddev-want)/want > 0.001 {
		t.Errorf("stddev %v, want about %v", s.Stddev, want)
	}
	for _, c := range []struct {
		name      string
		got, want int64
	}{{"p50", s.P50, 500_000}, {"p90", s.P90, 900_000}, {"p99", s.P99, 990_000}, {"p99.9", s.P999, 999_000}} {
		if math.Abs(float64(c.got-c.want))/float64(c.want) > 0.001 {
			t.Errorf("%s = %d, want %d within 0.1%%", c.name, c.got, c.want)
		}
	}
	other := NewRecorder()
	other.Record(1)
	other.Record(5_000_000_000_000) // above the histogram's range: clamped there, exact max kept
	r.Merge(other)
	if s := r.Stats(); s.Min != 1 || s.Max != 5_000_000_000_000 || r.Count() != 1002 {
		t.Errorf("merge: %+v, count %d", *s, r.Count())
	}
	b, err := r.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	back := NewRecorder()
	if err := back.UnmarshalJSON(b); err != nil {
		t.Fatal(err)
	}
	if *back.Stats() != *r.Stats() {
		t.Errorf("a recorder sent over the control pipe changed: %+v != %+v", *back.Stats(), *r.Stats())
	}
	if NewRecorder().Stats() != nil {
		t.Error("an empty recorder should have no stats")
	}
}

func TestParseSizes(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []int
		err  string
	}{
		{"64", []int{64}, ""},
		{"64,4K,64K,1M", []int{64, 4096, 65536, 1 << 20}, ""},
		{"1k, 2KiB,3kib,1MiB,1mb", nil, `"1mb" is not a size`},
		{"1k, 2KiB,3kib,1MiB", []int{1024, 2048, 3072, 1 << 20}, ""},
		{"4K,64,4096", []int{64, 4096}, ""},
		{"16", []int{16}, ""},
		{"64M", []int{64 << 20}, ""},
		{"0", nil, "not positive"},
		{"-5", nil, "not positive"},
		{"15", nil, "below the minimum"},
		{"12Q", nil, "not a size"},
		{"K", nil, "not a size"},
		{"", nil, "empty size"},
		{"64,", nil, "empty size"},
		{"64G", nil, "above the maximum"},
		{"65M", nil, "above the maximum"},
		{"9223372036854775807K", nil, "larger than the maximum"},
		{"1.5K", nil, "not a size"},
	} {
		got, err := ParseSizes(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseSizes(%q) = %v, %v; want error containing %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || !equalInts(got, c.want) {
			t.Errorf("ParseSizes(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func FuzzParseSizes(f *testing.F) {
	for _, s := range []string{"64", "64,4K,1M", "12Q", "-1", "9999999999G", "1KiB, 2k"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sizes, err := ParseSizes(s)
		if err != nil {
			return
		}
		for i, n := range sizes {
			if n < MinSize || n > MaxSize || (i > 0 && n <= sizes[i-1]) {
				t.Fatalf("ParseSizes(%q) = %v: out of range or not sorted", s, sizes)
			}
		}
	})
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestHeaderRoundTrip(t *testing.T) {
	msg := make([]byte, HeaderSize)
	putHeader(msg, 12345, flagAck, -7)
	seq, flags, stamp := header(msg)
	if seq != 12345 || flags != flagAck || stamp != -7 {
		t.Fatalf("got %d %#x %d", seq, flags, stamp)
	}
}

// TestLargeMessagesReportEveryMessage: the watchdog must see progress after
// every large message, or a few slow ones could pass for a stalled peer.
func TestLargeMessagesReportEveryMessage(t *testing.T) {
	for _, c := range []struct{ size, count, want int }{{64, 20, 16}, {64 << 10, 3, 3}} {
		d := newEchoDriver(c.size, false)
		if _, _, err := d.stream(limit{count: int64(c.count)}); err != nil {
			t.Fatal(err)
		}
		if got := d.progress.Load(); got != int64(c.want) {
			t.Errorf("%d-byte messages: progress %d after %d messages, want %d", c.size, got, c.count, c.want)
		}
	}
}

// TestPercentilesWithinMinMax records values whose HDR buckets reach above
// them: the histogram's highest equivalent value of a bucket can exceed the
// largest value recorded, and a p99.9 above max was once reported. Every
// percentile must lie within [min, max], and n count the samples.
func TestPercentilesWithinMinMax(t *testing.T) {
	for _, values := range [][]int64{
		{1_000_001},
		{999_999, 1_000_001, 1_000_003},
		{5, 7_654_321, 7_654_322},
		{3_600_000_000_001}, // above the histogram's range
	} {
		r := NewRecorder()
		for _, v := range values {
			r.Record(v)
		}
		s := r.Stats()
		if s.N != int64(len(values)) {
			t.Errorf("%v: n = %d, want %d", values, s.N, len(values))
		}
		for _, p := range []struct {
			name string
			v    int64
		}{{"p50", s.P50}, {"p90", s.P90}, {"p99", s.P99}, {"p99.9", s.P999}} {
			if p.v < s.Min || p.v > s.Max {
				t.Errorf("%v: %s = %d, outside [min %d, max %d]", values, p.name, p.v, s.Min, s.Max)
			}
		}
	}
}
