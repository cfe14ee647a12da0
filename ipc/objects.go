package ipc

import (
	"errors"
	"fmt"
	"net/url"
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
//     TempDirPrefix and the creating process's id, then a dash (TempDir);
//     clean removes a dead process's directories whole, so files inside one
//     (a FIFO, a socket file) need no record;
//   - a named object elsewhere (a System V queue, a POSIX queue) is recorded
//     by a file KIND-NAME in the process's object directory (ObjectDir)
//     holding a proof that it is the object created (such as its creation
//     time), so that a reused name or id is not mistaken for ours. The
//     mechanism's ObjectKind knows how to check the proof and remove it.
const TempDirPrefix = "ipcbench-"

// TempDir makes a private (0700) directory for one cell's files, such as a
// Unix socket or a FIFO. The caller removes it with os.RemoveAll when the
// cell ends.
func TempDir() (string, error) {
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-*", TempDirPrefix, os.Getpid()))
	if err != nil {
		return "", fmt.Errorf("cannot make a private directory for the channel's files: %w", err)
	}
	// MkdirTemp already uses 0700; say so explicitly, whatever the umask.
	if err := os.Chmod(dir, 0o700); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// ObjectDir is this process's directory of object records.
func ObjectDir() string { return objectDir(os.Getpid()) }

func objectDir(pid int) string {
	return filepath.Join(os.TempDir(), fmt.Sprintf("%s%d-objects", TempDirPrefix, pid))
}

// IsObjectDir reports whether dir is the object directory of process pid.
func IsObjectDir(dir string, pid int) bool {
	return filepath.Base(dir) == filepath.Base(objectDir(pid))
}

// ObjectKind is a kind of named object that can outlive a killed run.
// Mechanisms record each object they create with Record and Forget it once
// removed; `ipcbench clean` and the conformance suite's leak check ask every
// mechanism's kinds (Caps.Objects).
type ObjectKind struct {
	// Kind is the record prefix, e.g. "sysvmsg", "posixmq": letters and
	// digits only.
	Kind string
	// What names the kind for a person, as in "removed System V message
	// queue 7": "System V message queue".
	What string
	// Remove removes the object recorded (by a dead process) as name with
	// proof, but only if it is provably still that object; it reports
	// whether it removed something. An object already gone is no error.
	Remove func(name, proof string) (bool, error)
	// Exists reports whether the recorded object still exists (leak checks).
	Exists func(name, proof string) bool
}

var objectMu sync.Mutex

// Record records a named object this process just created, with whatever
// proves it is that object later (Remove receives it). Call Forget once the
// object is removed.
func Record(kind, name, proof string) error {
	if !validKind(kind) {
		return fmt.Errorf("object kind %q: want letters and digits only", kind)
	}
	objectMu.Lock()
	defer objectMu.Unlock()
	dir := ObjectDir()
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("cannot record the %s %s for cleaning up: %w", kind, name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, recordFile(kind, name)), []byte(proof+"\n"), 0o600); err != nil {
		return fmt.Errorf("cannot record the %s %s for cleaning up: %w", kind, name, err)
	}
	return nil
}

// Forget forgets a removed object, and the directory with its last record.
func Forget(kind, name string) {
	objectMu.Lock()
	defer objectMu.Unlock()
	dir := ObjectDir()
	os.Remove(filepath.Join(dir, recordFile(kind, name)))
	os.Remove(dir) // fails, harmlessly, while other objects are recorded
}

// recordFile is the name of a record: KIND-NAME, the name escaped so that
// any name (a POSIX queue's starts with a slash) makes one file name.
func recordFile(kind, name string) string {
	return kind + "-" + url.PathEscape(name)
}

func validKind(kind string) bool {
	if kind == "" {
		return false
	}
	for _, r := range kind {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

// ObjectRecord is an object recorded by some ipcbench process.
type ObjectRecord struct {
	Kind, Name, Proof string
	PID               int    // the process that created it
	File              string // the record
}

// Records lists the objects recorded by the process pid, or by every process
// when pid is 0. A file that is not a well-formed record is left out.
func Records(pid int) ([]ObjectRecord, error) {
	dirs := filepath.Join(os.TempDir(), TempDirPrefix+"*-objects")
	if pid != 0 {
		dirs = objectDir(pid)
	}
	files, err := filepath.Glob(filepath.Join(dirs, "*-*"))
	if err != nil {
		return nil, err
	}
	var recs []ObjectRecord
	for _, f := range files {
		owner, ok := OwnerPID(filepath.Dir(f))
		if !ok || !IsObjectDir(filepath.Dir(f), owner) {
			continue
		}
		kind, esc, _ := strings.Cut(filepath.Base(f), "-")
		name, err1 := url.PathUnescape(esc)
		b, err2 := os.ReadFile(f)
		if err1 != nil || err2 != nil || !validKind(kind) {
			continue // not a record of ours
		}
		recs = append(recs, ObjectRecord{Kind: kind, Name: name, Proof: strings.TrimSuffix(string(b), "\n"), PID: owner, File: f})
	}
	return recs, nil
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
