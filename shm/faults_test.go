package shm_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/harness/harnesstest"
	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/results"
)

// midCell is a pingpong peer's 51st call on its Conn: a receive in the
// middle of the cell, while the driver waits for an echo.
const midCell = 51

// faults are the ways a peer fails in these tests: dead without a word, so
// that only the watchdog's Listener.Close can stop a driver that waits on
// it, and alive but silent, so that only -timeout does.
var faults = map[harnesstest.Fault]string{
	harnesstest.Kill: "the peer process was killed by SIGKILL: injected fault: kill",
	harnesstest.Hang: "the peer stopped answering for 1s (-timeout): injected fault: hang",
}

func faultyVariants(m ipc.Transport) []ipc.Transport {
	var ts []ipc.Transport
	for f := range faults {
		ts = append(ts, harnesstest.Faulty(m, f, midCell))
	}
	return ts
}

// TestPeerFaults: a peer killed, or hanging, in the middle of a cell ends
// the cell with an error row, whichever way the driver waits (spinning,
// asleep on a futex, asleep on an eventfd), with no hang; the next cell
// runs normally, and nothing is left: no process, no mapping.
func TestPeerFaults(t *testing.T) {
	for _, m := range mechs {
		for f, want := range faults {
			t.Run(m.Name()+"/"+string(f), func(t *testing.T) {
				before := harnesstest.Snapshot(t)
				bad := harnesstest.Faulty(m, f, midCell)
				res, err := harness.Run(context.Background(), harness.Options{
					Transports: []ipc.Transport{bad, m},
					Workloads:  []string{results.PingPong, results.Stream},
					Sizes:      []int{64},
					Count:      200,
					Rounds:     1,
					IO:         ipc.IORaw,
					Pairs:      1,
					Timeout:    time.Second,
				})
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Results) != 4 {
					t.Fatalf("got %d rows, want 4", len(res.Results))
				}
				for _, r := range res.Results {
					if r.Mechanism == m.Name() {
						harnesstest.CheckRow(t, r, 200)
						continue
					}
					if !strings.Contains(r.Error, want) {
						t.Errorf("%s %s: error %q, want it to contain %q", r.Mechanism, r.Workload, r.Error, want)
					}
					if r.Messages != 0 || r.RTT != nil {
						t.Errorf("%s %s: a failed cell has figures", r.Mechanism, r.Workload)
					}
				}
				before.CheckNothingLeft(t)
				if n := mappings(t); n != 0 {
					t.Errorf("the driver still maps the memfd %d times", n)
				}
			})
		}
	}
}
