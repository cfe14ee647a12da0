package harness

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Clean removes what ipcbench processes that no longer run left behind: the
// System V queues they recorded and their directories under the temporary
// directory (socket directories and queue records). It is what `ipcbench
// clean` does after a run was killed too hard to clean up after itself.
//
// It removes only what it can prove is ipcbench's, so that it never touches
// another program's queues (unlike scripts that remove every queue a user
// owns):
//
//   - only directories named TempDirPrefix<pid>-*, owned by this user, whose
//     process pid is gone (a live one is a run in progress);
//   - only queues recorded in such a process's object directory, and only if
//     the queue with that id still exists with the recorded creation time,
//     mode 0600 and this user as owner. Ids are reused: a queue created
//     since, by anyone, has another creation time and is left alone.
//
// It returns one line for each thing it removed, and the errors of what it
// could not remove.
func Clean() (removed []string, err error) {
	dirs, err := filepath.Glob(filepath.Join(os.TempDir(), TempDirPrefix+"*"))
	if err != nil {
		return nil, err
	}
	sort.Strings(dirs)
	queues, qerr := SysVQueues()
	var errs []error
	for _, dir := range dirs {
		pid, ok := OwnerPID(dir)
		if !ok || processExists(pid) || !ownedDir(dir) {
			continue
		}
		if filepath.Base(dir) == fmt.Sprintf("%s%d-objects", TempDirPrefix, pid) {
			if qerr != nil {
				// Without the list of queues nothing can be proved ours.
				errs = append(errs, fmt.Errorf("cannot list System V queues: %w", qerr))
				continue
			}
			r, err := cleanQueues(dir, pid, queues)
			removed = append(removed, r...)
			if err != nil {
				errs = append(errs, err)
				continue // keep the records of what is still there
			}
		}
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, fmt.Errorf("cannot remove %s: %w", dir, err))
			continue
		}
		removed = append(removed, fmt.Sprintf("removed %s (left by ipcbench process %d)", dir, pid))
	}
	return removed, joinErrors(errs)
}

// joinErrors makes one line of several errors (errors.Join would make one
// per line): ipcbench reports an error as one sentence.
func joinErrors(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return errors.New(strings.Join(msgs, "; "))
}

// cleanQueues removes the queues recorded in one dead process's object
// directory that are provably still the ones it created.
func cleanQueues(dir string, pid int, queues []QueueInfo) (removed []string, err error) {
	recs, err := TrackedQueues(pid)
	if err != nil {
		return nil, err
	}
	byID := map[int]QueueInfo{}
	for _, q := range queues {
		byID[q.ID] = q
	}
	var errs []error
	for _, rec := range recs {
		if filepath.Dir(rec.File) != dir {
			continue
		}
		q, exists := byID[rec.ID]
		if !exists || q.CTime != rec.CTime || q.Mode != 0o600 || q.UID != os.Getuid() {
			continue // gone, or a queue that is not the one recorded
		}
		if err := removeQueue(rec.ID); err != nil && err != unix.EINVAL && err != unix.EIDRM {
			errs = append(errs, fmt.Errorf("cannot remove System V queue %d: %w", rec.ID, err))
			continue
		}
		removed = append(removed, fmt.Sprintf("removed System V message queue %d (left by ipcbench process %d)", rec.ID, pid))
	}
	return removed, joinErrors(errs)
}

// removeQueue is msgctl(id, IPC_RMID). The msgqueue package has the
// mechanism's wrappers; the harness never imports a mechanism, and this is
// the one call cleaning needs.
func removeQueue(id int) error {
	_, _, e := unix.Syscall(unix.SYS_MSGCTL, uintptr(id), unix.IPC_RMID, 0)
	if e != 0 {
		return e
	}
	return nil
}

// processExists reports whether a process with this id runs (or is a
// zombie not yet reaped). A process of another user counts: EPERM says it
// exists. A dead run's id reused by another process keeps its leftovers
// until that process ends: too careful rather than too bold.
func processExists(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || err == unix.EPERM
}

// ownedDir reports whether path is a real directory (not a symbolic link)
// that belongs to this user.
func ownedDir(path string) bool {
	fi, err := os.Lstat(path)
	if err != nil || !fi.IsDir() {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid()
}
