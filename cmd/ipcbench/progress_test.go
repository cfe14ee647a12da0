package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/results"
)

// fakeClock is the time a progress display sees: tests move it by hand,
// so nothing depends on how fast the machine is.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock           { return &fakeClock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)} }
func testProgress(w *bytes.Buffer, terminal bool, perCell time.Duration, clock *fakeClock) *progress {
	p := newProgress(w, terminal, perCell)
	p.now, p.tick = clock.now, 0
	return p
}

// progressCells is a run of four cells, the third failing.
func progressCells() []harness.CellProgress {
	var cells []harness.CellProgress
	for i, mech := range []string{"pipe", "msgqueue", "unixsocket", "tcpsocket"} {
		r := &results.Result{Mechanism: mech, Workload: results.PingPong, SizeBytes: 64, RTT: &results.Stats{P50: 9000, P99: 30000}}
		if mech == "unixsocket" {
			r = &results.Result{Mechanism: mech, Workload: results.PingPong, SizeBytes: 64, Error: "the peer died"}
		}
		cells = append(cells, harness.CellProgress{Done: i + 1, Total: 4, Mechanism: mech, Workload: results.PingPong, Size: 64, Result: r})
	}
	return cells
}

// feed plays the cells: each starts, takes per of the clock, and ends.
func feed(p *progress, clock *fakeClock, per time.Duration, cells []harness.CellProgress) {
	for _, c := range cells {
		start := c
		start.Done, start.Result = c.Done-1, nil
		p.cell(start)
		clock.add(per)
		p.cell(c)
	}
}

func plainLines(cells []harness.CellProgress) string {
	var b strings.Builder
	for _, c := range cells {
		b.WriteString(c.Line() + "\n")
	}
	return b.String()
}

func TestProgressPlainLines(t *testing.T) {
	for _, tc := range []struct {
		name     string
		terminal bool
		perCell  time.Duration
		took     time.Duration
	}{
		{"not a terminal, long run", false, 10 * time.Second, 10 * time.Second},
		{"terminal, short run", true, 500 * time.Millisecond, 500 * time.Millisecond},
		{"terminal, -count, quick first cell", true, 0, 200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w bytes.Buffer
			clock := newFakeClock()
			p := testProgress(&w, tc.terminal, tc.perCell, clock)
			feed(p, clock, tc.took, progressCells())
			p.finish()
			if got, want := w.String(), plainLines(progressCells()); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestProgressBar(t *testing.T) {
	for _, tc := range []struct {
		name    string
		perCell time.Duration
	}{
		{"planned time", 2 * time.Second},
		{"-count, slow first cell", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w bytes.Buffer
			clock := newFakeClock()
			p := testProgress(&w, true, tc.perCell, clock)
			cells := progressCells()

			feed(p, clock, 2*time.Second, cells[:1])
			if p.mode != progressBar {
				t.Fatalf("a 4-cell run of 2 s cells on a terminal shows mode %d, not a bar", p.mode)
			}
			// Starting the second cell: its name and the time left (3 cells of 2 s).
			second := cells[1]
			second.Done, second.Result = 1, nil
			p.cell(second)
			out := w.String()
			for _, want := range []string{"msgqueue pingpong 64 B", "about 6s left", "(1/4)"} {
				if !strings.Contains(out, want) {
					t.Errorf("the bar lacks %q:\n%q", want, out)
				}
			}
			// Half-way through the cell, the time left has gone down.
			clock.add(time.Second)
			if got := p.describe(clock.now()); !strings.HasPrefix(got, "about 5s left") {
				t.Errorf("1 s into the second cell the bar says %q, want about 5s left", got)
			}
			clock.add(time.Second)
			p.cell(cells[1])
			feed(p, clock, 2*time.Second, cells[2:])
			p.finish()
			out = w.String()

			// The failed cell's line stays; the others are only in the bar.
			if !strings.Contains(out, cells[2].Line()+"\n") {
				t.Errorf("the failed cell's line is not on the screen:\n%q", out)
			}
			for _, c := range []harness.CellProgress{cells[0], cells[1], cells[3]} {
				if strings.Contains(out, c.Line()) {
					t.Errorf("the bar run also printed the plain line %q", c.Line())
				}
			}
			// The bar is cleared at the end: the output ends with a carriage
			// return over blanks, so what follows starts on a clean line.
			if !strings.HasSuffix(out, "\r") || !strings.Contains(out, "\r    ") {
				t.Errorf("the bar is not cleared at the end: %q", out[max(0, len(out)-80):])
			}
		})
	}
}

// An interrupted run leaves no bar behind either.
func TestProgressBarInterrupted(t *testing.T) {
	var w bytes.Buffer
	clock := newFakeClock()
	p := testProgress(&w, true, 2*time.Second, clock)
	cells := progressCells()
	feed(p, clock, 2*time.Second, cells[:2])
	third := cells[2]
	third.Done, third.Result = 2, nil
	p.cell(third)
	p.finish()
	if out := w.String(); !strings.HasSuffix(out, "\r") {
		t.Errorf("the bar of an interrupted run is not cleared: %q", out[max(0, len(out)-80):])
	}
}

func TestExpectedPerCell(t *testing.T) {
	o := harness.Options{Duration: time.Second, Warmup: 100 * time.Millisecond}
	if got, want := expectedPerCell(&o), time.Second+100*time.Millisecond+cellOverhead; got != want {
		t.Errorf("expectedPerCell = %v, want %v", got, want)
	}
	o.Count = 1000
	if got := expectedPerCell(&o); got != 0 {
		t.Errorf("with -count, expectedPerCell = %v, want 0 (unknown)", got)
	}
	var b bytes.Buffer
	if isTerminal(&b) {
		t.Errorf("a buffer is not a terminal")
	}
}
