package harness

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Everything ipcbench creates outside its own memory is named so that a run
// killed before it could clean up can be cleaned later by `ipcbench clean`,
// without touching anything else:
//
//   - directories under the system temporary directory start with
//     TempDirPrefix and the creating process's id, then a dash;
//   - a System V queue, which has no name (it is created private), is
//     recorded by a file queue-<id> in the process's object directory,
//     holding the queue's creation time, so that a reused id is not mistaken
//     for ours.
const TempDirPrefix = "ipcbench-"

// TempDir makes a private (0700) directory for one cell's files, such as a
// Unix socket. The caller removes it with os.RemoveAll when the cell ends.
func TempDir() (string, error) {
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-*", TempDirPrefix, os.Getpid()))
	if err != nil {
		return "", fmt.Errorf("cannot make a private directory for the socket: %w", err)
	}
	// MkdirTemp already uses 0700; say so explicitly, whatever the umask.
	if err := os.Chmod(dir, 0o700); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// ObjectDir is this process's directory of records of System V queues.
func ObjectDir() string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("%s%d-objects", TempDirPrefix, os.Getpid()))
}

var objectMu sync.Mutex

// TrackQueue records a System V queue this process created, with its
// creation time (msg_ctime). Call UntrackQueue once the queue is removed.
func TrackQueue(id int, ctime int64) error {
	objectMu.Lock()
	defer objectMu.Unlock()
	dir := ObjectDir()
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("cannot record the queue for cleaning up: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, fmt.Sprintf("queue-%d", id)), []byte(strconv.FormatInt(ctime, 10)+"\n"), 0o600)
}

// UntrackQueue forgets a removed queue, and the directory with its last record.
func UntrackQueue(id int) {
	objectMu.Lock()
	defer objectMu.Unlock()
	dir := ObjectDir()
	os.Remove(filepath.Join(dir, fmt.Sprintf("queue-%d", id)))
	os.Remove(dir) // fails, harmlessly, while other queues are recorded
}

// TrackedQueue is a queue recorded by some ipcbench process.
type TrackedQueue struct {
	ID    int
	CTime int64
	PID   int // the process that created it
	File  string
}

// TrackedQueues lists the queues recorded by the process pid, or by every
// process when pid is 0.
func TrackedQueues(pid int) ([]TrackedQueue, error) {
	pattern := fmt.Sprintf("%s*-objects/queue-*", TempDirPrefix)
	if pid != 0 {
		pattern = fmt.Sprintf("%s%d-objects/queue-*", TempDirPrefix, pid)
	}
	files, err := filepath.Glob(filepath.Join(os.TempDir(), pattern))
	if err != nil {
		return nil, err
	}
	var qs []TrackedQueue
	for _, f := range files {
		id, err1 := strconv.Atoi(strings.TrimPrefix(filepath.Base(f), "queue-"))
		b, err2 := os.ReadFile(f)
		ctime, err3 := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		owner, ok := OwnerPID(filepath.Dir(f))
		if err1 != nil || err2 != nil || err3 != nil || !ok {
			continue // not a record of ours
		}
		qs = append(qs, TrackedQueue{ID: id, CTime: ctime, PID: owner, File: f})
	}
	return qs, nil
}

// OwnerPID reads the creating process's id from the name of a directory
// ipcbench made.
func OwnerPID(dir string) (int, bool) {
	rest, ok := strings.CutPrefix(filepath.Base(dir), TempDirPrefix)
	if !ok {
		return 0, false
	}
	num, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(num)
	return pid, err == nil && pid > 0
}
