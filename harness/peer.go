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
)

// The peer is this same binary, run again with peerEnv set to its orders.
// Its descriptors: 3 is the control pipe from the driver (the peer never
// reads anything from it: end of file means the driver is gone), 4 the
// control pipe to the driver (one JSON line when ready, one with the peer's
// report at the end), and 5 on the mechanism's own (Endpoint.Files).
const (
	peerEnv      = "IPCBENCH_PEER"
	fdCtrlIn     = 3
	fdCtrlOut    = 4
	fdFirstExtra = 5
)

// peerSpec is what the driver tells a peer.
type peerSpec struct {
	Mechanism string `json:"mechanism"`
	Workload  string `json:"workload"`
	Size      int    `json:"size"`
	IO        IOMode `json:"io"`
	TimeoutNS int64  `json:"timeout_ns"`
	Addr      string `json:"addr"`
	NFiles    int    `json:"nfiles"`
	CPU       int    `json:"cpu"` // -1: not pinned
	Verify    bool   `json:"verify"`
}

// peerReport is a line the peer sends on its control pipe.
type peerReport struct {
	Ready    bool      `json:"ready,omitempty"`
	Done     bool      `json:"done,omitempty"`
	Received int64     `json:"received,omitempty"`
	OneWay   *Recorder `json:"one_way,omitempty"`
	Error    string    `json:"error,omitempty"`
}

// MaybeRunPeer turns this process into a peer if the driver started it as
// one, and then never returns. Otherwise it returns at once. main, and every
// TestMain of a package whose tests start peers, must call it first, with
// every mechanism the driver may ask for.
func MaybeRunPeer(transports []Transport) {
	spec := os.Getenv(peerEnv)
	if spec == "" {
		return
	}
	os.Unsetenv(peerEnv) // nothing the peer starts is a peer
	os.Exit(runPeer(spec, transports))
}

// runPeer is the peer process's whole life; its result is the exit status.
func runPeer(specJSON string, transports []Transport) int {
	ctrlIn := os.NewFile(fdCtrlIn, "control-in")
	ctrlOut := os.NewFile(fdCtrlOut, "control-out")
	if ctrlIn == nil || ctrlOut == nil {
		fmt.Fprintln(os.Stderr, "ipcbench peer: started without its control pipes")
		return 2
	}
	// When the driver goes away, even killed, its end of the control pipe
	// closes: the peer must not outlive it.
	go func() {
		io.Copy(io.Discard, ctrlIn)
		os.Exit(3)
	}()
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "ipcbench peer: %v\n", err)
		json.NewEncoder(ctrlOut).Encode(peerReport{Error: err.Error()})
		return 1
	}

	var spec peerSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		return fail(fmt.Errorf("bad orders from the driver: %w", err))
	}
	var t Transport
	for _, c := range transports {
		if c.Name() == spec.Mechanism {
			t = c
		}
	}
	if t == nil {
		return fail(fmt.Errorf("this binary has no mechanism %q", spec.Mechanism))
	}
	cfg := Config{Size: spec.Size, IO: spec.IO, Timeout: time.Duration(spec.TimeoutNS)}
	ep := Endpoint{Addr: spec.Addr}
	for i := 0; i < spec.NFiles; i++ {
		f, err := peerFile(uintptr(fdFirstExtra+i), fmt.Sprintf("%s-%d", spec.Mechanism, i), spec.IO)
		if err != nil {
			return fail(err)
		}
		ep.Files = append(ep.Files, f)
	}

	// The peer's measuring side runs on this goroutine, locked to its
	// thread in raw mode (and when pinned); the process exits when it ends,
	// so the lock is never released.
	if spec.IO == IORaw || spec.CPU >= 0 {
		runtime.LockOSThread()
	}
	if spec.CPU >= 0 {
		if _, err := pinThread(spec.CPU); err != nil {
			return fail(err)
		}
	}
	conn, err := t.Dial(ep, cfg)
	if err != nil {
		return fail(fmt.Errorf("%s: joining the driver's channel: %w", spec.Mechanism, err))
	}
	defer conn.Close()
	p := newPeer(conn, spec.Size, isEcho(spec.Workload), spec.Verify)
	enc := json.NewEncoder(ctrlOut)
	if err := enc.Encode(peerReport{Ready: true}); err != nil {
		return fail(err)
	}
	if err := p.serve(); err != nil {
		return fail(err)
	}
	rep := peerReport{Done: true, Received: p.received}
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
	stderr  *tailBuffer
	exited  chan struct{} // closed once the peer has been reaped
	waitErr error         // valid after exited is closed
}

// startPeer runs this binary again as a peer with the given orders and the
// channel's descriptors, and waits until it has joined the channel.
func startPeer(spec peerSpec, files []*os.File, timeout time.Duration) (*peerProc, error) {
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
		stderr:  &tailBuffer{max: 4096},
		exited:  make(chan struct{}),
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), peerEnv+"="+string(specJSON))
	cmd.ExtraFiles = append([]*os.File{downR, upW}, files...)
	cmd.Stderr = p.stderr
	// Belt and braces with the control pipe: the kernel kills the peer if
	// the thread that started it dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p.cmd = cmd
	err = cmd.Start()
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
	rep, err := p.report(timeout)
	if err != nil {
		p.kill()
		return nil, err
	}
	if !rep.Ready {
		p.kill()
		return nil, fmt.Errorf("the peer sent %+v instead of saying it was ready", rep)
	}
	return p, nil
}

// report reads the peer's next control line, waiting at most timeout.
func (p *peerProc) report(timeout time.Duration) (*peerReport, error) {
	p.ctrlIn.SetReadDeadline(time.Now().Add(timeout))
	line, err := p.reports.ReadBytes('\n')
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, fmt.Errorf("the peer did not answer within %v%s", timeout, p.stderrSuffix())
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
// exited cleanly, and adds its one-way delays to oneWay.
func (p *peerProc) finalReport(timeout time.Duration, oneWay *Recorder) error {
	rep, err := p.report(timeout)
	if err != nil {
		return err
	}
	if !rep.Done {
		return fmt.Errorf("the peer sent %+v instead of its final report", rep)
	}
	if !p.wait(timeout) {
		return fmt.Errorf("the peer did not exit within %v after the cell", timeout)
	}
	if p.waitErr != nil {
		return p.deathError()
	}
	if rep.OneWay != nil {
		oneWay.Merge(rep.OneWay)
	}
	return nil
}

// deathError describes a peer that went away: its exit status and the
// end of what it wrote on stderr.
func (p *peerProc) deathError() error {
	if !p.wait(2 * time.Second) {
		return fmt.Errorf("the peer closed its control pipe but is still running%s", p.stderrSuffix())
	}
	status := "exited"
	if p.waitErr != nil {
		status = p.waitErr.Error()
		var ee *exec.ExitError
		if errors.As(p.waitErr, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				status = "was killed by " + ws.Signal().String()
			} else {
				status = fmt.Sprintf("exited with status %d", ee.ExitCode())
			}
		}
	}
	return fmt.Errorf("the peer process %s%s", status, p.stderrSuffix())
}

func (p *peerProc) stderrSuffix() string {
	s := strings.TrimSpace(p.stderr.String())
	if s == "" {
		return ""
	}
	return ": " + strings.ReplaceAll(s, "\n", "; ")
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

// tailBuffer keeps the last max bytes written to it: a peer's stderr, for
// error messages, without growing without bound.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(b)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(b), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}
