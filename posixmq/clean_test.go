package posixmq

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/harness/harnesstest"
	"github.com/ipcbench/ipcbench/ipc"

	"golang.org/x/sys/unix"
)

// childEnv makes this test binary a run that creates its queues and waits to
// be killed (see TestMain).
const childEnv = "POSIXMQ_TEST_CHILD"

func TestMain(m *testing.M) {
	harness.MaybeRunPeer([]ipc.Transport{New()})
	if os.Getenv(childEnv) != "" {
		l, err := New().Listen(ipc.Config{Size: 64, IO: ipc.IORaw})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println(l.Endpoint().Addr)
		time.Sleep(time.Minute) // until killed
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// TestConformance runs both workloads at every size between two processes,
// including sizes above fs.mqueue.msgsize_max that are split, and checks that
// no queue or record is left behind.
func TestConformance(t *testing.T) {
	if caps := New().Caps(ipc.Config{Size: 64}); caps.Err != nil {
		t.Skipf("POSIX message queues cannot be used here: %v", caps.Err)
	}
	harnesstest.Run(t, New())
}

// killedRun starts a run that creates its two queues and kills it with
// SIGKILL, so that it cleans nothing up, and returns its pid and queue names.
func killedRun(t *testing.T) (int, []string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	cmd.Process.Kill()
	cmd.Wait()
	if err != nil || strings.HasPrefix(line, "error") {
		t.Fatalf("the run did not make its queues: %q, %v", line, err)
	}
	names := strings.Split(strings.TrimSpace(line), ",")
	t.Cleanup(func() {
		for _, n := range names {
			mqUnlink(n)
		}
		os.RemoveAll(fmt.Sprintf("%s/%s%d-objects", os.TempDir(), ipc.TempDirPrefix, cmd.Process.Pid))
	})
	return cmd.Process.Pid, names
}

// clean is `ipcbench clean` with this mechanism's kind; it returns the
// names of the queues it removed. The tests that use it set TMPDIR to a
// directory of their own, so only their own runs' leftovers are seen.
func clean(t *testing.T) []string {
	t.Helper()
	lines, err := harness.Clean([]ipc.ObjectKind{ObjectKind()})
	if err != nil {
		t.Fatal(err)
	}
	var removed []string
	for _, l := range lines {
		if name, ok := strings.CutPrefix(l, "removed POSIX message queue "); ok {
			name, _, _ = strings.Cut(name, " ")
			removed = append(removed, name)
		}
	}
	return removed
}

// TestCleanKilledRun: the queues of a run killed with SIGKILL are recorded,
// exist, and are removed by clean; nothing else is.
func TestCleanKilledRun(t *testing.T) {
	if _, err := readLimits(); err != nil {
		t.Skip(err)
	}
	t.Setenv("TMPDIR", t.TempDir())
	pid, names := killedRun(t)
	k := ObjectKind()
	recs, _ := ipc.Records(pid)
	if len(recs) != 2 {
		t.Fatalf("the killed run has %d records, want its 2 queues: %+v", len(recs), recs)
	}
	for _, r := range recs {
		if !k.Exists(r.Name, r.Proof) {
			t.Errorf("queue %s of the killed run does not exist", r.Name)
		}
	}
	removed := clean(t)
	if strings.Join(removed, ",") != strings.Join(slices.Sorted(slices.Values(names)), ",") {
		t.Errorf("removed %v, want the killed run's %v", removed, names)
	}
	for _, n := range names {
		if _, ok := inspect(n); ok {
			t.Errorf("queue %s still exists after clean", n)
		}
	}
	if recs, _ := ipc.Records(pid); len(recs) != 0 {
		t.Errorf("records left after clean: %+v", recs)
	}
}

// TestCleanLeavesForeign: what is not provably the killed run's queue
// survives clean: a queue made since under the recorded name (another
// inode), one of mode 0644, and an unrecorded one with an ipcbench-like name.
func TestCleanLeavesForeign(t *testing.T) {
	if _, err := readLimits(); err != nil {
		t.Skip(err)
	}
	t.Setenv("TMPDIR", t.TempDir())
	pid, names := killedRun(t)
	// The first name is taken over by another program's queue.
	mqUnlink(names[0])
	foreign(t, names[0], 0o600)
	// The second is replaced by one of another mode, with the recorded
	// proof forged to match it: the mode alone must stop clean.
	mqUnlink(names[1])
	mqd := foreign(t, names[1], 0o644)
	proof, _ := proofOf(mqd)
	if err := os.WriteFile(recordPath(t, pid, names[1]), []byte(proof+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// And an unrecorded queue named like a dead run's.
	stray := fmt.Sprintf("/ipcbench-%d-999-d2p", pid)
	foreign(t, stray, 0o600)

	if removed := clean(t); len(removed) != 0 {
		t.Errorf("clean removed %v, want nothing", removed)
	}
	for _, n := range []string{names[0], names[1], stray} {
		if _, ok := inspect(n); !ok {
			t.Errorf("foreign queue %s was removed", n)
		}
	}
}

// TestCleanLeavesLiveRun: the queues of a run still running are not removed,
// even when asked with the right proof.
func TestCleanLeavesLiveRun(t *testing.T) {
	l, err := New().Listen(ipc.Config{Size: 64, IO: ipc.IORaw})
	if err != nil {
		t.Skip(err)
	}
	defer l.Close()
	for _, r := range mustRecords(t) {
		if ok, err := ObjectKind().Remove(r.Name, r.Proof); ok || err != nil {
			t.Errorf("Remove of this live process's %s: %v, %v", r.Name, ok, err)
		}
	}
}

func mustRecords(t *testing.T) []ipc.ObjectRecord {
	recs, err := ipc.Records(os.Getpid())
	if err != nil || len(recs) == 0 {
		t.Fatalf("records: %v, %v", recs, err)
	}
	return recs
}

// foreign creates a queue as another program would, without a record, and
// removes it when the test ends.
func foreign(t *testing.T, name string, mode uint32) int {
	t.Helper()
	old := unix.Umask(0)
	mqd, err := mqOpen(name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL, mode, &attr{MaxMsg: 1, MsgSize: 16})
	unix.Umask(old)
	if err != nil {
		t.Fatalf("creating %s: %v", name, err)
	}
	t.Cleanup(func() { unix.Close(mqd); mqUnlink(name) })
	return mqd
}

// recordPath is the file that records the queue name of process pid.
func recordPath(t *testing.T, pid int, name string) string {
	recs, err := ipc.Records(pid)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Name == name {
			return r.File
		}
	}
	t.Fatalf("no record of %s", name)
	return ""
}

// TestServer runs the server and connect workloads: many clients, one server.
func TestServer(t *testing.T) { harnesstest.RunServer(t, New()) }
