package harness

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ipcbench/ipcbench/ipc"
)

// A run whose largest cell the machine cannot hold (-pairs 100000, say) is
// refused before anything starts, in one sentence naming the limit, rather
// than spending minutes failing cell after cell. Demand is what a run needs
// at its peak, Capacity what the machine allows; both are estimates that err
// towards letting a run start: the check refuses only what cannot work.

// Per-process figures the estimate uses.
const (
	// processDescriptors are what the driver holds for each process it
	// starts, at least: its control pipe.
	processDescriptors = 1
	// channelDescriptors is ipc.Uses.Descriptors when a mechanism says 0:
	// the driver's two ends (two pipes, or a socket and its listener).
	channelDescriptors = 2
	// threadsPerProcess is the fewest threads a Go peer runs (GOMAXPROCS,
	// sysmon, a locked measuring thread): ulimit -u and kernel.pid_max
	// count threads.
	threadsPerProcess = 4
	// processMemory is the least a Go peer process costs in memory (its
	// runtime, stacks and heap arenas, before its buffers).
	processMemory = 4 << 20
)

// Demand is what a run holds at once in its largest cell, summed over its
// pairs (and clients).
type Demand struct {
	Descriptors int            // open in the driver process
	Processes   int            // peer and client processes at once
	Objects     map[string]int // named kernel objects, by the sysctl that caps them
	Ports       int            // loopback ports from the ephemeral range
	Memory      int64          // bytes: every process's runtime and message buffers
}

// Capacity is what the machine allows; a zero or negative field is no limit.
type Capacity struct {
	Descriptors int64 // RLIMIT_NOFILE of this process (Go raised it to the hard limit)
	ThreadsUser int64 // RLIMIT_NPROC (ulimit -u): threads of this user
	PIDMax      int64 // kernel.pid_max
	ThreadsMax  int64 // kernel.threads-max
	Objects     map[string]int64
	Ports       int64 // size of net.ipv4.ip_local_port_range
	Memory      int64 // MemAvailable
}

// DemandOf is what o needs at its peak: the most processes of any cell
// (Pairs peers, or Pairs x the most -clients for the server and connect
// workloads) with the channels and buffers of its mechanism. It asks each
// mechanism's Caps for what its channels hold (ipc.Uses).
func DemandOf(o *Options) Demand {
	d := Demand{Objects: map[string]int{}}
	perPair := 1
	for _, w := range o.Workloads {
		if isServerWorkload(w) && len(o.Clients) > 0 {
			perPair = max(perPair, slices.Max(o.Clients))
		}
	}
	processes := o.Pairs * perPair
	largest := int64(slices.Max(o.Sizes))
	for _, t := range o.Transports {
		u := t.Caps(ipc.Config{Size: int(largest), IO: o.IO, Remote: o.Remote}).Uses
		fds := u.Descriptors
		if fds == 0 {
			fds = channelDescriptors
		}
		// The cells of one mechanism run one at a time: the run needs the
		// most any mechanism needs, not their sum.
		d.Descriptors = max(d.Descriptors, openDescriptors()+processes*(processDescriptors+fds))
		if u.Objects > 0 && u.ObjectLimit != "" {
			d.Objects[u.ObjectLimit] = max(d.Objects[u.ObjectLimit], processes*u.Objects)
		}
		if o.Remote == "" {
			d.Ports = max(d.Ports, processes*u.Ports)
		}
	}
	if o.Remote == "" {
		d.Processes = processes
	}
	// Each side of a channel holds two frames of the largest message.
	d.Memory = int64(d.Processes)*processMemory + int64(processes)*4*largest
	return d
}

// openDescriptors is how many descriptors this process has open now.
func openDescriptors() int {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	return len(fds)
}

// ReadCapacity reads this machine's limits. What it cannot read is left
// zero: no limit is assumed rather than a wrong one.
func ReadCapacity() Capacity {
	c := Capacity{Objects: map[string]int64{}}
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil && rl.Cur != unix.RLIM_INFINITY {
		c.Descriptors = int64(rl.Cur)
	}
	if unix.Getrlimit(unix.RLIMIT_NPROC, &rl) == nil && rl.Cur != unix.RLIM_INFINITY {
		c.ThreadsUser = int64(rl.Cur)
	}
	c.PIDMax = sysctlInt("kernel.pid_max")
	c.ThreadsMax = sysctlInt("kernel.threads-max")
	for _, name := range []string{"kernel.msgmni", "fs.mqueue.queues_max"} {
		if v := sysctlInt(name); v > 0 {
			c.Objects[name] = v
		}
	}
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		var lo, hi int64
		if _, err := fmt.Sscan(string(b), &lo, &hi); err == nil && hi >= lo {
			c.Ports = hi - lo + 1
		}
	}
	c.Memory = memAvailable()
	return c
}

// sysctlInt is a sysctl's value, or 0 when it cannot be read.
func sysctlInt(name string) int64 {
	v, _ := readSysctlInt(name)
	return v
}

// memAvailable is MemAvailable from /proc/meminfo in bytes, or 0.
func memAvailable() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return kb << 10
				}
			}
		}
	}
	return 0
}

// Fits says, in one sentence naming the limit, why the machine cannot hold
// d, or nil when it can. what names the cause in the sentence ("-pairs
// 100000"), fewer what to use less of ("pairs").
func (d Demand) Fits(c Capacity, what, fewer string) error {
	threads := int64(d.Processes+1) * threadsPerProcess
	switch {
	case c.Descriptors > 0 && int64(d.Descriptors) > c.Descriptors:
		return fmt.Errorf("%s needs about %d open descriptors in the driver, more than its limit of %d (ulimit -n): raise it or use fewer %s", what, d.Descriptors, c.Descriptors, fewer)
	case c.ThreadsUser > 0 && threads > c.ThreadsUser:
		return fmt.Errorf("%s needs %d processes (about %d threads), more than the %d this user may run (ulimit -u): raise it or use fewer %s", what, d.Processes, threads, c.ThreadsUser, fewer)
	case c.PIDMax > 0 && threads > c.PIDMax:
		return fmt.Errorf("%s needs %d processes (about %d threads), more than kernel.pid_max (%d) allows: use fewer %s", what, d.Processes, threads, c.PIDMax, fewer)
	case c.ThreadsMax > 0 && threads > c.ThreadsMax:
		return fmt.Errorf("%s needs %d processes (about %d threads), more than kernel.threads-max (%d) allows: use fewer %s", what, d.Processes, threads, c.ThreadsMax, fewer)
	case c.Ports > 0 && int64(d.Ports) > c.Ports:
		return fmt.Errorf("%s needs %d loopback ports at once, more than the %d of the ephemeral range (net.ipv4.ip_local_port_range): use fewer %s", what, d.Ports, c.Ports, fewer)
	case c.Memory > 0 && d.Memory > c.Memory:
		return fmt.Errorf("%s needs about %s of memory (%d processes and their message buffers), more than the %s available (MemAvailable in /proc/meminfo): use fewer %s or smaller messages", what, memString(d.Memory), d.Processes, memString(c.Memory), fewer)
	}
	for _, name := range sortedKeys(d.Objects) {
		if limit := c.Objects[name]; limit > 0 && int64(d.Objects[name]) > limit {
			return fmt.Errorf("%s needs %d queues at once, more than %s (%d) allows: raise it or use fewer %s", what, d.Objects[name], name, limit, fewer)
		}
	}
	return nil
}

// memString is an amount of memory in MiB or GiB, one decimal.
func memString(n int64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// CheckFeasible refuses a run the machine cannot hold, before anything
// starts; Run calls it. The server helper's -clients and any new limit go
// into DemandOf, ReadCapacity and Fits.
func CheckFeasible(o *Options) error {
	what, fewer := fmt.Sprintf("-pairs %d", o.Pairs), "pairs"
	for _, w := range o.Workloads {
		if isServerWorkload(w) && len(o.Clients) > 0 {
			what += fmt.Sprintf(" with -clients %d", slices.Max(o.Clients))
			fewer = "pairs or clients"
			break
		}
	}
	return DemandOf(o).Fits(ReadCapacity(), what, fewer)
}
