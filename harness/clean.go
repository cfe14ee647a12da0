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

	"github.com/ipcbench/ipcbench/ipc"
)

// Clean removes what ipcbench processes that no longer run left behind: the
// named objects they recorded (ipc.Record) and their directories under the
// temporary directory (socket directories, FIFOs, object records). It is
// what `ipcbench clean` does after a run was killed too hard to clean up
// after itself. kinds are the kinds of object the mechanisms make
// (ipc.Caps.Objects of every mechanism); main hands the list.
//
// It removes only what it can prove is ipcbench's, so that it never touches
// another program's objects (unlike scripts that remove every queue a user
// owns):
//
//   - only directories named ipc.TempDirPrefix<pid>-*, owned by this user,
//     whose process pid is gone (a live one is a run in progress);
//   - only objects recorded in such a process's object directory, and only
//     if the object's kind proves it is still the one recorded (a System V
//     queue with the recorded creation time, mode 0600 and this user as
//     owner: ids are reused, and a queue created since, by anyone, is left
//     alone). A record of a kind no mechanism claims is kept, with its
//     directory, and reported.
//
// It returns one line for each thing it removed, and the errors of what it
// could not remove.
func Clean(kinds []ipc.ObjectKind) (removed []string, err error) {
	dirs, err := filepath.Glob(filepath.Join(os.TempDir(), ipc.TempDirPrefix+"*"))
	if err != nil {
		return nil, err
	}
	sort.Strings(dirs)
	byKind := map[string]ipc.ObjectKind{}
	for _, k := range kinds {
		byKind[k.Kind] = k
	}
	var errs []error
	for _, dir := range dirs {
		pid, ok := ipc.OwnerPID(dir)
		if !ok || processExists(pid) || !ownedDir(dir) {
			continue
		}
		if ipc.IsObjectDir(dir, pid) {
			r, err := cleanObjects(pid, byKind)
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

// cleanObjects removes the objects recorded by one dead process that are
// provably still the ones it created.
func cleanObjects(pid int, kinds map[string]ipc.ObjectKind) (removed []string, err error) {
	recs, err := ipc.Records(pid)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, rec := range recs {
		k, ok := kinds[rec.Kind]
		if !ok {
			errs = append(errs, fmt.Errorf("%s records an object of kind %q that no mechanism of this ipcbench knows: left alone", rec.File, rec.Kind))
			continue
		}
		gone, err := k.Remove(rec.Name, rec.Proof)
		if err != nil {
			errs = append(errs, fmt.Errorf("cannot remove %s %s: %w", k.What, rec.Name, err))
			continue
		}
		if gone {
			removed = append(removed, fmt.Sprintf("removed %s %s (left by ipcbench process %d)", k.What, rec.Name, pid))
		}
	}
	return removed, joinErrors(errs)
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
