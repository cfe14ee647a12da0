package harness_test

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/harness/harnesstest"
	"github.com/ipcbench/ipcbench/results"
)

// TestServerClientKilled kills one client of a server cell in the middle
// of the cell: the cell fails with a sentence naming the client and its
// death, the next cell of the run goes on normally, and nothing of the
// failed cell is left (no queue, socket file or process). The clients hang
// after their 51st call, marking it, so that the test kills one that is
// certainly mid-cell; the others are stopped with the cell.
func TestServerClientKilled(t *testing.T) {
	for _, mech := range mechs {
		t.Run(mech.Name(), func(t *testing.T) {
			before := harnesstest.Snapshot(t)
			marks := t.TempDir()
			t.Setenv(harnesstest.MarkDirEnv, marks)
			bad := faulty(mech, harnesstest.Hang, midCell)
			o := options(bad, mech)
			o.Workloads = []string{results.Server}
			o.Clients = []int{3}
			o.Timeout = 10 * time.Second // far longer than noticing a death takes
			done := make(chan struct{})
			go func() {
				defer close(done)
				deadline := time.Now().Add(20 * time.Second)
				for time.Now().Before(deadline) {
					if pids := harnesstest.Marks(marks); len(pids) > 0 {
						syscall.Kill(pids[0], syscall.SIGKILL)
						return
					}
					time.Sleep(5 * time.Millisecond)
				}
			}()
			f, err := harness.Run(context.Background(), o)
			<-done
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Results) != 2 {
				t.Fatalf("got %d rows, want the failed cell and the next", len(f.Results))
			}
			for _, r := range f.Results {
				if r.Mechanism == mech.Name() {
					harnesstest.CheckServerRow(t, r, count)
					continue
				}
				if !strings.Contains(r.Error, "of 3: the peer process was killed by SIGKILL") || !strings.HasPrefix(r.Error, "client ") {
					t.Errorf("the cell with a killed client failed with %q, want it to say which client was killed by SIGKILL", r.Error)
				}
				if r.RTT != nil || r.Messages != 0 {
					t.Errorf("the failed cell has figures: %+v", r)
				}
			}
			before.CheckNothingLeft(t)
		})
	}
}

// TestServerRefusals: -remote does not run the server and connect
// workloads, and -clients is bounded.
func TestServerRefusals(t *testing.T) {
	o := options(mechs[0])
	o.Workloads = []string{results.Connect}
	o.Remote = "127.0.0.1:1"
	if _, err := harness.Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "-remote") {
		t.Errorf("a connect run with -remote: %v, want a refusal that names -remote", err)
	}
	o = options(mechs[0])
	o.Workloads = []string{results.Server}
	o.Clients = []int{harness.MaxClients + 1}
	if _, err := harness.Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "clients") {
		t.Errorf("%d clients: %v, want a refusal", harness.MaxClients+1, err)
	}
}

// TestServerLimitRefused: a cell whose clients need more open files than
// ulimit -n allows is refused before anything starts, in a sentence that
// names the limit, and the run goes on.
func TestServerLimitRefused(t *testing.T) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	// Few clients, so that a broken check starts few processes.
	const clients = 8
	if need := uint64(4*clients + 64); need <= rl.Cur {
		// Lower the soft limit for this test; the peers started later in
		// the process inherit it, so put it back.
		old := rl
		rl.Cur = need - 1
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			t.Skipf("cannot lower ulimit -n: %v", err)
		}
		defer syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old)
	}
	before := harnesstest.Snapshot(t)
	o := options(mechs[0])
	o.Workloads = []string{results.Server}
	o.Clients = []int{clients}
	f, err := harness.Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if r := f.Results[0]; !strings.Contains(r.Error, "ulimit -n") || r.RTT != nil {
		t.Errorf("%d clients under ulimit -n %d: %q, want a refusal naming ulimit -n", clients, rl.Cur, r.Error)
	}
	before.CheckNothingLeft(t)
}
