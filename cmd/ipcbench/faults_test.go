package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/harness/harnesstest"
	"github.com/ipcbench/ipcbench/internal/host"
	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/msgqueue"
	"github.com/ipcbench/ipcbench/msgqueue/msgqueuetest"
	"github.com/ipcbench/ipcbench/pipe"
	"github.com/ipcbench/ipcbench/results"
)

// testFaults are mechanisms whose peer fails (see harnesstest.Faulty). This
// test binary registers them with MaybeRunPeer; a test that uses one adds it
// to mechanisms with withMechanisms. The ipcbench binary knows none of them.
var testFaults = []ipc.Transport{
	harnesstest.Faulty(pipe.New(), harnesstest.Exit, 51),
	harnesstest.Faulty(msgqueue.New(), harnesstest.Hang, 51),
}

// withMechanisms makes extra selectable with -mech for one test.
func withMechanisms(t *testing.T, extra ...ipc.Transport) {
	old := mechanisms
	mechanisms = append(slices.Clone(old), extra...)
	t.Cleanup(func() { mechanisms = old })
}

// TestPeerFailureExitStatus: a cell whose peer dies or hangs is a row with
// the error, the other cells run, and the exit status is 1, with one
// sentence on stderr naming the cell and what happened.
func TestPeerFailureExitStatus(t *testing.T) {
	withMechanisms(t, testFaults...)
	for _, tc := range []struct {
		mech, want string
	}{
		{"pipe-exit-51", "ipcbench run: pipe-exit-51 pingpong 64 B failed: the peer process exited with status 7: injected fault: exit after 51 calls on the pipe channel.\n"},
		{"msgqueue-hang-51", "ipcbench run: msgqueue-hang-51 pingpong 64 B failed: the peer stopped answering for 1s (-timeout): injected fault: hang after 51 calls on the msgqueue channel.\n"},
	} {
		t.Run(tc.mech, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run([]string{"run", "-mech", tc.mech + ",pipe", "-workload", "pingpong", "-sizes", "64",
				"-count", "200", "-rounds", "1", "-timeout", "1s", "-q", "-format", "json"}, &stdout, &stderr)
			if code != exitFailure {
				t.Errorf("exit status %d, want %d", code, exitFailure)
			}
			if stderr.String() != tc.want {
				t.Errorf("stderr %q, want %q", stderr.String(), tc.want)
			}
			f, err := results.Read(&stdout)
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Results) != 2 {
				t.Fatalf("got %d rows, want 2", len(f.Results))
			}
			for _, r := range f.Results {
				if r.Mechanism == "pipe" {
					harnesstest.CheckRow(t, r, 200)
				} else if r.Error == "" {
					t.Errorf("the failed cell's row has no error")
				}
			}
		})
	}
}

// becomeSubreaper makes this process the parent of any process orphaned
// below it, for the test: a peer that outlived its ipcbench would become
// this process's child, visible to harnesstest.Children and reapable.
func becomeSubreaper(t *testing.T) {
	t.Helper()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Skipf("cannot become a child subreaper: %v", err)
	}
	t.Cleanup(func() { unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) })
}

// childrenOf lists the living children of process pid.
func childrenOf(pid int) []int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var kids []int
	for _, task := range tasks {
		b, _ := os.ReadFile(task)
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				kids = append(kids, n)
			}
		}
	}
	return kids
}

// peersOf lists the children of process pid that are ipcbench peers,
// told apart by the environment they were started with: a child can also
// be a copy of ipcbench not yet replaced by exec (a peer being started, or
// the Go runtime's one-off check that clone with a pidfd works).
func peersOf(pid int) []int {
	var peers []int
	for _, kid := range childrenOf(pid) {
		env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", kid))
		if bytes.Contains(env, []byte("\x00IPCBENCH_PEER=")) || bytes.HasPrefix(env, []byte("IPCBENCH_PEER=")) {
			peers = append(peers, kid)
		}
	}
	return peers
}

// poll waits up to 10 s for cond: for what another process does eventually.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestInterruptEndToEnd interrupts the real binary in the middle of its
// second cell: with SIGINT sent to its process group, as Ctrl-C in a
// terminal does, and with SIGTERM sent to it alone, as kill(1) does. It
// must stop, write the cells that finished to -o marked incomplete, leave
// no queue, socket file or peer, and exit with 128 + the signal's number.
func TestInterruptEndToEnd(t *testing.T) {
	becomeSubreaper(t)
	for _, tc := range []struct {
		name   string
		sig    syscall.Signal
		group  bool
		status int
	}{
		{"SIGINT to the process group", syscall.SIGINT, true, 130},
		{"SIGTERM", syscall.SIGTERM, false, 143},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp, out := t.TempDir(), filepath.Join(t.TempDir(), "out")
			cmd := exec.Command(binary, "run", "-mech", "msgqueue,unixsocket,pipe,tcpsocket", "-workload", "pingpong,stream",
				"-sizes", "64,1K", "-duration", "200ms", "-warmup", "0", "-o", out)
			cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // as a shell runs a job
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			// Every cell has a fresh peer: a second peer means the first
			// cell has finished and the second is under way.
			peers := map[int]bool{}
			poll(t, "the second cell", func() bool {
				for _, kid := range peersOf(cmd.Process.Pid) {
					peers[kid] = true
				}
				return len(peers) >= 2
			})
			target := cmd.Process.Pid
			if tc.group {
				target = -target
			}
			sent := time.Now()
			if err := syscall.Kill(target, tc.sig); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				t.Fatalf("ipcbench still runs 10 s after %v", tc.sig)
			}
			t.Logf("stopped %v after the signal", time.Since(sent).Round(time.Millisecond))
			if code := cmd.ProcessState.ExitCode(); code != tc.status {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, tc.status, stderr.String())
			}
			if !strings.HasSuffix(stderr.String(), "ipcbench run: interrupted; the cells that finished are kept.\n") {
				t.Errorf("stderr does not end by saying it was interrupted:\n%s", stderr.String())
			}

			f, err := results.Load(filepath.Join(out, "results.json"))
			if err != nil {
				t.Fatal(err)
			}
			if !f.Meta.Incomplete {
				t.Error("results.json is not marked incomplete")
			}
			if n := len(f.Results); n < 1 || n >= 16 {
				t.Errorf("results.json has %d rows, want the finished cells: at least 1, fewer than 16; peers %v; stderr:\n%s", n, peers, stderr.String())
			}
			for _, r := range f.Results {
				if r.Error != "" {
					t.Errorf("%s %s %d: %s", r.Mechanism, r.Workload, r.SizeBytes, r.Error)
				}
			}
			for _, name := range []string{"results.csv", "results.md"} {
				if _, err := os.Stat(filepath.Join(out, name)); err != nil {
					t.Error(err)
				}
			}
			// Nothing left: no file in its temporary directory (socket
			// directories, queue records, which go only once the queue is
			// removed), and no peer (it would be this process's child now).
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("left in the temporary directory: %v", left)
			}
			if kids := harnesstest.Children(t); len(kids) != 0 {
				t.Errorf("processes left: %v", kids)
			}
		})
	}
}

// TestCleanEndToEnd kills two runs with SIGKILL in the middle of a cell, a
// msgqueue one and a unixsocket one, and runs `ipcbench clean`: it must
// remove their queues, queue records and socket directory, say so one line
// each, and leave alone a queue of another program and a queue created
// since under an id the killed run had recorded. Their peers must end by
// themselves.
func TestCleanEndToEnd(t *testing.T) {
	becomeSubreaper(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // for the killed runs, and for clean in this process
	// Whatever fails below, the killed runs' queues go: their records live
	// in tmp, which the test removes (cleanups run last registered first,
	// so this one runs after the runs are killed and before TMPDIR returns).
	t.Cleanup(func() { harness.Clean(objectKinds()) })
	start := func(mech string) *exec.Cmd {
		cmd := exec.Command(binary, "run", "-mech", mech, "-workload", "stream", "-sizes", "64",
			"-duration", "1h", "-warmup", "0", "-q")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	mq, us := start("msgqueue"), start("unixsocket")
	objects := filepath.Join(tmp, fmt.Sprintf("%s%d-objects", ipc.TempDirPrefix, mq.Process.Pid))
	poll(t, "the msgqueue run's queues", func() bool {
		recs, _ := filepath.Glob(filepath.Join(objects, "sysvmsg-*"))
		return len(recs) == 2 && len(peersOf(mq.Process.Pid)) == 1
	})
	var sockDir string
	poll(t, "the unixsocket run's socket", func() bool {
		socks, _ := filepath.Glob(filepath.Join(tmp, fmt.Sprintf("%s%d-*", ipc.TempDirPrefix, us.Process.Pid), "sock"))
		if len(socks) == 1 && len(peersOf(us.Process.Pid)) == 1 {
			sockDir = filepath.Dir(socks[0])
			return true
		}
		return false
	})
	peers := append(peersOf(mq.Process.Pid), peersOf(us.Process.Pid)...)
	for _, cmd := range []*exec.Cmd{mq, us} {
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	for _, peer := range peers {
		poll(t, fmt.Sprintf("peer %d to end by itself", peer), func() bool {
			got, err := unix.Wait4(peer, nil, unix.WNOHANG, nil)
			if got == peer {
				return true
			}
			// Not this process's child: a child that ended and was reaped
			// before its run was killed (such as the floor measurement's
			// helper, listed with the peers for a moment on a slow machine).
			// One still running is not: it outlived its driver.
			_, gone := os.Stat(fmt.Sprintf("/proc/%d", peer))
			return err == unix.ECHILD && os.IsNotExist(gone)
		})
	}
	recorded, err := ipc.Records(mq.Process.Pid)
	if err != nil || len(recorded) != 2 {
		t.Fatalf("the killed run recorded %+v (%v), want 2 queues", recorded, err)
	}

	foreign := msgqueuetest.ForeignQueue(t, 0o600) // another program's: never recorded
	reused := msgqueuetest.ForeignQueue(t, 0o600)  // recorded by the killed run under an older creation time
	os.WriteFile(filepath.Join(objects, fmt.Sprintf("sysvmsg-%d", reused.ID)), []byte(fmt.Sprintln(reused.CTime-10)), 0o600)

	var stdout, stderr bytes.Buffer
	if code := run([]string{"clean"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("clean: exit status %d: %s", code, stderr.String())
	}
	want := []string{
		fmt.Sprintf("removed %s (left by ipcbench process %d)", objects, mq.Process.Pid),
		fmt.Sprintf("removed %s (left by ipcbench process %d)", sockDir, us.Process.Pid),
	}
	for _, q := range recorded {
		want = append(want, fmt.Sprintf("removed System V message queue %s (left by ipcbench process %d)", q.Name, mq.Process.Pid))
	}
	got := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("clean printed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, q := range recorded {
		id, _ := strconv.Atoi(q.Name)
		if msgqueuetest.Exists(t, id) {
			t.Errorf("the killed run's queue %s is still there", q.Name)
		}
	}
	for what, q := range map[string]msgqueue.QueueInfo{"another program's queue": foreign, "a queue created since under a recorded id": reused} {
		if !msgqueuetest.Exists(t, q.ID) {
			t.Errorf("clean removed %s (%d)", what, q.ID)
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("left in the temporary directory: %v", left)
	}

	stdout.Reset()
	if code := run([]string{"clean"}, &stdout, &stderr); code != exitOK || stdout.String() != "nothing to clean up\n" {
		t.Errorf("a second clean: status %d, printed %q", code, stdout.String())
	}
}

// TestOutputsNotWorldWritable runs with umask 0, so that the modes are
// the ones ipcbench asks for: nothing it writes with -o, directory
// included, may be writable by other users.
func TestOutputsNotWorldWritable(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	out := filepath.Join(t.TempDir(), "new", "out")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"run", "-mech", "pipe", "-workload", "pingpong", "-sizes", "64", "-count", "50", "-rounds", "1", "-q", "-o", out}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit status %d: %s", code, stderr.String())
	}
	n := 0
	filepath.WalkDir(filepath.Dir(out), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Error(err)
			return nil
		}
		fi, err := d.Info()
		if err == nil && fi.Mode().Perm()&0o002 != 0 {
			t.Errorf("%s is world-writable (%v)", path, fi.Mode().Perm())
		}
		n++
		return nil
	})
	if n < 5 {
		t.Errorf("only %d files and directories written", n)
	}
}

// TestCPUNotAllowed runs ipcbench with an affinity mask of CPU 0 only, as
// taskset or a cpuset would, and asks for CPU 1, which exists.
func TestCPUNotAllowed(t *testing.T) {
	allowed, err := host.AllowedCPUs()
	if err != nil || len(allowed) < 2 {
		t.Skipf("needs two CPUs (allowed: %v, %v)", allowed, err)
	}
	// A child inherits the affinity of the thread that forks it: restrict
	// a locked thread, start the child from it, and put it back.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var old, one unix.CPUSet
	unix.SchedGetaffinity(0, &old)
	one.Set(allowed[0])
	if err := unix.SchedSetaffinity(0, &one); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "run", "-cpus", fmt.Sprintf("%d,%d", allowed[0], allowed[1]))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Start()
	unix.SchedSetaffinity(0, &old)
	err = cmd.Wait()
	want := fmt.Sprintf("ipcbench run: invalid value \"%d,%d\" for flag -cpus: CPU %d is not allowed for this process (allowed: %d; see taskset or the cgroup's cpuset) (see 'ipcbench run -h').\n", allowed[0], allowed[1], allowed[1], allowed[0])
	if cmd.ProcessState.ExitCode() != exitUsage || stderr.String() != want {
		t.Errorf("got %v and %q, want exit status 2 and %q", err, stderr.String(), want)
	}
}

// secondSIGINTEnv makes this test binary, from TestMain, a process that
// takes two interrupts (see TestSecondInterruptIsImmediate).
const secondSIGINTEnv = "IPCBENCH_TEST_SECOND_SIGINT"

// takeTwoInterrupts sends this process SIGINT twice, the second after the
// run's context saw the first. It should not return.
func takeTwoInterrupts() int {
	ctx, stop := interruptContext()
	defer stop()
	syscall.Kill(os.Getpid(), syscall.SIGINT)
	<-ctx.Done()
	if code := interruptedStatus(ctx); code != 130 {
		fmt.Fprintf(os.Stderr, "status %d after SIGINT, want 130\n", code)
		return 1
	}
	syscall.Kill(os.Getpid(), syscall.SIGINT)
	time.Sleep(10 * time.Second)
	return 0 // the second signal did not end the process
}

// TestSecondInterruptIsImmediate: after the first SIGINT, which starts an
// orderly stop, the signal's default action is back, so that a user who
// will not wait can end ipcbench with a second Ctrl-C.
func TestSecondInterruptIsImmediate(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), secondSIGINTEnv+"=1")
	out, _ := cmd.CombinedOutput()
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGINT {
		t.Fatalf("the child ended with %v, want killed by the second SIGINT; output: %s", cmd.ProcessState, out)
	}
}
