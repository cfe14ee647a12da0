package posixmq

import (
	"unsafe"

	"github.com/ipcbench/ipcbench/ipc"

	"golang.org/x/sys/unix"
)

// x/sys/unix has the POSIX message queue syscall numbers but no wrappers, so
// these are written here in the style of its zsyscall files, as msgqueue does
// for System V. mq_timedsend and mq_timedreceive, the calls of Send and
// Recv, go through ipc.Syscall6, which skips the runtime's bookkeeping only
// inside the harness's ipc.Unmanaged window; mq_open and the rest use
// unix.Syscall6.
//
// The kernel restarts mq_timedsend and mq_timedreceive after a handler with
// SA_RESTART only while no timeout is given, and a Go process takes signals all
// the time (preemption, SIGCHLD from the peer), so every wrapper retries EINTR
// itself rather than rely on it.

// attr is struct mq_attr: four C longs and four reserved ones. A C long is
// the size of a pointer on every Linux port Go supports, as is Go's int.
type attr struct {
	Flags    int // O_NONBLOCK or 0
	MaxMsg   int // the most messages the queue holds
	MsgSize  int // the most bytes one message carries
	CurMsgs  int // messages in the queue now
	reserved [4]int
}

// The errnos a queue returns in the normal course of things, boxed once so
// that an error path allocates nothing (as x/sys's errnoErr does).
var (
	errEAGAIN    error = unix.EAGAIN
	errEBADF     error = unix.EBADF
	errEMSGSIZE  error = unix.EMSGSIZE
	errETIMEDOUT error = unix.ETIMEDOUT
	errENOENT    error = unix.ENOENT
	errEEXIST    error = unix.EEXIST
)

func errnoErr(e unix.Errno) error {
	switch e {
	case 0:
		return nil
	case unix.EAGAIN:
		return errEAGAIN
	case unix.EBADF:
		return errEBADF
	case unix.EMSGSIZE:
		return errEMSGSIZE
	case unix.ETIMEDOUT:
		return errETIMEDOUT
	case unix.ENOENT:
		return errENOENT
	case unix.EEXIST:
		return errEEXIST
	}
	return e
}

// kernelName is the name the syscalls take: mq_open(3) strips the leading
// slash of a POSIX name before calling the kernel, which refuses names with
// a slash in them.
func kernelName(name string) (*byte, error) {
	if len(name) > 0 && name[0] == '/' {
		name = name[1:]
	}
	return unix.BytePtrFromString(name)
}

// mqOpen opens (or with O_CREAT creates) the queue name ("/NAME"). a sets the
// depth and message size of a queue it creates; nil takes the defaults.
func mqOpen(name string, flag int, mode uint32, a *attr) (int, error) {
	p, err := kernelName(name)
	if err != nil {
		return -1, err
	}
	for {
		r, _, e := unix.Syscall6(unix.SYS_MQ_OPEN, uintptr(unsafe.Pointer(p)), uintptr(flag|unix.O_CLOEXEC), uintptr(mode), uintptr(unsafe.Pointer(a)), 0, 0)
		if e == 0 {
			return int(r), nil
		}
		if e != unix.EINTR {
			return -1, errnoErr(e)
		}
	}
}

// mqUnlink removes the queue's name; the queue itself lives on until every
// descriptor of it is closed.
func mqUnlink(name string) error {
	p, err := kernelName(name)
	if err != nil {
		return err
	}
	for {
		_, _, e := unix.Syscall(unix.SYS_MQ_UNLINK, uintptr(unsafe.Pointer(p)), 0, 0)
		if e != unix.EINTR {
			return errnoErr(e)
		}
	}
}

// mqSend sends the n bytes at p with priority prio. It blocks while the queue
// is full unless the descriptor is non-blocking (then EAGAIN).
func mqSend(mqd int, p unsafe.Pointer, n int, prio uint) error {
	for {
		_, e := ipc.Syscall6(unix.SYS_MQ_TIMEDSEND, uintptr(mqd), uintptr(p), uintptr(n), uintptr(prio), 0, 0)
		if e != unix.EINTR {
			return errnoErr(e)
		}
	}
}

// mqReceive receives the oldest message of the highest priority into the n
// bytes at p, which must be at least the queue's message size (else
// EMSGSIZE), and returns its length; its priority goes to *prio if not nil.
func mqReceive(mqd int, p unsafe.Pointer, n int, prio *uint) (int, error) {
	for {
		r, e := ipc.Syscall6(unix.SYS_MQ_TIMEDRECEIVE, uintptr(mqd), uintptr(p), uintptr(n), uintptr(unsafe.Pointer(prio)), 0, 0)
		if e == 0 {
			return int(r), nil
		}
		if e != unix.EINTR {
			return -1, errnoErr(e)
		}
	}
}

// mqGetAttr reads the queue's attributes.
func mqGetAttr(mqd int) (attr, error) {
	var a attr
	_, _, e := unix.Syscall(unix.SYS_MQ_GETSETATTR, uintptr(mqd), 0, uintptr(unsafe.Pointer(&a)))
	return a, errnoErr(e)
}

// mqSetNonblock switches the descriptor's O_NONBLOCK, the one attribute
// mq_setattr changes.
func mqSetNonblock(mqd int, nonblock bool) error {
	var a attr
	if nonblock {
		a.Flags = unix.O_NONBLOCK
	}
	_, _, e := unix.Syscall(unix.SYS_MQ_GETSETATTR, uintptr(mqd), uintptr(unsafe.Pointer(&a)), 0)
	return errnoErr(e)
}
