package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/ipcbench/ipcbench/harness"
)

// How a run shows its progress on stderr is decided here, not in the
// harness, which only reports each cell: a person at a terminal watching a
// long run gets a bar with the current cell and the time left; a log, a
// pipe, a CI job or a short run gets one plain line per cell, which reads
// well after the fact; -q gets nothing.

const (
	// barAfter is how long a run must be expected to take before it gets
	// a bar: a run of a few seconds is over before a bar says anything a
	// few lines would not.
	barAfter = 3 * time.Second
	// cellOverhead is what a cell costs beyond its warm-up and measuring
	// time (starting the peer process, setting up the channel), for the
	// time a run is expected to take.
	cellOverhead = 50 * time.Millisecond
	// barTick is how often the bar is redrawn between cells, so the
	// elapsed time and the time left move during a long cell.
	barTick = time.Second
)

// progress shows a run's progress. Its cell method is the harness's
// Options.Progress; finish must be called when the run returns, ended or
// interrupted, before anything else is written to stderr.
type progress struct {
	w        io.Writer
	terminal bool
	// perCell is the time a cell is expected to take, or 0 when the run
	// counts messages and the time is known only once a cell has ended.
	perCell time.Duration
	now     func() time.Time
	tick    time.Duration // 0: no redraw between cells (tests)

	mu      sync.Mutex
	mode    int // progressUndecided, progressLines or progressBar
	start   time.Time
	lastEnd time.Time
	done    int
	total   int
	name    string
	bar     *progressbar.ProgressBar
	stop    chan struct{}
	stopped chan struct{}
}

const (
	progressUndecided = iota
	progressLines
	progressBar
)

// newProgress shows progress on w, with a bar when terminal says w is a
// terminal and the run is long enough.
func newProgress(w io.Writer, terminal bool, perCell time.Duration) *progress {
	return &progress{w: w, terminal: terminal, perCell: perCell, now: time.Now, tick: barTick}
}

// isTerminal reports whether w is a terminal a bar can be drawn on.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// expectedPerCell is the time a cell of o is expected to take, or 0 when
// o counts messages, whose time is not known in advance.
func expectedPerCell(o *harness.Options) time.Duration {
	if o.Count > 0 {
		return 0
	}
	return o.Warmup + o.Duration + cellOverhead
}

// cell is told about each cell as it starts and as it ends.
func (p *progress) cell(c harness.CellProgress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if p.start.IsZero() {
		p.start, p.lastEnd, p.total = now, now, c.Total
	}
	if p.mode == progressUndecided {
		p.decide(c, now)
	}
	p.name = c.Name()
	if c.Total != p.total {
		// Adaptive rounds add cells as they go.
		p.total = c.Total
		if p.bar != nil {
			p.bar.ChangeMax(c.Total)
		}
	}
	if c.Result != nil {
		p.done, p.lastEnd = c.Done, now
	}
	switch p.mode {
	case progressLines:
		if c.Result != nil {
			fmt.Fprintln(p.w, c.Line())
		}
	case progressBar:
		if c.Result != nil && c.Result.Failed() {
			// A failure stays on the screen, above the bar.
			_ = p.bar.Clear()
			fmt.Fprintln(p.w, c.Line())
		}
		p.bar.Describe(p.describe(now))
		if c.Result != nil {
			_ = p.bar.Set(c.Done)
		}
	}
}

// decide picks lines or a bar once the run's length can be told: at the
// first cell when the time per cell is known, at the end of the first
// cell otherwise (nothing is shown while that first cell runs).
func (p *progress) decide(c harness.CellProgress, now time.Time) {
	if !p.terminal {
		p.mode = progressLines
		return
	}
	var expected time.Duration
	switch {
	case p.perCell > 0:
		expected = p.perCell * time.Duration(c.Total)
	case c.Result != nil && c.Done > 0:
		expected = now.Sub(p.start) * time.Duration(c.Total) / time.Duration(c.Done)
	default:
		return
	}
	if expected <= barAfter {
		p.mode = progressLines
		return
	}
	p.mode = progressBar
	p.bar = progressbar.NewOptions(c.Total,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionFullWidth(),
		progressbar.OptionShowCount(),
		progressbar.OptionSetElapsedTime(true),
		// The time left is worked out here, from the planned time per
		// cell, and goes in the description: the bar's own guess knows
		// only finished cells and says 0s until the first ends.
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionClearOnFinish(),
	)
	if p.tick > 0 {
		p.stop, p.stopped = make(chan struct{}), make(chan struct{})
		go p.redraw()
	}
}

// describe is the bar's text: the time left and the cell being measured.
func (p *progress) describe(now time.Time) string {
	left := "unknown"
	perCell := p.perCell
	if p.done > 0 {
		perCell = p.lastEnd.Sub(p.start) / time.Duration(p.done)
	}
	if perCell > 0 {
		// The cell under way has used some of its time already.
		d := perCell*time.Duration(p.total-p.done) - now.Sub(p.lastEnd)
		left = "about " + max(d, 0).Round(time.Second).String()
	}
	return fmt.Sprintf("%s left  %s", left, p.name)
}

// redraw refreshes the bar every tick until finish.
func (p *progress) redraw() {
	defer close(p.stopped)
	t := time.NewTicker(p.tick)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			if p.done < p.total {
				p.bar.Describe(p.describe(p.now()))
			}
			p.mu.Unlock()
		}
	}
}

// finish removes the bar, whether the run ended or was interrupted, so the
// table and messages that follow start on a clean line.
func (p *progress) finish() {
	if p.stop != nil {
		close(p.stop)
		<-p.stopped
		p.stop = nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Clear()
		_ = p.bar.Exit()
		p.bar = nil
	}
}
