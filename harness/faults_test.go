package harness_test

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/harness/harnesstest"
	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/msgqueue"
	"github.com/ipcbench/ipcbench/pipe"
	"github.com/ipcbench/ipcbench/results"
	"github.com/ipcbench/ipcbench/tcpsocket"
	"github.com/ipcbench/ipcbench/unixsocket"
)

// The tests in this file make peers fail in every way a real one can, at
// every stage of a cell, through harnesstest.Faulty: the driver meets the
// failure through the channel and the control pipe, as it would meet a real
// one, and no production code knows about it.

// count is the messages per cell in these tests.
const count = 200

var (
	mechs   = []ipc.Transport{pipe.New(), msgqueue.New(), unixsocket.New(), tcpsocket.New()}
	faults  = []harnesstest.Fault{harnesstest.Exit, harnesstest.Quit, harnesstest.Kill, harnesstest.Panic, harnesstest.Hang, harnesstest.Mark, harnesstest.Interrupt, harnesstest.LateDriver}
	midCell = 51 // a pingpong peer's 51st call is a receive in the middle of the cell
	// stages are when a fault fires, in calls the peer has made on its Conn.
	stages = []struct {
		name  string
		after int
	}{
		{"before ready", 0},
		{"mid-cell", midCell},
		{"after the last message", harnesstest.PingPongCalls(count)},
	}
)

// faulty returns the Faulty variant of mech; every one is registered with
// MaybeRunPeer in TestMain.
func faulty(mech ipc.Transport, f harnesstest.Fault, after int) ipc.Transport {
	return harnesstest.Faulty(mech, f, after)
}

func allTransports() []ipc.Transport {
	ts := slices.Clone(mechs)
	for _, m := range mechs {
		ts = append(ts, faulty(m, harnesstest.LateDriver, count+1))
		for _, f := range faults {
			for _, s := range stages {
				ts = append(ts, faulty(m, f, s.after))
			}
		}
	}
	return ts
}

func TestMain(m *testing.M) {
	harness.MaybeRunPeer(allTransports())
	if os.Getenv(driverEnv) != "" {
		os.Exit(runDriver())
	}
	// Under the race detector a process sleeps a second before it exits,
	// longer than the 1 s -timeout these tests give a peer to exit. The
	// peers inherit this.
	os.Setenv("GORACE", "atexit_sleep_ms=0 "+os.Getenv("GORACE"))
	os.Exit(m.Run())
}

// options is a small run of the given transports under test.
func options(ts ...ipc.Transport) harness.Options {
	return harness.Options{
		Transports: ts,
		Workloads:  []string{results.PingPong, results.Stream},
		Sizes:      []int{64},
		Count:      count,
		Rounds:     1,
		IO:         ipc.IORaw,
		Pairs:      1,
		Timeout:    time.Second,
	}
}

// TestPeerFaults makes a peer exit, give up, be killed, panic or hang at
// each stage of a cell, and checks that the cell becomes a row whose error
// says what happened, with what the peer said on stderr, and that the next
// cell (the same mechanism without the fault) runs normally. msgqueue
// matters most: a System V queue has no end of file, so only the
// watchdog's removal of the queue wakes a driver whose peer died. A stream
// socket and a pipe see the death as end of file.
func TestPeerFaults(t *testing.T) {
	want := map[harnesstest.Fault]string{
		harnesstest.Exit:  "the peer process exited with status 7: injected fault: exit",
		harnesstest.Quit:  "the peer process exited (status 0) before the end of the cell: injected fault: quit",
		harnesstest.Kill:  "the peer process was killed by SIGKILL: injected fault: kill",
		harnesstest.Panic: "the peer process exited with status 2: injected fault: panic after",
	}
	for _, mech := range mechs {
		for _, stage := range stages {
			if (mech.Name() == "pipe" || mech.Name() == "tcpsocket") && stage.after != midCell {
				continue // the stages are the harness's, the same for every mechanism
			}
			for _, f := range faults {
				if f == harnesstest.Mark || f == harnesstest.Interrupt || f == harnesstest.LateDriver {
					continue
				}
				name := fmt.Sprintf("%s/%s/%s", mech.Name(), stage.name, f)
				t.Run(name, func(t *testing.T) {
					before := harnesstest.Snapshot(t)
					bad := faulty(mech, f, stage.after)
					res, err := harness.Run(context.Background(), options(bad, mech))
					if err != nil {
						t.Fatal(err)
					}
					if res.Meta.Incomplete {
						t.Error("the run is marked incomplete")
					}
					for _, r := range res.Results {
						if r.Mechanism == mech.Name() {
							harnesstest.CheckRow(t, r, count)
							continue
						}
						// A stream peer makes fewer calls than a pingpong
						// one: a fault after the last pingpong message
						// never fires in a stream cell.
						fails := stage.after != harnesstest.PingPongCalls(count) || r.Workload == results.PingPong
						if !fails {
							harnesstest.CheckRow(t, r, count)
							continue
						}
						msg := want[f]
						if f == harnesstest.Hang {
							msg = "the peer stopped answering for 1s (-timeout): injected fault: hang"
							switch stage.after {
							case 0:
								msg = "the peer did not say it was ready within 1s (-timeout): injected fault: hang"
							case harnesstest.PingPongCalls(count):
								msg = "the peer did not send its final report within 1s (-timeout): injected fault: hang"
							}
						}
						t.Logf("%s %s: %s", r.Mechanism, r.Workload, r.Error)
						if !strings.Contains(r.Error, msg) {
							t.Errorf("%s %s: error %q, want it to contain %q", r.Mechanism, r.Workload, r.Error, msg)
						}
						if r.Messages != 0 || r.RTT != nil || r.MsgsPerS != 0 {
							t.Errorf("%s %s: a failed cell has figures: %+v", r.Mechanism, r.Workload, r)
						}
					}
					if len(res.Results) != 4 {
						t.Errorf("got %d rows, want 4: every cell, failed or not, is a row", len(res.Results))
					}
					before.CheckNothingLeft(t)
				})
			}
		}
	}
}

// TestPeerFaultWithPairs: one of several pairs failing fails the cell, and
// every pair's peer is ended and reaped.
func TestPeerFaultWithPairs(t *testing.T) {
	for _, mech := range []ipc.Transport{msgqueue.New(), unixsocket.New()} {
		t.Run(mech.Name(), func(t *testing.T) {
			before := harnesstest.Snapshot(t)
			o := options(faulty(mech, harnesstest.Exit, midCell))
			o.Pairs = 3
			res, err := harness.Run(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res.Results {
				if !strings.Contains(r.Error, "exited with status 7") {
					t.Errorf("%s: error %q", r.Workload, r.Error)
				}
			}
			before.CheckNothingLeft(t)
		})
	}
}

// TestInterrupt cancels a run while a peer hangs at each stage of a cell,
// with a -timeout of an hour: the run must stop at once all the same, mark
// itself incomplete, keep no figure from the cell it cut short, and leave
// nothing behind.
func TestInterrupt(t *testing.T) {
	for _, mech := range []ipc.Transport{msgqueue.New(), unixsocket.New(), pipe.New()} {
		for _, stage := range stages {
			for _, pairs := range []int{1, 3} {
				t.Run(fmt.Sprintf("%s/%s/pairs=%d", mech.Name(), stage.name, pairs), func(t *testing.T) {
					marks := t.TempDir()
					t.Setenv(harnesstest.MarkDirEnv, marks)
					before := harnesstest.Snapshot(t)
					o := options(faulty(mech, harnesstest.Hang, stage.after))
					o.Workloads = []string{results.PingPong}
					o.Pairs = pairs
					o.Timeout = time.Hour
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					type ran struct {
						f   *results.File
						err error
					}
					done := make(chan ran, 1)
					go func() {
						f, err := harness.Run(ctx, o)
						done <- ran{f, err}
					}()
					waitFor(t, "the peer to hang", func() bool { return len(harnesstest.Marks(marks)) > 0 })
					cancel()
					var r ran
					select {
					case r = <-done:
					case <-time.After(10 * time.Second):
						t.Fatal("the run did not stop within 10 s of the interrupt")
					}
					if r.err != nil {
						t.Fatal(r.err)
					}
					if !r.f.Meta.Incomplete {
						t.Error("an interrupted run is not marked incomplete")
					}
					if len(r.f.Results) != 0 {
						t.Errorf("the cut-short cell left rows: %+v", r.f.Results)
					}
					before.CheckNothingLeft(t)
				})
			}
		}
	}
}

// TestInterruptKeepsFinishedCells interrupts a run after its first cell:
// that cell's row is kept, and no other cell starts.
func TestInterruptKeepsFinishedCells(t *testing.T) {
	before := harnesstest.Snapshot(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := options(mechs...)
	o.Sizes = []int{64, 1024}
	o.Progress = cancelWhenACellEnds(cancel)
	f, err := harness.Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Meta.Incomplete {
		t.Error("an interrupted run is not marked incomplete")
	}
	if len(f.Results) != 1 {
		t.Fatalf("got %d rows, want the 1 cell that finished before the interrupt", len(f.Results))
	}
	harnesstest.CheckRow(t, f.Results[0], count)
	before.CheckNothingLeft(t)
}

// TestInterruptThatAlsoKillsThePeer: Ctrl-C reaches a peer too when it
// comes between the peer's fork and its setpgid. The peer dies of SIGINT
// before the driver's own handler has cancelled the run (here the test
// sends the driver its copy once the peer is dead); the cell must count as
// interrupted, not as a failed row blaming the peer.
func TestInterruptThatAlsoKillsThePeer(t *testing.T) {
	marks := t.TempDir()
	t.Setenv(harnesstest.MarkDirEnv, marks)
	before := harnesstest.Snapshot(t)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	o := options(faulty(pipe.New(), harnesstest.Interrupt, midCell))
	o.Workloads = []string{results.PingPong}
	ran, signalled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(signalled)
		for len(harnesstest.Marks(marks)) == 0 {
			select {
			case <-ran:
				return // never signal this process once nothing catches it
			case <-time.After(time.Millisecond):
			}
		}
		syscall.Kill(os.Getpid(), syscall.SIGINT)
	}()
	f, err := harness.Run(ctx, o)
	close(ran)
	<-signalled
	if err != nil {
		t.Fatal(err)
	}
	if !f.Meta.Incomplete || len(f.Results) != 0 {
		t.Errorf("incomplete %v, rows %+v: want an interrupted run with no row", f.Meta.Incomplete, f.Results)
	}
	before.CheckNothingLeft(t)
}

// TestPeerDoneBeforeItsDriver: a peer that has acknowledged the end of
// the cell sends its report and exits at once; its driver may read the
// acknowledgement much later, when its goroutine gets a CPU, while other
// pairs are still busy (-pairs 128 on this 2-CPU machine failed cells
// this way: the watchdog took the clean exit for a death and stopped the
// pairs still running). That clean exit is not a failure.
func TestPeerDoneBeforeItsDriver(t *testing.T) {
	for _, mech := range mechs {
		t.Run(mech.Name(), func(t *testing.T) {
			before := harnesstest.Snapshot(t)
			o := options(faulty(mech, harnesstest.LateDriver, count+1)) // pingpong: the end's ack is receive 201
			o.Workloads = []string{results.PingPong}
			o.Pairs = 2
			o.Timeout = 10 * time.Second // the second pair sleeps a second
			f, err := harness.Run(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range f.Results {
				harnesstest.CheckRow(t, r, 2*count)
			}
			before.CheckNothingLeft(t)
		})
	}
}

// cancelWhenACellEnds is a progress callback that interrupts the run as
// soon as the first cell has ended.
func cancelWhenACellEnds(cancel context.CancelFunc) func(harness.CellProgress) {
	return func(p harness.CellProgress) {
		if p.Result != nil {
			cancel()
		}
	}
}

// waitFor polls cond for up to 10 s: for things that happen eventually,
// in another process.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPairs runs 8 driver/peer pairs at once in every cell, for every
// mechanism, with every payload byte verified on every pair: figures are
// summed over the pairs and nothing is left behind.
func TestPairs(t *testing.T) {
	const pairs = 8
	for _, mech := range mechs {
		t.Run(mech.Name(), func(t *testing.T) {
			before := harnesstest.Snapshot(t)
			o := options(mech)
			o.Sizes = []int{64, 8193} // 8193: above kernel.msgmax, so split
			o.Pairs = pairs
			o.Verify = true
			o.Timeout = 30 * time.Second
			f, err := harness.Run(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Results) != 4 {
				t.Fatalf("got %d rows, want 4", len(f.Results))
			}
			if f.Meta.Pairs != pairs {
				t.Errorf("meta.pairs = %d, want %d", f.Meta.Pairs, pairs)
			}
			for _, r := range f.Results {
				harnesstest.CheckRow(t, r, pairs*count)
			}
			before.CheckNothingLeft(t)
		})
	}
}

// TestTooFewDescriptorsForPairs lowers this process's open-file limit so
// that -pairs 8 cannot get its descriptors: the cell is a row that says
// which pair failed and which limit to raise, and whatever the pairs
// before it had is closed.
func TestTooFewDescriptorsForPairs(t *testing.T) {
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	open, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	before := harnesstest.Snapshot(t)
	o := options(pipe.New())
	o.Workloads = []string{results.PingPong}
	o.Pairs = 8
	low := old
	low.Cur = uint64(len(open) + 30) // enough for a few pairs, not for 8
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	f, err := harness.Run(context.Background(), o)
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("too many open files (the limit on open files, ulimit -n, is %d: raise it or use fewer -pairs)", low.Cur)
	for _, r := range f.Results {
		t.Logf("%s: %s", r.Mechanism, r.Error)
	}
	if len(f.Results) != 1 || !strings.HasPrefix(f.Results[0].Error, "pair ") || !strings.HasSuffix(f.Results[0].Error, want) {
		t.Errorf("rows %+v: want one whose error names the pair and ends %q", f.Results, want)
	}
	before.CheckNothingLeft(t)
	if after, _ := os.ReadDir("/proc/self/fd"); len(after) != len(open) {
		t.Errorf("%d descriptors open before the run, %d after: the failed cell leaked some", len(open), len(after))
	}
}
