package harness

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ipcbench/ipcbench/ipc"
	"golang.org/x/sys/unix"

	"github.com/ipcbench/ipcbench/internal/cacheline"
	"github.com/ipcbench/ipcbench/internal/host"
)

// The peer is this same binary, run again with peerEnv set to its orders.
// Its descriptors: 3 is the control pipe from the driver (the peer never
// reads anything from it: end of file means the driver is gone), 4 the
// control pipe to the driver (one JSON line when ready, one with the peer's
// report at the end), and 5 on the mechanism's own (Endpoint.Files).
const (
	peerEnv   = "IPCBENCH_PEER"
	fdCtrlIn  = 3
	fdCtrlOut = 4
	// exitDriverGone is how a peer ends when its driver has gone away.
	exitDriverGone = 3
	fdFirstExtra   = 5
)

// peerSpec is what the driver tells a peer.
type peerSpec struct {
	Mechanism string     `json:"mechanism"`
	Workload  string     `json:"workload"`
	Size      int        `json:"size"`
	IO        ipc.IOMode `json:"io"`
	TimeoutNS int64      `json:"timeout_ns"`
	Addr      string     `json:"addr"`
	NFiles    int        `json:"nfiles"`
	CPU       int        `json:"cpu"` // -1: not pinned
	Verify    bool       `json:"verify"`
	// Offset is where the payload starts past a page (ipc.Config.Offset);
	// Piece the size of the pieces the driver splits messages into, 0 for
	// whole messages: the peer splits alike.
	Offset int `json:"offset,omitempty"`
	Piece  int `json:"piece,omitempty"`
	// RecvTimeoutNS is ipc.Config.RecvTimeout, for a lossy mechanism.
	RecvTimeoutNS int64 `json:"recv_timeout_ns,omitempty"`

	// A client of the server and connect workloads (Role roleClient) is
	// client Client of Clients; it measures itself, for Count messages or
	// DurationNS after WarmupNS, once the driver says start.
	Role       string `json:"role,omitempty"`
	Client     int    `json:"client,omitempty"`
	Clients    int    `json:"clients,omitempty"`
	Count      int64  `json:"count,omitempty"`
	DurationNS int64  `json:"duration_ns,omitempty"`
	WarmupNS   int64  `json:"warmup_ns,omitempty"`
}

// peerReport is a line the peer sends on its control pipe.
type peerReport struct {
	Ready    bool      `json:"ready,omitempty"`
	Done     bool      `json:"done,omitempty"`
	Received int64     `json:"received,omitempty"`
	OneWay   *Recorder `json:"one_way,omitempty"`
	CPUs     []int     `json:"cpus,omitempty"` // the CPUs the peer's measuring thread was seen on
	Cost     *window   `json:"cost,omitempty"` // what the measured window cost the peer
	// PayloadOffset, in the ready report, is where the peer's message
	// buffer puts the payload past a page, read back from its address.
	PayloadOffset *int   `json:"payload_offset,omitempty"`
	Error         string `json:"error,omitempty"`
	// A client's figures: its round trips (or transactions) in ElapsedNS,
	// their times, and connect(2)'s alone (connect workload).
	ElapsedNS int64     `json:"elapsed_ns,omitempty"`
	RTT       *Recorder `json:"rtt,omitempty"`
	Connect   *Recorder `json:"connect,omitempty"`
	// Lost and Reordered are a lossy client's round trips given up on and
	// echoes that came late, in the measured phase.
	Lost      int64 `json:"lost,omitempty"`
	Reordered int64 `json:"reordered,omitempty"`
}

// MaybeRunPeer turns this process into a peer if the driver started it as
// one, and then never returns. Otherwise it returns at once. main, and every
// TestMain of a package whose tests start peers, must call it first, with
// every mechanism the driver may ask for. It also serves the child process
// that measures the cache-line floor (internal/cacheline).
func MaybeRunPeer(transports []ipc.Transport) {
	cacheline.MaybeRunChild()
	spec := os.Getenv(peerEnv)
	if spec == "" {
		return
	}
	os.Unsetenv(peerEnv) // nothing the peer starts is a peer
	os.Exit(runPeer(spec, transports))
}

// runPeer is the peer process's whole life; its result is the exit status.
func runPeer(specJSON string, transports []ipc.Transport) int {
	ctrlIn := os.NewFile(fdCtrlIn, "control-in")
	ctrlOut := os.NewFile(fdCtrlOut, "control-out")
	if ctrlIn == nil || ctrlOut == nil {
		fmt.Fprintln(os.Stderr, "ipcbench peer: started without its control pipes")
		return 2
	}
	// When the driver goes away, even killed, its end of the control pipe
	// closes: the peer must not outlive it. The first byte the driver
	// writes on it tells a client to start.
	start := make(chan struct{})
	go func() {
		var b [1]byte
		if n, _ := ctrlIn.Read(b[:]); n == 1 {
			close(start)
		}
		io.Copy(io.Discard, ctrlIn)
		os.Exit(exitDriverGone)
	}()
	fail := func(err error) int {
		// A failure is most often the driver going away, killed even: then
		// the report cannot be delivered, and writing to stderr (a pipe to
		// the driver too) would kill this process with SIGPIPE. The report
		// goes first, so the peer ends the same way whichever of the
		// channel and the control pipe noticed first.
		if rerr := json.NewEncoder(ctrlOut).Encode(peerReport{Error: err.Error()}); errors.Is(rerr, unix.EPIPE) {
			return exitDriverGone
		}
		fmt.Fprintf(os.Stderr, "ipcbench peer: %v\n", err)
		return 1
	}

	var spec peerSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		return fail(fmt.Errorf("bad orders from the driver: %w", err))
	}
	var t ipc.Transport
	for _, c := range transports {
		if c.Name() == spec.Mechanism {
			t = c
		}
	}
	if t == nil {
		return fail(fmt.Errorf("this binary has no mechanism %q", spec.Mechanism))
	}
	cfg := ipc.Config{Size: spec.Size, Offset: spec.Offset, IO: spec.IO, Timeout: time.Duration(spec.TimeoutNS),
		RecvTimeout: time.Duration(spec.RecvTimeoutNS)}
	caps := t.Caps(cfg)
	if caps.Err != nil {
		return fail(caps.Err)
	}
	ep := ipc.Endpoint{Addr: spec.Addr}
	for i := 0; i < spec.NFiles; i++ {
		f, err := ipc.InheritedFile(uintptr(fdFirstExtra+i), fmt.Sprintf("%s-%d", spec.Mechanism, i), spec.IO)
		if err != nil {
			return fail(err)
		}
		ep.Files = append(ep.Files, f)
	}

	// The peer's measuring side runs on this goroutine, locked to its
	// thread in raw mode, where pinning binds that thread; with IOGo the
	// whole process is pinned (see host.PinProcess). The process exits when the
	// cell ends, so neither is undone.
	if spec.IO == ipc.IORaw {
		runtime.LockOSThread()
		// For the peer's whole life, which is one cell, its Send and Recv
		// skip the runtime's syscall bookkeeping (see ipc.Unmanaged) on
		// this one thread: the collector is off, and the control pipe's
		// goroutine still has a P.
		defer ipc.Unmanaged(1)()
	}
	if spec.CPU >= 0 {
		pin := host.PinThread
		if spec.IO == ipc.IOGo {
			pin = host.PinProcess
		}
		if _, err := pin(spec.CPU); err != nil {
			return fail(err)
		}
	}
	if spec.Role == roleClient {
		enc := json.NewEncoder(ctrlOut)
		rep, err := runClient(spec, t, ep, cfg, func() error { return enc.Encode(peerReport{Ready: true}) }, start)
		if err != nil {
			return fail(err)
		}
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(os.Stderr, "ipcbench peer: sending the report: %v\n", err)
			return 1
		}
		return 0
	}
	conn, err := t.Dial(ep, cfg)
	if err != nil {
		return fail(fmt.Errorf("%s: joining the driver's channel: %w", spec.Mechanism, explainLimit(err)))
	}
	defer conn.Close()
	if spec.IO == ipc.IORaw {
		// As the driver's measuring thread (see drive); this thread is the
		// process's main one and ends with it. Only the control pipe's
		// goroutine runs elsewhere, on descriptors both tables hold.
		host.PrivateFiles()
	}
	p := newPeer(splitFor(conn, caps, spec.Piece), caps.Headroom, spec.Size, spec.Offset, isEcho(spec.Workload), spec.Verify)
	p.lossy = caps.Lossy
	p.meter = newUsageMeter(spec.IO == ipc.IORaw) // on the measuring thread, locked above in raw mode
	defer p.meter.close()
	enc := json.NewEncoder(ctrlOut)
	placed := ipc.PayloadOffset(p.frame, p.h)
	if err := enc.Encode(peerReport{Ready: true, PayloadOffset: &placed}); err != nil {
		return fail(err)
	}
	if err := p.serve(); err != nil {
		return fail(err)
	}
	rep := peerReport{Done: true, Received: p.received, CPUs: p.cpus.cpus()}
	if p.costed {
		rep.Cost = &p.cost
	}
	if p.oneWay.Count() > 0 {
		rep.OneWay = p.oneWay
	}
	if err := enc.Encode(rep); err != nil {
		fmt.Fprintf(os.Stderr, "ipcbench peer: sending the report: %v\n", err)
		return 1
	}
	return 0
}

// peerProc is the driver's handle on one running peer.
type peerProc struct {
	cmd     *exec.Cmd
	ctrlOut *os.File // closing it tells the peer to go
	ctrlIn  *os.File
	reports *bufio.Reader
	stderr  *stderrBuffer
	exited  chan struct{} // closed once the peer has been reaped
	waitErr error         // valid after exited is closed
}

// startPeer runs this binary again as a peer with the given orders and the
// channel's descriptors. It returns as soon as the process runs, so that
// whoever may have to end the cell (the cell's guard) can kill it while it
// starts; awaitReady then waits until it has joined the channel.
func startPeer(spec peerSpec, files []*os.File) (*peerProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cannot find this program to start the peer: %w", err)
	}
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	downR, downW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	upR, upW, err := os.Pipe()
	if err != nil {
		downR.Close()
		downW.Close()
		return nil, err
	}
	p := &peerProc{
		ctrlOut: downW,
		ctrlIn:  upR,
		reports: bufio.NewReader(upR),
		stderr:  &stderrBuffer{max: 4096},
		exited:  make(chan struct{}),
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), peerEnv+"="+string(specJSON))
	cmd.ExtraFiles = append([]*os.File{downR, upW}, files...)
	cmd.Stderr = p.stderr
	// Wait also waits for the copy of the peer's stderr, which lasts as long
	// as anything holds the pipe; it must not outlast the peer by much.
	cmd.WaitDelay = time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Belt and braces with the control pipe: the kernel kills the peer
		// if the thread that started it dies (a thread, not the process:
		// see spawn).
		Pdeathsig: syscall.SIGKILL,
		// A process group of its own: Ctrl-C in a terminal signals the
		// whole foreground group, and a peer killed by it would race the
		// driver's orderly stop and turn the cell into a failed row. The
		// driver alone gets the signal and ends its peers itself.
		Setpgid: true,
	}
	p.cmd = cmd
	err = spawn(cmd)
	// The peer has its copies now (or never will): close the driver's.
	downR.Close()
	upW.Close()
	if err != nil {
		downW.Close()
		upR.Close()
		return nil, fmt.Errorf("cannot start the peer process: %w", err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// awaitReady waits at most timeout for the peer to say it has joined the
// channel.
func (p *peerProc) awaitReady(timeout time.Duration) (*peerReport, error) {
	rep, err := p.report("say it was ready", timeout)
	if err != nil {
		return nil, err
	}
	if !rep.Ready {
		return nil, fmt.Errorf("the peer sent %+v instead of saying it was ready", rep)
	}
	return rep, nil
}

// report reads the peer's next control line, waiting at most timeout for
// the peer to do what (for the error message).
func (p *peerProc) report(what string, timeout time.Duration) (*peerReport, error) {
	p.ctrlIn.SetReadDeadline(time.Now().Add(timeout))
	line, err := p.reports.ReadBytes('\n')
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, fmt.Errorf("the peer did not %s within %v (-timeout)%s", what, timeout, p.stderrSuffix())
		}
		return nil, p.deathError()
	}
	var rep peerReport
	if err := json.Unmarshal(line, &rep); err != nil {
		return nil, fmt.Errorf("the peer sent a garbled report: %v", err)
	}
	if rep.Error != "" {
		p.wait(time.Second)
		return nil, fmt.Errorf("peer: %s", rep.Error)
	}
	return &rep, nil
}

// finalReport reads the peer's report at the end of a cell, checks that it
// exited cleanly, adds its one-way delays to oneWay and returns the report
// (the CPUs it was seen on, what the window cost it).
func (p *peerProc) finalReport(timeout time.Duration, oneWay *Recorder) (*peerReport, error) {
	rep, err := p.report("send its final report", timeout)
	if err != nil {
		return nil, err
	}
	if !rep.Done {
		return nil, fmt.Errorf("the peer sent %+v instead of its final report", rep)
	}
	if !p.wait(timeout) {
		return nil, fmt.Errorf("the peer did not exit within %v (-timeout) after its final report", timeout)
	}
	if p.waitErr != nil {
		return nil, p.deathError()
	}
	if rep.OneWay != nil {
		oneWay.Merge(rep.OneWay)
	}
	return rep, nil
}

// deathError describes a peer that went away: its exit status and the
// end of what it wrote on stderr.
func (p *peerProc) deathError() error {
	if !p.wait(2 * time.Second) {
		return fmt.Errorf("the peer closed its control pipe but is still running%s", p.stderrSuffix())
	}
	// Status 0 without a final report is a peer that gave up early.
	status := "exited (status 0) before the end of the cell"
	if p.waitErr != nil {
		status = p.waitErr.Error()
		var ee *exec.ExitError
		if sig := p.killedBy(); sig != 0 {
			status = "was killed by " + unix.SignalName(sig)
		} else if errors.As(p.waitErr, &ee) {
			status = fmt.Sprintf("exited with status %d", ee.ExitCode())
		}
	}
	return fmt.Errorf("the peer process %s%s", status, p.stderrSuffix())
}

// killedBy is the signal that killed the peer, or 0. Call it only once
// the peer has exited.
func (p *peerProc) killedBy() syscall.Signal {
	var ee *exec.ExitError
	if errors.As(p.waitErr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return ws.Signal()
		}
	}
	return 0
}

// stderrSuffix is ": " and a summary of what the peer wrote on stderr, or
// nothing if it wrote nothing.
func (p *peerProc) stderrSuffix() string {
	s := summarizeStderr(p.stderr.String())
	if s == "" {
		return ""
	}
	return ": " + s
}

// wait waits up to d for the peer to exit and reports whether it did.
func (p *peerProc) wait(d time.Duration) bool {
	select {
	case <-p.exited:
		return true
	case <-time.After(d):
		return false
	}
}

// hasExited reports whether the peer has exited and been reaped.
func (p *peerProc) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// kill ends the peer, if it still runs, and reaps it.
func (p *peerProc) kill() {
	select {
	case <-p.exited:
	default:
		p.cmd.Process.Kill()
		<-p.exited
	}
	p.close()
}

// close releases the control pipes (idempotent).
func (p *peerProc) close() {
	p.ctrlOut.Close()
	p.ctrlIn.Close()
}

// stderrBuffer keeps what a peer writes on stderr, for error messages,
// without growing without bound: the first max/4 bytes, where a Go panic
// says what happened, and the last max bytes, where any other failure does.
type stderrBuffer struct {
	mu      sync.Mutex
	max     int
	head    []byte
	tail    bytes.Buffer
	dropped bool // bytes were lost between head and tail
}

func (b *stderrBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	if room := b.max/4 - len(b.head); room > 0 {
		k := min(room, len(p))
		b.head = append(b.head, p[:k]...)
		p = p[k:]
	}
	b.tail.Write(p)
	if over := b.tail.Len() - b.max; over > 0 {
		b.tail.Next(over)
		b.dropped = true
	}
	return n, nil
}

func (b *stderrBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	sep := ""
	if b.dropped {
		sep = "\n...\n"
	}
	return string(b.head) + sep + b.tail.String()
}

// maxSummary bounds the peer's stderr in an error message, which ends up in
// a results row and a one-line message on the terminal.
const maxSummary = 400

// summarizeStderr reduces a peer's stderr to a few words for an error
// message. A Go panic or fatal error becomes its message and the lines just
// before it (a goroutine dump is of no use in a results row); anything else
// becomes its last lines.
func summarizeStderr(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	keep := lines[max(0, len(lines)-5):]
	for i, l := range lines {
		if strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: ") {
			keep = lines[max(0, i-3) : i+1]
			for _, more := range lines[i+1:] {
				if strings.TrimSpace(more) == "" || strings.HasPrefix(more, "goroutine ") {
					break
				}
				keep = append(keep, more)
			}
			break
		}
	}
	var words []string
	for _, l := range keep {
		if l = strings.TrimSpace(l); l != "" {
			words = append(words, l)
		}
	}
	out := strings.Join(words, "; ")
	if len(out) > maxSummary {
		out = "..." + out[len(out)-maxSummary:]
	}
	return out
}

// spawn starts cmd from a thread that lives as long as the process. A
// peer's parent-death signal follows the thread that started it, and the
// measuring threads end with their cells (see drive): a peer started from
// one of them, which any thread could have been before, would be killed
// before its report is read.
func spawn(cmd *exec.Cmd) error {
	done := make(chan error, 1)
	spawner() <- func() { done <- cmd.Start() }
	return <-done
}

var spawner = sync.OnceValue(func() chan<- func() {
	ch := make(chan func())
	go func() {
		runtime.LockOSThread() // for good: this thread is every peer's parent
		for f := range ch {
			f()
		}
	}()
	return ch
})
