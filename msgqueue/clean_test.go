package msgqueue_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/msgqueue"
	"github.com/ipcbench/ipcbench/msgqueue/msgqueuetest"
)

// kinds are what Clean knows of: this mechanism's objects.
var kinds = msgqueue.New().Caps(ipc.Config{Size: 16}).Objects

// removeQueue removes a queue a test left on purpose.
func removeQueue(id int) {
	unix.Syscall(unix.SYS_MSGCTL, uintptr(id), unix.IPC_RMID, 0)
}

// deadPID returns the id of a process that has ended.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// record writes a queue record as the mechanism does, for process pid.
func record(t *testing.T, pid, id int, ctime int64) {
	t.Helper()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("%s%d-objects", ipc.TempDirPrefix, pid))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("sysvmsg-%d", id)), []byte(fmt.Sprintln(ctime)), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestCleanRemovesOnlyWhatIsProvablyOurs sets up what a killed run leaves
// next to what must survive Clean: another program's queue, a queue whose
// id a dead run recorded but that was created since (another creation
// time), a recorded queue that is not mode 0600, and the files of a run
// still in progress.
func TestCleanRemovesOnlyWhatIsProvablyOurs(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dead, alive := deadPID(t), os.Getpid()

	ours := msgqueuetest.ForeignQueue(t, 0o600)
	record(t, dead, ours.ID, ours.CTime)
	foreign := msgqueuetest.ForeignQueue(t, 0o600) // not recorded by anyone
	reused := msgqueuetest.ForeignQueue(t, 0o600)
	record(t, dead, reused.ID, reused.CTime-1) // the id a dead run had, created again since
	wrongMode := msgqueuetest.ForeignQueue(t, 0o644)
	record(t, dead, wrongMode.ID, wrongMode.CTime)
	record(t, dead, 1<<30, 12345) // a queue that is gone
	running := msgqueuetest.ForeignQueue(t, 0o600)
	record(t, alive, running.ID, running.CTime) // a run in progress

	sockDir := filepath.Join(tmp, fmt.Sprintf("%s%d-123456", ipc.TempDirPrefix, dead))
	liveDir := filepath.Join(tmp, fmt.Sprintf("%s%d-654321", ipc.TempDirPrefix, alive))
	for _, d := range []string{sockDir, liveDir} {
		os.Mkdir(d, 0o700)
		os.WriteFile(filepath.Join(d, "sock"), nil, 0o600)
	}
	// Names that only look like ipcbench's, and a link that must not be followed.
	keep := []string{
		filepath.Join(tmp, ipc.TempDirPrefix+"e2e-bin123"),
		filepath.Join(tmp, fmt.Sprintf("%s%d", ipc.TempDirPrefix, dead)),
		filepath.Join(tmp, fmt.Sprintf("other-%d-1", dead)),
	}
	for _, d := range keep {
		os.Mkdir(d, 0o700)
	}
	link := filepath.Join(tmp, fmt.Sprintf("%s%d-link", ipc.TempDirPrefix, dead))
	target := t.TempDir()
	os.WriteFile(filepath.Join(target, "precious"), nil, 0o600)
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	keep = append(keep, link, filepath.Join(target, "precious"), liveDir)

	removed, err := harness.Clean(kinds)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		fmt.Sprintf("removed System V message queue %d (left by ipcbench process %d)", ours.ID, dead),
		fmt.Sprintf("removed %s (left by ipcbench process %d)", filepath.Join(tmp, fmt.Sprintf("%s%d-objects", ipc.TempDirPrefix, dead)), dead),
		fmt.Sprintf("removed %s (left by ipcbench process %d)", sockDir, dead),
	}
	slices.Sort(want)
	slices.Sort(removed)
	if !slices.Equal(removed, want) {
		t.Errorf("Clean removed\n%q\nwant\n%q", removed, want)
	}
	if msgqueuetest.Exists(t, ours.ID) {
		t.Errorf("the dead run's queue %d is still there", ours.ID)
	}
	for what, q := range map[string]msgqueue.QueueInfo{
		"another program's queue":                   foreign,
		"a queue created since under a recorded id": reused,
		"a recorded queue that is not mode 0600":    wrongMode,
		"the queue of a run in progress":            running,
	} {
		if !msgqueuetest.Exists(t, q.ID) {
			t.Errorf("Clean removed %s (%d)", what, q.ID)
		}
	}
	for _, p := range keep {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("Clean removed %s", p)
		}
	}
	if qs, _ := ipc.Records(alive); len(qs) != 1 {
		t.Errorf("the record of the run in progress is gone: %+v", qs)
	}
	os.RemoveAll(filepath.Join(tmp, fmt.Sprintf("%s%d-objects", ipc.TempDirPrefix, alive)))

	// Nothing is left to clean the second time.
	if again, err := harness.Clean(kinds); err != nil || len(again) != 0 {
		t.Errorf("a second Clean removed %q (%v)", again, err)
	}
}
