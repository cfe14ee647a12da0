package harness

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/results"
)

// What a message costs is measured per side over exactly the measured
// window: each side takes a usage snapshot as the window opens and as it
// closes, and the difference, divided by the window's messages, is the row's
// cost. The driver's window is its measuring run (after the warm-up, before
// the end handshake); the peer's opens at the first message the driver
// marks as measured (flagMark) and closes at the end of the cell (flagEnd).
//
// In -io raw each side measures on a goroutine locked to its thread, so the
// thread's own counters (RUSAGE_THREAD, /proc/thread-self/schedstat) are
// exactly that side's work. In -io go the runtime moves the work between its
// threads, so the whole process is counted, runtime included.

// flagMark marks the first messages of a measured phase (markCount of them,
// so that a lossy channel that loses some still delivers one): the peer
// opens its cost window at the first it sees.
const (
	flagMark  uint64 = 1 << 60
	markCount        = 16
)

// usage is one side's resource counters at one instant.
type usage struct {
	wall, user, sys int64 // ns
	nvcsw, nivcsw   int64
	runDelay        int64 // ns spent runnable, waiting for a CPU
	syscalls        int64
	counted         bool // the Conn counts its syscalls
}

// usageMeter takes usage snapshots of one side without allocating in raw
// mode (the peer takes one inside its serving loop): the schedstat file of
// the measuring thread is opened once, beforehand, on that thread.
type usageMeter struct {
	thread    bool
	schedstat int // descriptor of /proc/thread-self/schedstat, or -1
	buf       [128]byte
}

// newUsageMeter must be called on the measuring thread (raw mode: after
// LockOSThread). thread says whether the thread alone is counted.
func newUsageMeter(thread bool) *usageMeter {
	m := &usageMeter{thread: thread, schedstat: -1}
	if thread {
		if fd, err := unix.Open("/proc/thread-self/schedstat", unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
			m.schedstat = fd
		}
	}
	return m
}

// close releases the schedstat descriptor.
func (m *usageMeter) close() {
	if m != nil && m.schedstat >= 0 {
		unix.Close(m.schedstat)
		m.schedstat = -1
	}
}

// scope names what the meter counts, as results.SideCost.Scope does.
func (m *usageMeter) scope() string {
	if m.thread {
		return "thread"
	}
	return "process"
}

// take is a snapshot now, with conn's syscall count.
func (m *usageMeter) take(conn ipc.Conn) usage {
	var ru unix.Rusage
	who := unix.RUSAGE_SELF
	if m.thread {
		who = unix.RUSAGE_THREAD
	}
	u := usage{wall: Now()}
	if unix.Getrusage(who, &ru) == nil {
		u.user, u.sys = ru.Utime.Nano(), ru.Stime.Nano()
		u.nvcsw, u.nivcsw = ru.Nvcsw, ru.Nivcsw
	}
	u.runDelay = m.runDelay()
	u.syscalls, u.counted = ipc.Syscalls(conn)
	return u
}

// runDelay is the second field of schedstat: the time the thread (or all
// the process's threads) spent waiting on a run queue.
func (m *usageMeter) runDelay() int64 {
	if m.thread {
		if m.schedstat < 0 {
			return 0
		}
		n, err := unix.Pread(m.schedstat, m.buf[:], 0)
		if err != nil {
			return 0
		}
		return schedstatDelay(m.buf[:n])
	}
	// The whole process: every thread's. This allocates, which is why the
	// thread meter exists; -io go's loop allocates through the poller anyway.
	tasks, _ := filepath.Glob("/proc/self/task/*/schedstat")
	var sum int64
	for _, t := range tasks {
		if b, err := os.ReadFile(t); err == nil {
			sum += schedstatDelay(b)
		}
	}
	return sum
}

// schedstatDelay parses "RUNTIME DELAY SLICES\n" and returns DELAY.
func schedstatDelay(b []byte) int64 {
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0
	}
	v, _ := strconv.ParseInt(string(f[1]), 10, 64)
	return v
}

// window is the usage between two snapshots, as the peer reports it.
type window struct {
	Scope      string `json:"scope"`
	WallNS     int64  `json:"wall_ns"`
	UserNS     int64  `json:"user_ns"`
	SysNS      int64  `json:"sys_ns"`
	Nvcsw      int64  `json:"nvcsw"`
	Nivcsw     int64  `json:"nivcsw"`
	RunDelayNS int64  `json:"run_delay_ns"`
	Syscalls   int64  `json:"syscalls"`
	Counted    bool   `json:"counted"`
}

func between(scope string, a, b usage) window {
	return window{
		Scope: scope, WallNS: b.wall - a.wall, UserNS: b.user - a.user, SysNS: b.sys - a.sys,
		Nvcsw: b.nvcsw - a.nvcsw, Nivcsw: b.nivcsw - a.nivcsw, RunDelayNS: b.runDelay - a.runDelay,
		Syscalls: b.syscalls - a.syscalls, Counted: a.counted && b.counted,
	}
}

// add sums two windows of the same scope (pairs of a cell): the cost per
// message is then over all their messages.
func (w *window) add(o window) {
	if w.Scope == "" {
		*w = o
		return
	}
	w.WallNS += o.WallNS
	w.UserNS += o.UserNS
	w.SysNS += o.SysNS
	w.Nvcsw += o.Nvcsw
	w.Nivcsw += o.Nivcsw
	w.RunDelayNS += o.RunDelayNS
	w.Syscalls += o.Syscalls
	w.Counted = w.Counted && o.Counted
}

// perMessage is the window's cost per message over n messages; nil when
// there is nothing to divide.
func (w window) perMessage(n int64) *results.SideCost {
	if n <= 0 || w.Scope == "" {
		return nil
	}
	per := func(v int64) float64 { return float64(v) / float64(n) }
	c := &results.SideCost{
		Scope: w.Scope, UserNS: per(w.UserNS), SysNS: per(w.SysNS),
		VoluntarySwitches: per(w.Nvcsw), InvoluntarySwitches: per(w.Nivcsw),
		RunDelayNS: per(w.RunDelayNS),
	}
	if w.Counted {
		s := per(w.Syscalls)
		c.Syscalls = &s
	}
	if w.WallNS > 0 {
		c.CPUPerWall = float64(w.UserNS+w.SysNS) / float64(w.WallNS)
	}
	return c
}
