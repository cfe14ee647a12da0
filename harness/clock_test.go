package harness

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestClockSharedAcrossProcesses shows that Now in another process reads
// the same clock: a child's reading falls between two of the parent's,
// which is what lets the peer subtract the driver's send time.
func TestClockSharedAcrossProcesses(t *testing.T) {
	if os.Getenv("IPCBENCH_CLOCK_CHILD") == "1" {
		os.Stdout.WriteString(strconv.FormatInt(Now(), 10) + "\n")
		os.Exit(0)
	}
	for i := 0; i < 5; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestClockSharedAcrossProcesses$")
		cmd.Env = append(os.Environ(), "IPCBENCH_CLOCK_CHILD=1")
		before := Now()
		out, err := cmd.Output()
		after := Now()
		if err != nil {
			t.Fatal(err)
		}
		child, err := strconv.ParseInt(strings.Fields(string(out))[0], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		if child < before || child > after {
			t.Fatalf("the child read %d, outside the parent's [%d, %d]: the clocks are not shared", child, before, after)
		}
	}
}

// TestClockIsClockMonotonic checks Now against clock_gettime(CLOCK_MONOTONIC)
// read around it.
func TestClockIsClockMonotonic(t *testing.T) {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	before := ts.Nano()
	now := Now()
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	if after := ts.Nano(); now < before || now > after {
		t.Fatalf("Now() = %d is not between CLOCK_MONOTONIC readings %d and %d", now, before, after)
	}
}

func TestTimerOverhead(t *testing.T) {
	if ns := timerOverhead(); ns <= 0 || ns > 1e6 {
		t.Fatalf("timer overhead %v ns is not plausible", ns)
	}
}
