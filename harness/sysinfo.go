package harness

import (
	"fmt"
	"maps"
	"os"
	"runtime"
	"time"

	"github.com/ipcbench/ipcbench/internal/host"
	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/results"
)

// meta collects the facts about this machine and run that someone needs to
// reproduce the figures or to judge whether two runs compare.
func (o *Options) meta() results.Meta {
	m := results.Meta{
		Started:         time.Now().UTC().Truncate(time.Second),
		Version:         o.Version,
		Command:         o.Command,
		CPUModel:        host.CPUModel(),
		NCPU:            runtime.NumCPU(),
		GoVersion:       runtime.Version(),
		GOMAXPROCS:      runtime.GOMAXPROCS(0),
		GOOS:            runtime.GOOS,
		GOARCH:          runtime.GOARCH,
		IO:              string(o.IO),
		CPUs:            append([]int{}, o.CPUs...),
		Placement:       o.placement(),
		Limits:          Limits(o.limitsOf()),
		TimerOverheadNS: timerOverhead(),
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
	m.Kernel = host.Kernel()
	m.Offsets = append([]int{}, o.offsets()...)
	m.CPU = host.CPUFacts()
	m.Hypervisor = host.Hypervisor(m.CPU)
	m.CPUIdle = host.CPUIdle()
	m.THP = host.THP()
	rseq := host.Rseq()
	m.Rseq = &rseq
	return m
}

// Limits reads what shapes the figures of the given mechanisms: the sysctls
// each names (ipc.Caps.Sysctls, read by ipc.ReadLimits) and the facts it
// measures (ipc.Caps.Facts). A setting that cannot be read is left out
// rather than guessed.
func Limits(transports []ipc.Transport) map[string]int64 {
	l := map[string]int64{}
	for _, t := range transports {
		caps := t.Caps(ipc.Config{Size: MinSize, IO: ipc.IORaw})
		maps.Copy(l, ipc.ReadLimits(caps.Sysctls))
		if caps.Facts != nil {
			maps.Copy(l, caps.Facts())
		}
	}
	return l
}

// placement says in words what -cpus pinned.
func (o *Options) placement() string {
	switch {
	case len(o.CPUs) != 2:
		return "not pinned: the scheduler placed both sides"
	case o.IO == ipc.IOGo:
		return fmt.Sprintf("driver process on CPU %d, peer process on CPU %d (every thread: with io=go goroutines move between threads)", o.CPUs[0], o.CPUs[1])
	}
	return fmt.Sprintf("driver's measuring thread on CPU %d, peer's on CPU %d", o.CPUs[0], o.CPUs[1])
}

// limitsOf is the mechanisms whose limits the run records: every one the
// program knows (Options.Known), so that runs of different -mech lists
// record the same limits and compare, or else those measured.
func (o *Options) limitsOf() []ipc.Transport {
	if o.Known != nil {
		return o.Known
	}
	return o.Transports
}
