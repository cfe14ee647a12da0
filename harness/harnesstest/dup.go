package harnesstest

import (
	"os"

	"golang.org/x/sys/unix"

	"github.com/ipcbench/ipcbench/ipc"
)

// dupFile duplicates f as exec hands a descriptor to a child: a new
// descriptor in blocking mode, made an os.File for mode as the peer does.
func dupFile(f *os.File, name string, mode ipc.IOMode) (*os.File, error) {
	sc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var nfd int
	var derr error
	if err := sc.Control(func(fd uintptr) { nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, derr
	}
	if err := unix.SetNonblock(nfd, false); err != nil {
		unix.Close(nfd)
		return nil, err
	}
	return ipc.InheritedFile(uintptr(nfd), name, mode)
}
