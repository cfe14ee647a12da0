package harness

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipcbench/ipcbench/results"
)

// meta collects the facts about this machine and run that someone needs to
// reproduce the figures or to judge whether two runs compare.
func (o *Options) meta() results.Meta {
	m := results.Meta{
		Started:         time.Now().UTC().Truncate(time.Second),
		Version:         o.Version,
		Command:         o.Command,
		CPUModel:        cpuModel(),
		NCPU:            runtime.NumCPU(),
		GoVersion:       runtime.Version(),
		GOMAXPROCS:      runtime.GOMAXPROCS(0),
		GOOS:            runtime.GOOS,
		GOARCH:          runtime.GOARCH,
		IO:              string(o.IO),
		CPUs:            append([]int{}, o.CPUs...),
		Placement:       o.placement(),
		Limits:          Limits(),
		TimerOverheadNS: TimerOverhead(),
		Count:           o.Count,
		WarmupNS:        int64(o.Warmup),
		Rounds:          o.Rounds,
		Seed:            o.Seed,
		Pairs:           o.Pairs,
	}
	if o.Count == 0 {
		m.DurationNS = int64(o.Duration)
	}
	m.Host, _ = os.Hostname()
	m.Kernel = kernelRelease()
	m.CPU = cpuFacts()
	m.Hypervisor = hypervisor(m.CPU)
	m.CPUIdle = cpuIdle()
	m.THP = thp()
	return m
}

// kernelRelease is the kernel's name and release, such as "Linux 6.1.0".
func kernelRelease() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:])
}

// Limits reads the kernel settings that shape the figures. A setting that
// cannot be read is left out rather than guessed.
func Limits() map[string]int64 {
	l := map[string]int64{}
	for _, name := range []string{
		"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",
		"net.core.rmem_default", "net.core.wmem_default",
		"net.core.rmem_max", "net.core.wmem_max",
		"fs.pipe-max-size",
	} {
		if v, err := ReadSysctl(name); err == nil {
			l[name] = v
		}
	}
	// The TCP buffer triples: min, default, max. The default is what a
	// connection starts with before autotuning.
	for _, name := range []string{"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"} {
		if b, err := os.ReadFile(sysctlPath(name)); err == nil {
			if f := strings.Fields(string(b)); len(f) == 3 {
				if v, err := strconv.ParseInt(f[1], 10, 64); err == nil {
					l[name+".default"] = v
				}
			}
		}
	}
	if p := pipeBytes(); p > 0 {
		l["pipe_bytes"] = p
	}
	return l
}

// ReadSysctl reads one integer setting, such as "kernel.msgmax", from /proc/sys.
func ReadSysctl(name string) (int64, error) {
	b, err := os.ReadFile(sysctlPath(name))
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}

func sysctlPath(name string) string {
	return "/proc/sys/" + strings.ReplaceAll(name, ".", "/")
}

// pipeBytes is the capacity of a new pipe, what the pipe mechanism gets.
func pipeBytes() int64 {
	var p [2]int
	if unix.Pipe2(p[:], unix.O_CLOEXEC) != nil {
		return 0
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	n, err := unix.FcntlInt(uintptr(p[0]), unix.F_GETPIPE_SZ, 0)
	if err != nil {
		return 0
	}
	return int64(n)
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// placement says in words what -cpus pinned.
func (o *Options) placement() string {
	switch {
	case len(o.CPUs) != 2:
		return "not pinned: the scheduler placed both sides"
	case o.IO == IOGo:
		return fmt.Sprintf("driver process on CPU %d, peer process on CPU %d (every thread: with io=go goroutines move between threads)", o.CPUs[0], o.CPUs[1])
	}
	return fmt.Sprintf("driver's measuring thread on CPU %d, peer's on CPU %d", o.CPUs[0], o.CPUs[1])
}
