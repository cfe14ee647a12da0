package harness_test

import (
	"context"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/msgqueue"
	"github.com/ipcbench/ipcbench/pipe"
	"github.com/ipcbench/ipcbench/results"
)

// TestCostCountsOnlyTheMeasuredWindow runs cells after a long warm-up, which
// makes many more calls than the measured messages: if any of it leaked into
// the window, the syscalls per message would be above what one message
// takes. A 64 B pipe round trip is exactly one write and one read on each
// side; a stream message one write (driver) and one read (peer), and a
// 64 KiB System V message split into 8 pieces is 8 of each.
func TestCostCountsOnlyTheMeasuredWindow(t *testing.T) {
	cases := []struct {
		t        ipc.Transport
		workload string
		size     int
		want     float64
	}{
		{pipe.New(), results.PingPong, 64, 2},
		{msgqueue.New(), results.PingPong, 64, 2},
		{msgqueue.New(), results.PingPong, 65536, 16},
	}
	for _, c := range cases {
		o := options(c.t)
		o.Workloads = []string{c.workload}
		o.Sizes = []int{c.size}
		o.Warmup = 100 * time.Millisecond
		o.Timeout = 10 * time.Second
		f, err := harness.Run(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		r := f.Results[0]
		if r.Error != "" || r.Cost == nil || r.Cost.Driver == nil || r.Cost.Peer == nil {
			t.Fatalf("%s %s %d: row %+v: want the cost of both sides", c.t.Name(), c.workload, c.size, r)
		}
		for side, sc := range map[string]*results.SideCost{"driver": r.Cost.Driver, "peer": r.Cost.Peer} {
			if sc.Scope != "thread" {
				t.Errorf("%s %s: scope %q in -io raw, want thread", c.t.Name(), side, sc.Scope)
			}
			if sc.Syscalls == nil || *sc.Syscalls != c.want {
				t.Errorf("%s %s %d B %s: %v syscalls per round trip, want exactly %v (warm-up or set-up counted?)",
					c.t.Name(), c.workload, c.size, side, sc.Syscalls, c.want)
			}
			if sc.UserNS < 0 || sc.SysNS < 0 || sc.VoluntarySwitches < 0 || sc.RunDelayNS < 0 || sc.CPUPerWall < 0 {
				t.Errorf("%s %s: a negative figure: %+v", c.t.Name(), side, sc)
			}
			if sc.UserNS+sc.SysNS == 0 {
				t.Errorf("%s %s: no CPU time at all for %d round trips", c.t.Name(), side, r.Messages)
			}
		}
	}
}

// TestCostInGoModeIsTheProcessAndCountsNoSyscalls: through the runtime
// poller the process is what can be measured, and the Conn cannot see the
// runtime's own calls, so the row must not claim a count.
func TestCostInGoModeIsTheProcessAndCountsNoSyscalls(t *testing.T) {
	o := options(pipe.New())
	o.IO = ipc.IOGo
	o.Workloads = []string{results.Stream}
	f, err := harness.Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	r := f.Results[0]
	if r.Error != "" || r.Cost == nil || r.Cost.Driver == nil || r.Cost.Peer == nil {
		t.Fatalf("row %+v: want the cost of both sides", r)
	}
	for _, sc := range []*results.SideCost{r.Cost.Driver, r.Cost.Peer} {
		if sc.Scope != "process" || sc.Syscalls != nil {
			t.Errorf("-io go cost %+v: want scope process and no syscall count", sc)
		}
	}
}

// TestOpenLoopCell runs open-loop pingpong cells end to end: the row says
// the offered load, has both histograms with one round trip per message,
// never a corrected figure below the actual one, and the cost of the
// driver's whole process (its two threads).
func TestOpenLoopCell(t *testing.T) {
	o := options(pipe.New())
	o.Workloads = []string{results.PingPong}
	o.Rates = []harness.Rate{{PerS: 2000}, {Percent: 50}}
	o.Timeout = 10 * time.Second
	f, err := harness.Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Results) != 2 {
		t.Fatalf("%d rows, want one per rate", len(f.Results))
	}
	for _, r := range f.Results {
		if r.Error != "" || r.RTT == nil || r.RTTCorrected == nil {
			t.Fatalf("row %+v: want both round-trip figures", r)
		}
		if r.RTT.N != count || r.RTTCorrected.N != count || r.Messages != count {
			t.Errorf("%s: n %d and %d over %d messages, want %d each", r.RateText(), r.RTT.N, r.RTTCorrected.N, r.Messages, count)
		}
		if r.RTTCorrected.P50 < r.RTT.P50 || r.RTTCorrected.P99 < r.RTT.P99 || r.RTTCorrected.Max < r.RTT.Max {
			t.Errorf("%s: corrected %+v below actual %+v", r.RateText(), r.RTTCorrected, r.RTT)
		}
		if r.Rate <= 0 || r.Cost == nil || r.Cost.Driver == nil || r.Cost.Driver.Scope != "process" {
			t.Errorf("%s: rate %v, cost %+v: want the offered rate and the driver process's cost", r.RateText(), r.Rate, r.Cost)
		}
	}
	if f.Results[0].Rate != 2000 || f.Results[0].RatePercent != 0 || f.Results[1].RatePercent != 50 {
		t.Errorf("rows %v/%v%%, %v/%v%%: want 2000/s first, then 50%%", f.Results[0].Rate, f.Results[0].RatePercent, f.Results[1].Rate, f.Results[1].RatePercent)
	}
}
