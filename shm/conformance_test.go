package shm_test

import (
	"os"
	"testing"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/harness/harnesstest"
	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/shm"
)

// mechs are the three mechanisms, and each with a one-page ring: at that
// size every message of 4 KiB or more goes through in pieces and the
// indices wrap all the time.
var mechs = []ipc.Transport{shm.NewSpin(), shm.NewFutex(), shm.NewEventfd()}

func small(tr ipc.Transport) ipc.Transport {
	return shm.WithRing(tr, 4096, tr.Name()+"-4k")
}

func allTransports() []ipc.Transport {
	var ts []ipc.Transport
	for _, m := range mechs {
		ts = append(ts, m, small(m))
		ts = append(ts, faultyVariants(m)...)
		ts = append(ts, harnesstest.Faulty(m, harnesstest.Mark, midCell)) // TestDriverKilled
	}
	return ts
}

func TestMain(m *testing.M) {
	harness.MaybeRunPeer(allTransports())
	if os.Getenv(driverEnv) != "" {
		os.Exit(runDriver())
	}
	os.Setenv("GORACE", "atexit_sleep_ms=0 "+os.Getenv("GORACE"))
	os.Exit(m.Run())
}

// TestConformance runs both workloads at every size between two processes,
// every byte verified, for each way of waiting, with the real ring and with
// a one-page ring.
func TestConformance(t *testing.T) {
	for _, m := range mechs {
		for _, tr := range []ipc.Transport{m, small(m)} {
			t.Run(tr.Name(), func(t *testing.T) {
				harnesstest.Run(t, tr)
				if n := mappings(t); n != 0 {
					t.Errorf("the driver still maps the memfd %d times", n)
				}
			})
		}
	}
}
