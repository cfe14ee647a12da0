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

// TrackQueue records a System V queue this process just created, with its
// creation time. Call UntrackQueue once the queue is removed.
func TrackQueue(id int) error {
	q, err := findQueue(id)
	if err != nil {
		return fmt.Errorf("cannot record the queue for cleaning up: %w", err)
	}
	ctime := q.CTime
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

// QueueInfo is one line of /proc/sysvipc/msg.
type QueueInfo struct {
	Key   int64
	ID    int
	Mode  uint32 // permission bits, e.g. 0600
	UID   int
	CTime int64 // when the queue was created (or last changed by IPC_SET)
}

// SysVQueues lists every System V message queue on the machine.
func SysVQueues() ([]QueueInfo, error) {
	b, err := os.ReadFile("/proc/sysvipc/msg")
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) == 0 {
		return nil, errors.New("/proc/sysvipc/msg is empty")
	}
	col := map[string]int{}
	for i, name := range strings.Fields(lines[0]) {
		col[name] = i
	}
	for _, name := range []string{"key", "msqid", "perms", "uid", "ctime"} {
		if _, ok := col[name]; !ok {
			return nil, fmt.Errorf("/proc/sysvipc/msg has no %s column", name)
		}
	}
	var qs []QueueInfo
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) < len(col) {
			continue
		}
		key, err1 := strconv.ParseInt(f[col["key"]], 10, 64)
		id, err2 := strconv.Atoi(f[col["msqid"]])
		mode, err3 := strconv.ParseUint(f[col["perms"]], 8, 32)
		uid, err4 := strconv.Atoi(f[col["uid"]])
		ctime, err5 := strconv.ParseInt(f[col["ctime"]], 10, 64)
		if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
			return nil, fmt.Errorf("/proc/sysvipc/msg: %q: %w", line, err)
		}
		qs = append(qs, QueueInfo{Key: key, ID: id, Mode: uint32(mode), UID: uid, CTime: ctime})
	}
	return qs, nil
}

func findQueue(id int) (QueueInfo, error) {
	qs, err := SysVQueues()
	if err != nil {
		return QueueInfo{}, err
	}
	for _, q := range qs {
		if q.ID == id {
			return q, nil
		}
	}
	return QueueInfo{}, fmt.Errorf("queue %d does not exist", id)
}
