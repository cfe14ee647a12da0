// Package cacheline measures the floor under every round trip between two
// processes: one cache line bouncing between them, nothing else. The driver
// stores an odd number in a word of shared memory, a child process waits
// for it and stores the next even number, and the driver waits for that:
// two transfers of the line between the CPUs, the least any message and its
// echo can cost. No IPC mechanism goes under it, and a shared-memory ring
// can approach it.
//
// The child is this same binary, started again with Env set (the harness's
// MaybeRunPeer calls MaybeRunChild), sharing a memfd (internal/shmem). Both
// sides wait the way shm-spin does (internal/spin), so the floor is
// measured under the same placement rules: with both on one CPU it is the
// cost of handing the CPU back and forth, not a livelock.
package cacheline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sync/atomic"
	"syscall"
	"time"
	_ "unsafe" // for go:linkname

	"golang.org/x/sys/unix"

	"github.com/ipcbench/ipcbench/internal/shmem"
	"github.com/ipcbench/ipcbench/internal/spin"
)

// Env names the environment variable that makes a process the bouncing
// child; it holds the child's orders (JSON).
const Env = "IPCBENCH_CACHELINE"

// The shared page: the bouncing word on a line of its own, and the child's
// ready flag two lines (one adjacent-line-prefetch pair) away.
const (
	offWord  = 0
	offReady = 128
	size     = 4096
	stop     = math.MaxUint64 // odd, so the child sees it as the driver's turn
)

// How much to measure: the first rounds warm the caches, the branch
// predictors and the spin budget, and are not kept; then up to Rounds
// round trips, within Budget.
const (
	Warmup = 2000
	Rounds = 10000
	Budget = 100 * time.Millisecond
)

// orders is what the driver tells the child.
type orders struct {
	CPU int `json:"cpu"` // -1: not pinned
}

// nanotime is CLOCK_MONOTONIC through the vDSO, as harness.Now (which this
// package cannot import: the harness imports it).
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

// Measure bounces a cache line between this thread and a child process, the
// driver on cpus[0] and the child on cpus[1] when cpus is given (as the
// cells are placed), and returns the median round trip in nanoseconds. It
// gives up after timeout; the child never outlives it.
func Measure(cpus []int, timeout time.Duration) (int64, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	o := orders{CPU: -1}
	if len(cpus) == 2 {
		restore, err := pin(cpus[0])
		if err != nil {
			return 0, err
		}
		defer restore()
		o.CPU = cpus[1]
	}
	f, mem, err := shmem.Create(size)
	if err != nil {
		return 0, err
	}
	defer shmem.Unmap(mem)
	defer f.Close()
	child, err := start(o, f)
	if err != nil {
		return 0, err
	}
	defer child.end()

	word, ready := shmem.Uint64(mem, offWord), shmem.Uint32(mem, offReady)
	// Given up: the child died, or it all took longer than timeout.
	var gaveUp atomic.Bool
	timer := time.AfterFunc(timeout, func() { gaveUp.Store(true) })
	defer timer.Stop()
	go func() {
		<-child.exited
		gaveUp.Store(true)
	}()
	w := spin.New()
	if !w.Until(func() bool { return ready.Load() == 1 }, gaveUp.Load) {
		return 0, child.failure("start")
	}
	samples := make([]int64, 0, Rounds)
	var v uint64
	var end int64
	for i := 0; i < Warmup+Rounds; i++ {
		v++
		t0 := nanotime()
		word.Store(v)
		want := v + 1
		if !w.Until(func() bool { return word.Load() == want }, gaveUp.Load) {
			return 0, child.failure("answer")
		}
		now := nanotime()
		v++
		switch {
		case i == Warmup:
			end = now + int64(Budget)
		case i > Warmup:
			samples = append(samples, now-t0)
			if now > end {
				i = Warmup + Rounds
			}
		}
	}
	word.Store(stop)
	slices.Sort(samples)
	return samples[len(samples)/2], nil
}

// child is the bouncing process, seen from the driver.
type child struct {
	cmd    *exec.Cmd
	ctrl   *os.File // closing it tells the child to go
	stderr *bytes.Buffer
	exited chan struct{}
	err    error
}

func start(o orders, mem *os.File) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cannot find this program to start the cache-line child: %w", err)
	}
	js, _ := json.Marshal(o)
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	c := &child{ctrl: w, stderr: &bytes.Buffer{}, exited: make(chan struct{})}
	c.cmd = exec.Command(exe)
	c.cmd.Env = append(os.Environ(), Env+"="+string(js))
	c.cmd.ExtraFiles = []*os.File{mem, r}
	c.cmd.Stderr = c.stderr
	c.cmd.WaitDelay = time.Second
	// As a peer: killed if the thread that started it dies, and in a
	// process group of its own, out of the way of a terminal's Ctrl-C.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	err = c.cmd.Start()
	r.Close()
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("cannot start the cache-line child: %w", err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// end stops the child, if it still runs, and reaps it.
func (c *child) end() {
	c.ctrl.Close()
	select {
	case <-c.exited:
	case <-time.After(time.Second):
		c.cmd.Process.Kill()
		<-c.exited
	}
}

// failure says why the child did not do what; the child is ended first.
func (c *child) failure(what string) error {
	c.cmd.Process.Kill()
	<-c.exited
	msg := fmt.Sprintf("the cache-line child did not %s", what)
	if s := bytes.TrimSpace(c.stderr.Bytes()); len(s) > 0 {
		msg += ": " + string(s)
	} else if c.err != nil {
		msg += ": " + c.err.Error()
	}
	return errors.New(msg)
}

// MaybeRunChild makes this process the bouncing child if Measure started
// it, and then never returns. Otherwise it returns at once.
func MaybeRunChild() {
	js := os.Getenv(Env)
	if js == "" {
		return
	}
	os.Unsetenv(Env)
	if err := runChild(js); err != nil {
		fmt.Fprintf(os.Stderr, "%v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func runChild(js string) error {
	var o orders
	if err := json.Unmarshal([]byte(js), &o); err != nil {
		return fmt.Errorf("bad orders: %w", err)
	}
	mf, ctrl := os.NewFile(3, "memfd"), os.NewFile(4, "control")
	if mf == nil || ctrl == nil {
		return errors.New("started without its descriptors")
	}
	// The driver closes the control pipe when done, or by dying.
	go func() {
		io.Copy(io.Discard, ctrl)
		os.Exit(0)
	}()
	runtime.LockOSThread()
	if o.CPU >= 0 {
		if _, err := pin(o.CPU); err != nil {
			return err
		}
	}
	mem, err := shmem.Map(mf, size)
	if err != nil {
		return err
	}
	mf.Close()
	word := shmem.Uint64(mem, offWord)
	shmem.Uint32(mem, offReady).Store(1)
	w := spin.New()
	never := func() bool { return false }
	var last uint64
	for {
		w.Until(func() bool { v := word.Load(); return v&1 == 1 && v != last }, never)
		v := word.Load()
		if v == stop {
			return nil
		}
		last = v + 1
		word.Store(last)
	}
}

// pin binds the calling (locked) thread to cpu and returns how to undo it.
func pin(cpu int) (restore func(), err error) {
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return nil, fmt.Errorf("reading the CPU affinity: %w", err)
	}
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("cannot pin to CPU %d: %w", cpu, err)
	}
	return func() { unix.SchedSetaffinity(0, &old) }, nil
}
