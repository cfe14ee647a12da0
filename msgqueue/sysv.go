package msgqueue

import (
	"unsafe"

	"github.com/ipcbench/ipcbench/ipc"

	"golang.org/x/sys/unix"
)

// x/sys/unix has the System V message syscall numbers but no wrappers, so
// these are written here in the style of its zsyscall files. msgsnd and
// msgrcv, the calls of Send and Recv (pieces.go), go through ipc.Syscall6,
// which skips the runtime's bookkeeping only inside the harness's
// ipc.Unmanaged window; there, on amd64, Send and Recv make their calls
// from assembly instead (pieces_amd64.s).
//
// msgsnd and msgrcv are never restarted after a signal handler, even with
// SA_RESTART (signal(7)), and a Go process takes signals all the time
// (preemption, SIGCHLD from the peer), so both retry EINTR themselves.

// The errnos a queue returns in the normal course of things, boxed once so
// that an error path allocates nothing (as x/sys's errnoErr does).
var (
	errEAGAIN error = unix.EAGAIN
	errEINVAL error = unix.EINVAL
	errEIDRM  error = unix.EIDRM
	errE2BIG  error = unix.E2BIG
	errENOMSG error = unix.ENOMSG
	errEACCES error = unix.EACCES
	errENOSPC error = unix.ENOSPC
)

func errnoErr(e unix.Errno) error {
	switch e {
	case 0:
		return nil
	case unix.EAGAIN:
		return errEAGAIN
	case unix.EINVAL:
		return errEINVAL
	case unix.EIDRM:
		return errEIDRM
	case unix.E2BIG:
		return errE2BIG
	case unix.ENOMSG:
		return errENOMSG
	case unix.EACCES:
		return errEACCES
	case unix.ENOSPC:
		return errENOSPC
	}
	return e
}

// msgget returns the id of the queue for key, creating it as flag says.
func msgget(key, flag int) (int, error) {
	r, _, e := unix.Syscall6(unix.SYS_MSGGET, uintptr(key), uintptr(flag), 0, 0, 0, 0)
	if e != 0 {
		return -1, errnoErr(e)
	}
	return int(r), nil
}

// msgsnd sends the message at p: a C long mtype followed by size bytes of
// text (size excludes the mtype).
func msgsnd(id int, p unsafe.Pointer, size, flag int) error {
	for {
		_, e := ipc.Syscall6(unix.SYS_MSGSND, uintptr(id), uintptr(p), uintptr(size), uintptr(flag), 0, 0)
		if e != unix.EINTR {
			return errnoErr(e)
		}
	}
}

// msgrcv receives a message of at most size bytes of text into p (mtype
// first, then the text) and returns the length of the text.
func msgrcv(id int, p unsafe.Pointer, size, typ, flag int) (int, error) {
	for {
		r, e := ipc.Syscall6(unix.SYS_MSGRCV, uintptr(id), uintptr(p), uintptr(size), uintptr(typ), uintptr(flag), 0)
		if e == 0 {
			return int(r), nil
		}
		if e != unix.EINTR {
			return -1, errnoErr(e)
		}
	}
}

// msgctl runs a control command on a queue; buf is the command's struct or nil.
func msgctl(id, cmd int, buf unsafe.Pointer) error {
	_, _, e := unix.Syscall6(unix.SYS_MSGCTL, uintptr(id), uintptr(cmd), uintptr(buf), 0, 0, 0)
	return errnoErr(e)
}

// rmid removes a queue. Every process blocked on it wakes with EIDRM, and
// later calls with its id fail with EINVAL.
func rmid(id int) error { return msgctl(id, unix.IPC_RMID, nil) }

// stat reports whether a queue can be used: nil if it exists and is ours to
// read, EINVAL or EIDRM once it has been removed.
func stat(id int) error {
	// struct msqid64_ds is 120 bytes on 64-bit Linux and smaller on 32-bit;
	// the figures in it are not needed, only whether the call succeeds.
	var buf [64]uint64
	return msgctl(id, unix.IPC_STAT, unsafe.Pointer(&buf[0]))
}

// gone reports whether a queue has been removed.
func gone(id int) bool {
	err := stat(id)
	return err == errEINVAL || err == errEIDRM
}
