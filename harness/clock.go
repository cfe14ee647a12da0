package harness

import (
	"time"
	_ "unsafe" // for go:linkname
)

// Now reads CLOCK_MONOTONIC in nanoseconds through the vDSO, the same call
// Go's own timers use.
//
// It is system-wide: a time read in the driver and one read in the peer can
// be subtracted, which one-way delays need. time.Now's monotonic reading is
// counted from each process's start, so it cannot serve; and
// unix.ClockGettime is a real syscall, costing far more than the vDSO.
//
//go:linkname Now runtime.nanotime
func Now() int64

// Since is the time from a Now reading until now.
func Since(t int64) time.Duration { return time.Duration(Now() - t) }

// timerOverhead measures what one Now call costs, in nanoseconds: the floor
// under every latency ipcbench reports, recorded in the results' meta.
func timerOverhead() float64 {
	const calls = 200_000
	best := int64(1<<63 - 1)
	for try := 0; try < 5; try++ {
		start := Now()
		for i := 0; i < calls; i++ {
			Now()
		}
		best = min(best, Now()-start)
	}
	return float64(best) / calls
}
