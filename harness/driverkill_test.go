package harness_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/harness/harnesstest"
	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/msgqueue"
	"github.com/ipcbench/ipcbench/results"
)

// driverEnv, when set to a mechanism's name, makes this test binary a
// driver that measures that mechanism for an hour: the process that
// TestDriverKilled kills in the middle of a cell.
const driverEnv = "IPCBENCH_TEST_DRIVER"

func runDriver() int {
	var mech ipc.Transport
	for _, m := range mechs {
		if m.Name() == os.Getenv(driverEnv) {
			mech = m
		}
	}
	if mech == nil {
		fmt.Fprintf(os.Stderr, "no mechanism %q\n", os.Getenv(driverEnv))
		return 2
	}
	_, err := harness.Run(context.Background(), harness.Options{
		// Mark: the peer says when it is in the middle of the cell.
		Transports: []ipc.Transport{faulty(mech, harnesstest.Mark, midCell)},
		Workloads:  []string{results.PingPong},
		Sizes:      []int{64},
		Duration:   time.Hour,
		Rounds:     1,
		IO:         ipc.IORaw,
		Pairs:      1,
		Timeout:    time.Hour,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestDriverKilled kills a driver with SIGKILL in the middle of a cell, so
// that it cannot clean up anything: the peer must end by itself (end of
// file on its control pipe, or its parent-death signal), and harness.Clean
// must then remove the System V queues or the socket directory that the
// driver left, and nothing else.
func TestDriverKilled(t *testing.T) {
	for _, mech := range []string{"msgqueue", "unixsocket", "pipe"} {
		t.Run(mech, func(t *testing.T) {
			tmp := t.TempDir()
			marks := t.TempDir()
			t.Setenv("TMPDIR", tmp) // the driver's and Clean's temporary directory
			// Whatever fails below, the killed driver's queues go: their
			// records live in tmp, which the test removes, and a queue
			// without its record is one nothing can clean any more.
			t.Cleanup(func() { harness.Clean(kinds) })
			t.Setenv(harnesstest.MarkDirEnv, marks)
			t.Setenv(driverEnv, mech)
			// The peer's parent is about to die: make this process its
			// new parent, so that the test can see how it ends and reap it.
			if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
				t.Skipf("cannot become a child subreaper: %v", err)
			}
			defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)

			driver := exec.Command(os.Args[0], "-test.run=^$")
			var stderr strings.Builder
			driver.Stderr = &stderr
			if err := driver.Start(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the peer to be in the middle of the cell", func() bool { return len(harnesstest.Marks(marks)) > 0 })
			peer := harnesstest.Marks(marks)[0]
			driver.Process.Kill()
			driver.Wait()

			status, exited, err := reap(peer, 10*time.Second)
			switch {
			case err == unix.ECHILD && unix.Kill(peer, 0) == unix.ESRCH:
				// The thread that started the peer died first, its
				// parent-death signal killed the peer, and a thread of
				// the driver not yet dead reaped it (seen in about one run
				// in 15): the peer ended, how cannot be known.
				t.Logf("the peer ended before its driver, which reaped it")
			case err != nil:
				t.Fatalf("waiting for the peer %d: %v", peer, err)
			case !exited:
				unix.Kill(peer, unix.SIGKILL)
				reap(peer, 10*time.Second)
				t.Fatalf("the peer %d still runs 10 s after its driver was killed", peer)
			case status.Exited() && status.ExitStatus() == 3:
				t.Logf("the peer saw end of file on its control pipe and exited")
			case status.Signaled() && status.Signal() == unix.SIGKILL:
				t.Logf("the peer got its parent-death signal")
			default:
				t.Errorf("the peer ended with status %#x, want exit status 3 or SIGKILL", status)
			}

			// What the driver left: queues recorded in its object
			// directory, or its socket directory.
			leftDirs, _ := filepath.Glob(filepath.Join(tmp, fmt.Sprintf("%s%d-*", ipc.TempDirPrefix, driver.Process.Pid)))
			leftQueues, _ := ipc.Records(driver.Process.Pid)
			switch mech {
			case "msgqueue":
				if len(leftQueues) != 2 {
					t.Fatalf("a killed msgqueue driver left %d recorded queues, want 2", len(leftQueues))
				}
			case "unixsocket":
				if len(leftDirs) != 1 {
					t.Fatalf("a killed unixsocket driver left %v, want its socket directory", leftDirs)
				}
			}
			removed, err := harness.Clean(kinds)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("Clean: %q", removed)
			var want []string
			for _, q := range leftQueues {
				want = append(want, fmt.Sprintf("removed System V message queue %s (left by ipcbench process %d)", q.Name, driver.Process.Pid))
			}
			for _, d := range leftDirs {
				want = append(want, fmt.Sprintf("removed %s (left by ipcbench process %d)", d, driver.Process.Pid))
			}
			slices.Sort(want)
			slices.Sort(removed)
			if !slices.Equal(removed, want) {
				t.Errorf("Clean removed %q, want %q", removed, want)
			}
			for _, q := range leftQueues {
				if kinds[0].Exists(q.Name, q.Proof) {
					t.Errorf("queue %s is still there after Clean", q.Name)
					id, _ := strconv.Atoi(q.Name)
					unix.Syscall(unix.SYS_MSGCTL, uintptr(id), unix.IPC_RMID, 0)
				}
			}
			if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
				t.Errorf("left in the temporary directory after Clean: %v", entries)
			}
		})
	}
}

// kinds are the objects the mechanisms of these tests make: msgqueue's.
var kinds = msgqueue.New().Caps(ipc.Config{Size: 16}).Objects

// reap waits up to d for the process pid, a child of this process, to end,
// and returns how it ended.
func reap(pid int, d time.Duration) (ws unix.WaitStatus, exited bool, err error) {
	deadline := time.Now().Add(d)
	for {
		got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		switch {
		case got == pid:
			return ws, true, nil
		case err != nil && err != unix.EINTR:
			return 0, false, err
		case time.Now().After(deadline):
			return 0, false, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
}
