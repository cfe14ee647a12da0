package harness

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ipcbench/ipcbench/internal/host"
	"github.com/ipcbench/ipcbench/internal/remote"
	"github.com/ipcbench/ipcbench/internal/units"
	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/results"
)

// cell is one measurement: a mechanism, a workload and a size, in one round.
type cell struct {
	t        ipc.Transport
	workload string
	size     int
	round    int
	clients  int  // server and connect workloads only
	rate     Rate // open-loop pingpong (-rate); zero: closed loop
	offset   int  // payload placement, bytes past a page boundary
}

func (c cell) String() string {
	return fmt.Sprintf("%s %s %s", c.t.Name(), c.workload, sizeString(c.size))
}

// pair is one driver/peer pair of a cell.
type pair struct {
	l        ipc.Listener
	peer     *peerProc
	d        *driver
	n        int64
	elapsed  int64
	err      error
	cost     window      // what the driver's measured window cost it
	offered  float64     // an open-loop cell's rate, messages per second
	finished atomic.Bool // the driver has ended the cell with its peer
	// lost and reordered are the measured phase's, over a lossy channel.
	lost, reordered int64
}

// runCell measures one cell and returns its row; a cell that cannot run
// returns a row with Error set. Everything the cell created is gone when it
// returns: queues, socket files, peer processes.
//
// Every step that waits on a peer has a deadline of o.Timeout, and
// cancelling ctx ends whichever step the cell is in at once: the guard kills
// the peers and closes the channels, which wakes every wait.
func (o *Options) runCell(ctx context.Context, c cell) results.Result {
	if isServerWorkload(c.workload) {
		return o.runServerCell(ctx, c)
	}
	res := results.Result{Mechanism: c.t.Name(), Workload: c.workload, SizeBytes: c.size, Round: c.round, PayloadOffset: c.offset}
	cfg := ipc.Config{Size: c.size, Offset: c.offset, IO: o.IO, Timeout: o.Timeout, Remote: o.Remote}
	caps := c.t.Caps(cfg)
	res.Pieces, res.Note = describe(caps, cfg)
	if caps.Err != nil {
		res.Error = caps.Err.Error()
		return res
	}
	if caps.Lossy {
		cfg.RecvTimeout = LossyRecvTimeout(c.size)
	}
	g := &guard{}
	defer context.AfterFunc(ctx, func() { g.stop(errInterrupted) })()
	pairs, err := o.startPairs(c, cfg, caps, g)
	defer closePairs(pairs)
	if err == nil {
		err = o.measure(ctx, c, pairs, g)
	}
	if err == nil {
		err = o.collect(c, pairs, &res)
	}
	if err != nil {
		if why := g.reason(); why != nil {
			err = why // the cause, rather than what it broke
		}
		res.Error = err.Error()
		awaitSharedInterrupt(ctx, pairs)
	}
	return res
}

// awaitSharedInterrupt gives the driver's own signal handling a moment
// when a peer died of a signal that stops a terminal's job. Peers run in
// their own process group, but a peer forked an instant before Ctrl-C is
// still in the driver's until it calls setpgid, and dies with the driver's
// SIGINT. The driver got the same signal: once its handler has cancelled
// ctx, Run drops the cell as interrupted instead of keeping a row that
// blames the peer. A peer sent the signal alone costs its cell a second.
func awaitSharedInterrupt(ctx context.Context, pairs []*pair) {
	for _, p := range pairs {
		if p.peer == nil || !p.peer.hasExited() {
			continue
		}
		switch p.peer.killedBy() {
		case syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT:
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			return
		}
	}
}

var errInterrupted = errors.New("interrupted")

// guard ends a cell from outside the goroutines that run it: it kills the
// peers and closes the listeners, which wakes every wait of the cell (the
// control pipe, Accept, a Send or Recv on the channel: a pipe or socket
// whose other end is gone, a removed System V queue). Pairs are added as
// soon as they exist, so an interrupt during start-up finds them too.
type guard struct {
	mu    sync.Mutex
	pairs []*pair
	why   error // why the cell was stopped, nil while it runs
}

// add puts a pair under the guard, and stops it at once if the cell has
// been stopped already.
func (g *guard) add(p *pair) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pairs = append(g.pairs, p)
	if g.why != nil {
		p.l.Close()
	}
}

// setPeer records a pair's peer process, and kills it at once if the cell
// has been stopped already.
func (g *guard) setPeer(p *pair, peer *peerProc) {
	g.mu.Lock()
	defer g.mu.Unlock()
	p.peer = peer
	if g.why != nil {
		peer.cmd.Process.Kill()
	}
}

// stop ends the cell for the reason why, unless it was stopped already,
// and returns the reason that counts: the first.
func (g *guard) stop(why error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.why != nil {
		return g.why
	}
	g.why = why
	for _, p := range g.pairs {
		if p.peer != nil {
			p.peer.cmd.Process.Kill() // reaped by its own goroutine
		}
		p.l.Close()
	}
	return why
}

// reason is why the cell was stopped, or nil.
func (g *guard) reason() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.why
}

// startPairs creates the channels and starts one peer per pair. An error
// says which pair failed when there are several, and which limit to raise
// when one was in the way (see explainLimit).
func (o *Options) startPairs(c cell, cfg ipc.Config, caps ipc.Caps, g *guard) ([]*pair, error) {
	var pairs []*pair
	for i := 0; i < o.Pairs; i++ {
		if why := g.reason(); why != nil {
			return pairs, why
		}
		if _, err := o.startPair(c, cfg, caps, g, &pairs); err != nil {
			err = explainLimit(err)
			if o.Pairs > 1 {
				err = fmt.Errorf("pair %d of %d: %w", i+1, o.Pairs, err)
			}
			return pairs, err
		}
	}
	return pairs, nil
}

// startPair creates one pair's channel, starts its peer and connects,
// adding the pair to pairs (and the guard) as soon as it exists, so that
// whatever it created is closed even when a later step fails.
func (o *Options) startPair(c cell, cfg ipc.Config, caps ipc.Caps, g *guard, pairs *[]*pair) (*pair, error) {
	if o.Remote != "" {
		return o.startRemotePair(c, cfg, g, pairs)
	}
	l, err := c.t.Listen(cfg)
	if err != nil {
		return nil, err
	}
	p := &pair{l: l}
	*pairs = append(*pairs, p)
	g.add(p)
	ep := l.Endpoint()
	spec := peerSpec{
		Mechanism: c.t.Name(), Workload: c.workload, Size: c.size, IO: o.IO,
		TimeoutNS: int64(o.Timeout), Addr: ep.Addr, NFiles: len(ep.Files),
		CPU: -1, Verify: o.Verify, Offset: cfg.Offset, Piece: piece(caps, cfg),
		RecvTimeoutNS: int64(cfg.RecvTimeout),
	}
	if len(o.CPUs) == 2 {
		spec.CPU = o.CPUs[1]
	}
	peer, err := startPeer(spec, ep.Files)
	for _, f := range ep.Files {
		f.Close() // the peer has its own copies
	}
	if err != nil {
		return p, err
	}
	g.setPeer(p, peer)
	ready, err := peer.awaitReady(o.Timeout)
	if err != nil {
		return p, err
	}
	conn, err := l.Accept(time.Now().Add(o.Timeout))
	if err != nil {
		return p, fmt.Errorf("%s: the peer started but the channel did not connect: %w", c.t.Name(), err)
	}
	p.d = newDriver(splitFor(conn, caps, spec.Piece), caps.Headroom, c.size, cfg.Offset, o.Verify)
	p.d.lossy, p.d.patience = caps.Lossy, o.Timeout
	return p, checkPlacement(cfg.Offset, p.d, ready)
}

// checkPlacement checks that both sides' message buffers put the payload
// where the cell asked: the driver's two frames, read back from their
// addresses, and the peer's, as its ready report says.
func checkPlacement(offset int, d *driver, ready *peerReport) error {
	for _, side := range []struct {
		name string
		got  int
	}{
		{"the driver's outgoing", ipc.PayloadOffset(d.out, d.h)},
		{"the driver's incoming", ipc.PayloadOffset(d.in, d.h)},
		{"the peer's", peerOffset(ready)},
	} {
		if side.got != offset {
			return fmt.Errorf("%s payload starts %d bytes past a page, not the %d asked for (-offset)", side.name, side.got, offset)
		}
	}
	return nil
}

// peerOffset is where the peer says its payload starts, -1 when it did not say.
func peerOffset(r *peerReport) int {
	if r == nil || r.PayloadOffset == nil {
		return -1
	}
	return *r.PayloadOffset
}

// describe is what a cell's row says about how the mechanism carries its
// messages: the mechanism's own note, the pieces a message is split into,
// and that an io mode without a path of its own runs the raw one.
func describe(caps ipc.Caps, cfg ipc.Config) (pieces int, note string) {
	var notes []string
	if caps.Note != "" {
		notes = append(notes, caps.Note)
	}
	if n := caps.Pieces(cfg.Size); n > 1 && caps.Err == nil {
		pieces = n
		of := "of"
		if cfg.Size%caps.MaxMessage != 0 {
			of = "of up to"
		}
		notes = append(notes, fmt.Sprintf("split into %d pieces %s %d B (%s %d)", n, of, caps.MaxMessage, caps.MaxMessageLimit, caps.MaxMessage))
	}
	if !caps.HasIOMode(cfg.IO) {
		raw := caps.RawPath
		if raw == "" {
			raw = "the raw path"
		}
		notes = append(notes, fmt.Sprintf("no poller path: %s in both io modes", raw))
	}
	return pieces, strings.Join(notes, "; ")
}

// piece is the size of the pieces a message of cfg.Size is split into, or 0
// when it is carried whole. The driver decides and tells the peer, so that
// both sides split alike.
func piece(caps ipc.Caps, cfg ipc.Config) int {
	if caps.Pieces(cfg.Size) > 1 {
		return caps.MaxMessage
	}
	return 0
}

// split wraps conn to carry messages in pieces of piece bytes (0: whole).
func split(conn ipc.Conn, headroom, piece int) ipc.Conn {
	if piece < 1 {
		return conn
	}
	return ipc.Split(conn, headroom, piece)
}

// splitFor is split for the mechanism caps describes: over a lossy one,
// every piece carries a header that lets the receiver drop a message that
// lost a piece and find the next (ipc.SplitLossy).
func splitFor(conn ipc.Conn, caps ipc.Caps, piece int) ipc.Conn {
	if caps.Lossy && piece > 0 {
		return ipc.SplitLossy(conn, caps.Headroom, piece)
	}
	return split(conn, caps.Headroom, piece)
}

// startRemotePair opens a session with the `ipcbench serve` at o.Remote,
// which stands where a local pair has a Listener and a peer process.
func (o *Options) startRemotePair(c cell, cfg ipc.Config, g *guard, pairs *[]*pair) (*pair, error) {
	h := remote.Hello{Version: remote.ProtocolVersion, Workload: c.workload, Verify: o.Verify, Size: c.size}
	s, _, err := dialRemote(o.Remote, h, o.IO, o.Timeout)
	if err != nil {
		return nil, err
	}
	p := &pair{l: s, d: newDriver(s.Conn, 0, c.size, cfg.Offset, o.Verify)}
	*pairs = append(*pairs, p)
	g.add(p)
	return p, nil
}

// closePairs removes everything the pairs created and reaps their peers.
func closePairs(pairs []*pair) {
	for _, p := range pairs {
		if p.d != nil {
			p.d.conn.Close()
		}
		p.l.Close()
		if p.peer != nil {
			p.peer.kill()
		}
	}
}

// measure runs the workload on every pair at once, under a watchdog that
// ends the cell when a peer dies, stops answering for o.Timeout, or the run
// is interrupted.
func (o *Options) measure(ctx context.Context, c cell, pairs []*pair, g *guard) error {
	if o.IO == ipc.IORaw {
		// Every pair's Send and Recv skip the runtime's syscall bookkeeping
		// until they have all returned (see ipc.Unmanaged). A closed-loop
		// pair makes its calls on one thread, an open-loop pair on two.
		threads := len(pairs)
		if c.rate != (Rate{}) {
			threads *= 2
		}
		defer ipc.Unmanaged(threads)()
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, p := range pairs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.err = o.drive(c, p, start)
		}()
	}
	done := make(chan struct{})
	watched := make(chan error, 1)
	go func() { watched <- o.watch(ctx, pairs, g, done) }()
	close(start)
	wg.Wait()
	close(done)
	reason := <-watched
	for _, p := range pairs {
		if p.err == nil {
			continue
		}
		if reason != nil {
			return reason
		}
		if p.peer == nil {
			return fmt.Errorf("the server at %s ended the session (its log says why): %w", o.Remote, p.err)
		}
		// A peer that died explains a broken channel better than the
		// channel's own error does.
		if p.peer.wait(time.Second) {
			return p.peer.deathError()
		}
		return p.err
	}
	return nil
}

// drive is one pair's measuring goroutine: warm up, measure, end the cell.
func (o *Options) drive(c cell, p *pair, start <-chan struct{}) error {
	if o.IO == ipc.IORaw {
		// The measuring thread gets a descriptor table of its own, as a
		// single-threaded C program has (see host.PrivateFiles), and then
		// ends with this goroutine, which returns locked: no other
		// goroutine may run on it. Peers are started from another thread
		// (see spawn), so that this one's end does not kill them. Where a
		// sandbox forbids it, the thread shares the table and is given back.
		runtime.LockOSThread()
		if host.PrivateFiles() != nil {
			defer runtime.UnlockOSThread()
		}
		if len(o.CPUs) == 2 {
			restore, err := host.PinThread(o.CPUs[0])
			if err != nil {
				return err
			}
			defer restore()
		}
	}
	if c.rate != (Rate{}) && p.d.open == nil {
		p.d.open = newOpenLoop(o.Poisson, uint64(o.Seed)+uint64(c.round))
	}
	// With IOGo, Run has pinned the whole driver process (see host.PinProcess).
	<-start
	run := p.d.stream
	if c.workload == results.PingPong {
		run = p.d.pingpong
	}
	warmup := o.Warmup
	p.offered = c.rate.PerS
	if c.rate.Percent > 0 {
		warmup = max(warmup, minCalibration) // the closed-loop maximum is measured in it
	}
	if warmup > 0 {
		n, elapsed, err := run(limit{until: Now() + int64(warmup), warmup: true})
		if err != nil {
			return err
		}
		p.d.rec.Reset()
		if c.rate.Percent > 0 && elapsed > 0 {
			p.offered = c.rate.Percent / 100 * float64(n) / (float64(elapsed) / 1e9)
		}
	}
	if open := c.rate != (Rate{}); open {
		pin := func() (func(), error) { return host.PinThread(o.CPUs[0]) }
		if len(o.CPUs) != 2 {
			pin = nil
		}
		raw := o.IO == ipc.IORaw
		run = func(lim limit) (int64, int64, error) {
			if p.offered <= 0 {
				return 0, 0, fmt.Errorf("no closed-loop round trip in the %v warm-up to take %v of", warmup, c.rate)
			}
			return p.d.openPingPong(lim, p.offered, raw, pin)
		}
	}
	p.d.cpus.reset() // where it measured, not where it warmed up
	p.d.cpus.sample()
	lim := limit{count: o.Count}
	if o.Count == 0 {
		lim.until = Now() + int64(o.Duration)
	}
	// An open-loop driver receives on a second thread: only the process
	// counts both.
	meter := newUsageMeter(o.IO == ipc.IORaw && c.rate == (Rate{}))
	defer meter.close()
	from := meter.take(p.d.conn)
	var err error
	p.n, p.elapsed, err = run(lim)
	if err != nil {
		return err
	}
	p.lost, p.reordered = p.d.lost, p.d.reordered
	p.cost = between(meter.scope(), from, meter.take(p.d.conn))
	if err := p.d.finish(); err != nil {
		return err
	}
	p.finished.Store(true)
	return nil
}

// watch is the cell's watchdog. It returns why it ended the cell, or nil
// when the cell ended by itself (done closed).
func (o *Options) watch(ctx context.Context, pairs []*pair, g *guard, done <-chan struct{}) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last int64 = -1
	lastChange := time.Now()
	for {
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return g.stop(errInterrupted)
		case <-tick.C:
		}
		var sum int64
		var quit *pair
		for _, p := range pairs {
			sum += p.d.progress.Load()
			if p.finished.Load() {
				sum++ // a finished pair counts as progress; its peer may exit
				continue
			}
			if p.peer == nil {
				continue // a remote session: a dead server shows as a broken connection
			}
			if p.peer.hasExited() {
				if p.peer.waitErr != nil {
					return g.stop(p.peer.deathError())
				}
				// A clean exit is what a peer does once it has
				// acknowledged the end of the cell, which its driver
				// may not have read yet (with many pairs on few CPUs,
				// for a while). The driver finishes, fails on the
				// closed channel, or stalls; only then is the exit
				// the explanation.
				quit = p
			}
		}
		if sum != last {
			last, lastChange = sum, time.Now()
		} else if time.Since(lastChange) > o.Timeout {
			if quit != nil {
				return g.stop(quit.peer.deathError())
			}
			return g.stop(o.stallError(pairs))
		}
	}
}

// stallError says that the cell made no progress for o.Timeout, with what
// the peers that had not finished wrote on stderr, which may say why.
func (o *Options) stallError(pairs []*pair) error {
	var said string
	for _, p := range pairs {
		if !p.finished.Load() && p.peer != nil {
			if said = p.peer.stderrSuffix(); said != "" {
				break
			}
		}
	}
	return fmt.Errorf("the peer stopped answering for %v (-timeout)%s", o.Timeout, said)
}

// collect reads every peer's final report, checks that it exited cleanly,
// and fills in the row's figures.
func (o *Options) collect(c cell, pairs []*pair, res *results.Result) error {
	rtt, oneWay, corrected := NewRecorder(), NewRecorder(), NewRecorder()
	var maxElapsed int64
	var placements []string
	var seen results.CPUsSeen
	var driverCost, peerCost window
	var peerCosted int
	for _, p := range pairs {
		// A remote session has no report: the server's end acknowledgement
		// already confirmed every message, and its clock is not ours, so
		// there is no one-way delay, and no placement either.
		var peerCPUs []int
		if p.peer != nil {
			rep, err := p.peer.finalReport(o.Timeout, oneWay)
			if err != nil {
				return err
			}
			peerCPUs = rep.CPUs
			if rep.Cost != nil {
				peerCost.add(*rep.Cost)
				peerCosted++
			}
		}
		driverCPUs := p.d.cpus.cpus()
		placements = append(placements, placementOf(driverCPUs, peerCPUs))
		seen.Driver, seen.Peer = unionCPUs(seen.Driver, driverCPUs), unionCPUs(seen.Peer, peerCPUs)
		driverCost.add(p.cost)
		rtt.Merge(p.d.rec)
		if p.d.open != nil {
			corrected.Merge(p.d.open.corrected)
			res.Rate += p.offered
		}
		res.Messages += p.n
		maxElapsed = max(maxElapsed, p.elapsed)
		if p.elapsed > 0 {
			// Only delivered messages count (all of them but over a lossy
			// mechanism).
			res.MsgsPerS += float64(p.n-p.lost) / (float64(p.elapsed) / 1e9)
		}
		if p.d.lossy {
			if res.Lost == nil {
				res.Lost, res.Reordered = new(int64), new(int64)
			}
			*res.Lost += p.lost
			*res.Reordered += p.reordered
		}
	}
	res.ElapsedNS = maxElapsed
	// A peer's cost counts only when every peer measured its window (a
	// lossy channel can lose all the marks of one); remote sessions have none.
	cost := &results.Cost{Driver: driverCost.perMessage(res.Messages)}
	if peerCosted == len(pairs) {
		cost.Peer = peerCost.perMessage(res.Messages)
	}
	if cost.Driver != nil || cost.Peer != nil {
		res.Cost = cost
	}
	res.BytesPerS = res.MsgsPerS * float64(c.size)
	if res.Placement = combinePlacements(placements); res.Placement != "" {
		res.CPUsSeen = &seen
	}
	if c.rate != (Rate{}) {
		res.RatePercent = c.rate.Percent
		res.RTTCorrected = corrected.Stats()
		if res.Rate > 0 && res.MsgsPerS < 0.95*res.Rate {
			res.Note = joinNotes(res.Note, fmt.Sprintf("offered %s round trips/s, achieved %s (%.0f%%): the mechanism or the machine did not keep up, so the queue and the corrected latencies grew",
				units.Count(res.Rate), units.Count(res.MsgsPerS), 100*res.MsgsPerS/res.Rate))
		}
	}
	if c.workload == results.PingPong {
		res.RTT = rtt.Stats()
		res.OneWay = oneWay.Stats()
		if h, err := rtt.Encode(); err == nil && res.RTT != nil {
			res.RTTHistogram = h
		}
	}
	return nil
}
