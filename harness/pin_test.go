package harness_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/harness/harnesstest"
	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/pipe"
	"github.com/ipcbench/ipcbench/results"
)

// threadSets reads the CPU set of every thread of this process.
func threadSets(t *testing.T) map[int]unix.CPUSet {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	sets := map[int]unix.CPUSet{}
	for _, task := range tasks {
		tid, _ := strconv.Atoi(task.Name())
		var set unix.CPUSet
		if unix.SchedGetaffinity(tid, &set) == nil {
			sets[tid] = set
		}
	}
	return sets
}

// TestGoModePinsTheWholeProcess: with io=go, -cpus binds every thread of
// the driver while the run lasts (the poller moves the measuring goroutine
// between threads), and gives them their CPUs back afterwards.
func TestGoModePinsTheWholeProcess(t *testing.T) {
	var before unix.CPUSet
	if err := unix.SchedGetaffinity(0, &before); err != nil {
		t.Fatal(err)
	}
	var want unix.CPUSet
	want.Set(0)
	var during []map[int]unix.CPUSet
	f, err := harness.Run(context.Background(), harness.Options{
		Transports: []ipc.Transport{pipe.New()},
		Workloads:  []string{results.PingPong, results.Stream},
		Sizes:      []int{64},
		Count:      200, Rounds: 1, Pairs: 1, IO: ipc.IOGo, CPUs: []int{0, 0},
		Timeout: 30 * time.Second, Verify: true,
		Progress: func(harness.CellProgress) { during = append(during, threadSets(t)) },
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.Results {
		harnesstest.CheckRow(t, r, 200)
	}
	if len(during) == 0 {
		t.Fatal("no progress was reported")
	}
	for _, sets := range during {
		for tid, set := range sets {
			if set != want {
				t.Errorf("during the run, thread %d may use CPUs %v, want only CPU 0", tid, set)
			}
		}
	}
	for tid, set := range threadSets(t) {
		if set != before {
			t.Errorf("after the run, thread %d is still pinned (%v)", tid, set)
		}
	}
	if p := f.Meta.Placement; p == "" || f.Meta.CPUs[0] != 0 {
		t.Errorf("meta does not say what was pinned: %q %v", p, f.Meta.CPUs)
	}
}
