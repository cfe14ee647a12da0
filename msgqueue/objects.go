package msgqueue

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/ipcbench/ipcbench/ipc"
)

// A System V queue has no name (it is created private), so each one is
// recorded (ipc.Record) under its id with its creation time as the proof:
// ids are reused, and a queue created since under the same id, by anyone,
// has another creation time.

// kind is the record prefix of a queue.
const kind = "sysvmsg"

// queueKind is what `ipcbench clean` and the leak checks need to know about
// the queues this mechanism makes.
var queueKind = ipc.ObjectKind{
	Kind:   kind,
	What:   "System V message queue",
	Remove: removeRecorded,
	Exists: recordedExists,
}

// track records a queue this process just created, with its creation time.
func track(id int) error {
	q, err := findQueue(id)
	if err != nil {
		return fmt.Errorf("cannot record the queue for cleaning up: %w", err)
	}
	return ipc.Record(kind, strconv.Itoa(id), strconv.FormatInt(q.CTime, 10))
}

// recorded finds the queue a record names, if it is still that queue: the
// same id and creation time.
func recorded(name, proof string) (QueueInfo, bool, error) {
	id, err1 := strconv.Atoi(name)
	ctime, err2 := strconv.ParseInt(proof, 10, 64)
	if err1 != nil || err2 != nil {
		return QueueInfo{}, false, fmt.Errorf("malformed record %q (%q)", name, proof)
	}
	qs, err := Queues()
	if err != nil {
		return QueueInfo{}, false, fmt.Errorf("cannot list System V queues: %w", err)
	}
	for _, q := range qs {
		if q.ID == id && q.CTime == ctime {
			return q, true, nil
		}
	}
	return QueueInfo{}, false, nil
}

// removeRecorded removes a recorded queue that is provably the one a dead
// run created: the recorded creation time, mode 0600 and this user as
// owner. Anything else, or a queue already gone, is left alone.
func removeRecorded(name, proof string) (bool, error) {
	q, ok, err := recorded(name, proof)
	if err != nil || !ok || q.Mode != 0o600 || q.UID != os.Getuid() {
		return false, err
	}
	if err := rmid(q.ID); err != nil {
		if err == errEINVAL || err == errEIDRM {
			return false, nil // removed meanwhile
		}
		return false, err
	}
	return true, nil
}

// recordedExists reports whether a recorded queue still exists.
func recordedExists(name, proof string) bool {
	_, ok, _ := recorded(name, proof)
	return ok
}

// QueueInfo is one line of /proc/sysvipc/msg.
type QueueInfo struct {
	Key   int64
	ID    int
	Mode  uint32 // permission bits, e.g. 0600
	UID   int
	CTime int64 // when the queue was created (or last changed by IPC_SET)
}

// Queues lists every System V message queue on the machine, from
// /proc/sysvipc/msg.
func Queues() ([]QueueInfo, error) {
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

// findQueue is the line of /proc/sysvipc/msg of queue id.
func findQueue(id int) (QueueInfo, error) {
	qs, err := Queues()
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
