package posixmq

import (
	"fmt"
	"os"
	"strings"

	"github.com/ipcbench/ipcbench/ipc"

	"golang.org/x/sys/unix"
)

// A queue a killed run left behind lives until it is unlinked (or the
// machine restarts), so every queue is recorded with ipc.Record, and
// `ipcbench clean` asks ObjectKind to remove it once its run is dead.
//
// The proof recorded is the queue's inode number and change time, read with
// fstat(2) on its descriptor (an mqd_t is a file descriptor on Linux, on an
// inode of the mqueue file system). A queue of the same name made since, by
// anyone, is a new inode. Reading it needs no mount of /dev/mqueue.

// ObjectKind is how `ipcbench clean` and the leak checks find and remove a
// killed run's queues.
func ObjectKind() ipc.ObjectKind {
	return ipc.ObjectKind{Kind: Kind, What: "POSIX message queue", Remove: removeRecorded, Exists: existsRecorded}
}

// proofOf is "INODE:CTIME_SEC.CTIME_NSEC" of the queue open as mqd.
func proofOf(mqd int) (string, error) {
	var st unix.Stat_t
	if err := unix.Fstat(mqd, &st); err != nil {
		return "", fmt.Errorf("cannot record the POSIX message queue for cleaning up: fstat: %w", err)
	}
	return formatProof(&st), nil
}

func formatProof(st *unix.Stat_t) string {
	return fmt.Sprintf("%d:%d.%09d", st.Ino, st.Ctim.Sec, st.Ctim.Nsec)
}

// inspect opens the queue name without changing it (O_RDONLY|O_NONBLOCK
// receives nothing) and reads its inode. It returns false if there is no
// such queue or it cannot be opened.
func inspect(name string) (unix.Stat_t, bool) {
	var st unix.Stat_t
	mqd, err := mqOpen(name, unix.O_RDONLY|unix.O_NONBLOCK, 0, nil)
	if err != nil {
		return st, false
	}
	defer unix.Close(mqd)
	if unix.Fstat(mqd, &st) != nil {
		return st, false
	}
	return st, true
}

// existsRecorded reports whether the queue recorded as name with proof
// still exists.
func existsRecorded(name, proof string) bool {
	st, ok := inspect(name)
	return ok && formatProof(&st) == strings.TrimSpace(proof)
}

// removeRecorded unlinks the queue recorded as name with proof, but only if
// it is provably the one ipcbench made: one of ipcbench's names, made by a
// process that no longer runs, owned by this user with mode 0600, and the
// very inode recorded. Anything else (a queue gone, or another queue that has
// the name since) is left alone and is no error.
func removeRecorded(name, proof string) (bool, error) {
	pid, ok := parseName(name)
	if !ok || processExists(pid) {
		return false, nil
	}
	st, ok := inspect(name)
	if !ok || int(st.Uid) != os.Getuid() || st.Mode&0o7777 != 0o600 || formatProof(&st) != strings.TrimSpace(proof) {
		return false, nil
	}
	if err := mqUnlink(name); err != nil {
		if err == errENOENT {
			return false, nil
		}
		return false, fmt.Errorf("cannot remove POSIX message queue %s: %w", name, err)
	}
	return true, nil
}

// processExists reports whether a process with this id runs (or is a zombie
// not yet reaped); a process of another user counts.
func processExists(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || err == unix.EPERM
}
