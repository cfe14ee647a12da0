package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/ipcbench/ipcbench/results"

	"golang.org/x/sys/unix"
)

// baseline builds the C baseline once per test binary, or skips the test
// where gcc is missing.
func baseline(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not found: the C baseline (bench/c/ipcbaseline.c) cannot be built here")
	}
	bin, err := buildBaseline(filepath.Join("..", "c", "ipcbaseline.c"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestBaselineRunsEveryCell runs the C baseline for every mechanism and
// workload, a small and a split (above kernel.msgmax) size, pinned, and
// checks its row and that it leaves no queue, socket directory or process.
func TestBaselineRunsEveryCell(t *testing.T) {
	bin := baseline(t)
	tmp := t.TempDir()
	for _, mech := range []string{"pipe", "msgqueue", "unixsocket", "tcpsocket", "fifo", "posixmq", "seqpacket"} {
		for _, workload := range []string{results.PingPong, results.Stream} {
			// 300000 B is above a seqpacket record (SO_SNDBUF-32) and, like
			// 64 KiB, above fs.mqueue.msgsize_max: both are split.
			for _, size := range []int{64, 64 << 10, 300000} {
				cmd := exec.Command(bin, "-m", mech, "-w", workload, "-s", strconv.Itoa(size), "-n", "300", "-u", "0.01", "-c", "0,0")
				cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("%s %s %d: %v %s", mech, workload, size, err, stderrOf(err))
				}
				var r results.Result
				if err := json.Unmarshal(out, &r); err != nil {
					t.Fatalf("%s %s %d: not a JSON row: %v\n%s", mech, workload, size, err, out)
				}
				if r.Mechanism != mech || r.Workload != workload || r.SizeBytes != size || r.Messages != 300 || r.ElapsedNS <= 0 {
					t.Errorf("%s %s %d: wrong row %+v", mech, workload, size, r)
				}
				if workload == results.PingPong && (r.RTT == nil || r.RTT.Min <= 0 || r.RTT.P50 < r.RTT.Min || r.RTT.Max < r.RTT.P99) {
					t.Errorf("%s %s %d: bad round trips %+v", mech, workload, size, r.RTT)
				}
				if r.BytesPerS <= 0 || r.MsgsPerS <= 0 {
					t.Errorf("%s %s %d: no throughput", mech, workload, size)
				}
				checkNoQueues(t, cmd.Process.Pid)
				checkNoPosixQueues(t, cmd.Process.Pid)
			}
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("the baseline left %d entries in TMPDIR, e.g. %s", len(left), left[0].Name())
	}
}

// TestBaselinePlacesThePayload runs the C baseline at payload offsets 0
// and 8: the row says where the driver's payload really started, read back
// from its address, and an offset outside 0..4095 is bad usage (exit 2).
func TestBaselinePlacesThePayload(t *testing.T) {
	bin := baseline(t)
	for _, off := range []int{0, 8, 4095} {
		out, err := exec.Command(bin, "-m", "pipe", "-w", "stream", "-s", "4K", "-n", "50", "-u", "0", "-o", strconv.Itoa(off)).Output()
		if err != nil {
			t.Fatalf("-o %d: %v %s", off, err, stderrOf(err))
		}
		var r struct {
			Offset *int `json:"payload_offset"`
		}
		if err := json.Unmarshal(out, &r); err != nil || r.Offset == nil || *r.Offset != off {
			t.Errorf("-o %d: the row says the payload started at %v (%v): %s", off, r.Offset, err, out)
		}
	}
	for _, bad := range []string{"-1", "4096", "8x", ""} {
		err := exec.Command(bin, "-m", "pipe", "-w", "stream", "-s", "4K", "-n", "50", "-o", bad).Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Errorf("-o %q: %v, want exit status 2", bad, err)
		}
	}
}

// TestBaselineCleansUpWhenKilled stops the baseline in the middle of a
// msgqueue cell and a unixsocket cell: the queues and socket directory must
// go, and the peer with them.
func TestBaselineCleansUpWhenKilled(t *testing.T) {
	bin := baseline(t)
	for _, mech := range []string{"msgqueue", "unixsocket", "fifo", "posixmq", "seqpacket"} {
		tmp := t.TempDir()
		cmd := exec.Command(bin, "-m", mech, "-w", "pingpong", "-s", "64", "-d", "30", "-u", "0")
		cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err == nil {
			t.Errorf("%s: the baseline exited 0 after SIGTERM", mech)
		}
		checkNoQueues(t, cmd.Process.Pid)
		checkNoPosixQueues(t, cmd.Process.Pid)
		if left, _ := os.ReadDir(tmp); len(left) > 0 {
			t.Errorf("%s: the killed baseline left %s in TMPDIR", mech, left[0].Name())
		}
		// The peer dies with the driver (PR_SET_PDEATHSIG); give it a moment.
		deadline := time.Now().Add(2 * time.Second)
		for running(bin) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if running(bin) {
			t.Errorf("%s: the peer outlived the killed baseline", mech)
		}
	}
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// checkNoQueues fails if a System V queue that the driver pid sent to or
// received from last is still there: each of the baseline's two queues has
// the driver as its last sender or its last receiver.
func checkNoQueues(t *testing.T, pid int) {
	t.Helper()
	f, err := os.Open("/proc/sysvipc/msg")
	if err != nil {
		t.Skipf("cannot list System V queues: %v", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	var cols []string
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if cols == nil {
			cols = fields
			continue
		}
		for i, c := range cols {
			if (c == "lspid" || c == "lrpid") && i < len(fields) {
				if p, _ := strconv.Atoi(fields[i]); p == pid {
					t.Errorf("a System V queue used by the baseline (pid %d) is still there: %s", pid, s.Text())
				}
			}
		}
	}
}

// checkNoPosixQueues fails if a POSIX queue of the baseline pid
// (/ipcbaseline-PID-d2p or -p2d) is still there.
func checkNoPosixQueues(t *testing.T, pid int) {
	t.Helper()
	for _, dir := range []string{"d2p", "p2d"} {
		name := fmt.Sprintf("ipcbaseline-%d-%s", pid, dir) // the kernel's name has no slash
		p, _ := unix.BytePtrFromString(name)
		fd, _, e := unix.Syscall6(unix.SYS_MQ_OPEN, uintptr(unsafe.Pointer(p)), unix.O_RDONLY|unix.O_NONBLOCK, 0, 0, 0, 0)
		if e == 0 {
			unix.Close(int(fd))
			t.Errorf("the baseline's POSIX queue /%s is still there", name)
			unix.Syscall(unix.SYS_MQ_UNLINK, uintptr(unsafe.Pointer(p)), 0, 0)
		} else if e != unix.ENOENT {
			t.Errorf("cannot check for the baseline's POSIX queue /%s: %v", name, e)
		}
	}
}

// running reports whether a process of the program bin is still running
// (zombies aside). bin is in a test's own temporary directory, so only
// this test's processes match.
func running(bin string) bool {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		arg0, _, _ := strings.Cut(string(cmd), "\x00")
		if arg0 != bin {
			continue
		}
		if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			if i := strings.LastIndexByte(string(st), ')'); i >= 0 && strings.HasPrefix(string(st[i+1:]), " Z") {
				continue
			}
		}
		return true
	}
	return false
}

func TestSockperfP50(t *testing.T) {
	out := []byte(`sockperf: ---> percentile 90.000 =   38.972
sockperf: ---> percentile 50.000 =   26.621
sockperf: ---> <MIN> observation =   14.484`)
	got, err := sockperfP50(out)
	if err != nil || got != 26621 {
		t.Errorf("sockperfP50 = %v, %v; want 26621 ns", got, err)
	}
	if _, err := sockperfP50([]byte("sockperf: Test ended")); err == nil {
		t.Error("no error for output without a p50")
	}
}

func TestIperf3Received(t *testing.T) {
	got, err := iperf3Received([]byte(`{"end":{"sum_sent":{"bits_per_second":9e9},"sum_received":{"bits_per_second":8e9}}}`))
	if err != nil || got != 1e9 {
		t.Errorf("iperf3Received = %v, %v; want 1e9 B/s", got, err)
	}
	if _, err := iperf3Received([]byte(`{"error":"unable to connect to server"}`)); err == nil || !strings.Contains(err.Error(), "unable to connect") {
		t.Errorf("iperf3's own error not passed on: %v", err)
	}
}

func TestSummaryAndTargets(t *testing.T) {
	s := summarize([]float64{5, 1, 3, 4}, 1)
	if s.median != 3.5 || s.min != 1 || s.max != 5 || s.n != 4 || s.failed != 1 {
		t.Errorf("summarize = %+v", s)
	}
	if median([]float64{1, 2, 9}) != 2 {
		t.Error("median of an odd count")
	}
	lat, thr := target{max: 1.10}, target{min: 0.95}
	for _, c := range []struct {
		t     target
		ratio float64
		want  string
	}{{lat, 1.05, "yes"}, {lat, 1.2, "NO"}, {thr, 0.97, "yes"}, {thr, 0.9, "NO"}, {target{}, 3, ""}} {
		if got := c.t.met(c.ratio); got != c.want {
			t.Errorf("%v met(%v) = %q, want %q", c.t, c.ratio, got, c.want)
		}
	}
	if _, err := parsePlacements("0,0;0,1"); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"0", "a,b", "0,-1"} {
		if _, err := parsePlacements(bad); err == nil {
			t.Errorf("placement %q accepted", bad)
		}
	}
}
