package shm_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/harness/harnesstest"
	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/results"
)

// driverEnv, when set to a mechanism's name, makes this test binary a
// driver that measures it for an hour: the process TestDriverKilled kills.
const driverEnv = "IPCBENCH_TEST_SHM_DRIVER"

func runDriver() int {
	for _, m := range mechs {
		if m.Name() != os.Getenv(driverEnv) {
			continue
		}
		_, err := harness.Run(context.Background(), harness.Options{
			Transports: []ipc.Transport{harnesstest.Faulty(m, harnesstest.Mark, midCell)},
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
	fmt.Fprintf(os.Stderr, "no mechanism %q\n", os.Getenv(driverEnv))
	return 2
}

// TestDriverKilled kills a driver with SIGKILL in the middle of a cell: it
// cannot set the closed flag, so the peer, spinning or asleep on a futex or
// an eventfd, must end by itself (end of file on its control pipe, or its
// parent-death signal). A memfd has no name, so nothing is left to clean.
func TestDriverKilled(t *testing.T) {
	for _, m := range mechs {
		t.Run(m.Name(), func(t *testing.T) {
			marks := t.TempDir()
			t.Setenv(harnesstest.MarkDirEnv, marks)
			t.Setenv(driverEnv, m.Name())
			// Make this process the orphaned peer's parent, to see how it
			// ends and reap it.
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
			deadline := time.Now().Add(30 * time.Second)
			for len(harnesstest.Marks(marks)) == 0 {
				if time.Now().After(deadline) {
					driver.Process.Kill()
					driver.Wait()
					t.Fatalf("the peer never reached the middle of the cell: %s", stderr.String())
				}
				time.Sleep(10 * time.Millisecond)
			}
			peer := harnesstest.Marks(marks)[0]
			driver.Process.Kill()
			driver.Wait()

			var ws unix.WaitStatus
			deadline = time.Now().Add(10 * time.Second)
			for {
				got, err := unix.Wait4(peer, &ws, unix.WNOHANG, nil)
				if got == peer {
					break
				}
				if (err != nil && err != unix.EINTR) || time.Now().After(deadline) {
					unix.Kill(peer, unix.SIGKILL)
					unix.Wait4(peer, &ws, 0, nil)
					t.Fatalf("the peer %d still ran 10 s after its driver was killed (%v)", peer, err)
				}
				time.Sleep(10 * time.Millisecond)
			}
			switch {
			case ws.Exited() && ws.ExitStatus() == 3:
				t.Logf("the peer saw end of file on its control pipe and exited")
			case ws.Signaled() && ws.Signal() == unix.SIGKILL:
				t.Logf("the peer got its parent-death signal")
			default:
				t.Errorf("the peer ended with status %#x, want exit status 3 or SIGKILL", ws)
			}
		})
	}
}
