// Package shmem is memory shared between two processes without a name: a
// memfd, mapped MAP_SHARED by the process that creates it and, through the
// inherited descriptor, by its peer. Nothing is left behind by a crash: the
// memory goes away with the last mapping and descriptor, and no file system
// holds a name for it. The shm mechanism and the harness's cache-line floor
// both use it.
package shmem

import (
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Name is the memfd's name, as /proc/PID/maps shows it ("/memfd:ipcbench
// (deleted)"): a leak check looks for it.
const Name = "ipcbench"

// Create makes size bytes of shared memory, zeroed, and maps it. The file is
// what to hand the peer (it is close-on-exec, as every Go descriptor, until
// exec.Cmd.ExtraFiles passes it on); closing it does not unmap the memory.
func Create(size int) (*os.File, []byte, error) {
	fd, err := unix.MemfdCreate(Name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "memfd:"+Name)
	if err := f.Truncate(int64(size)); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("sizing the shared memory to %d bytes: %w", size, err)
	}
	mem, err := Map(f, size)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, mem, nil
}

// Map maps size bytes of the shared memory in f, read and write, shared.
// The mapping outlives f: the caller may close f at once.
func Map(f *os.File, size int) ([]byte, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, fmt.Errorf("inspecting the shared memory: %w", err)
	}
	if st.Size < int64(size) {
		return nil, fmt.Errorf("the shared memory has %d bytes, %d expected", st.Size, size)
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return nil, fmt.Errorf("mapping the shared memory: %w", err)
	}
	return mem, nil
}

// Unmap releases a mapping made by Create or Map.
func Unmap(mem []byte) error { return unix.Munmap(mem) }

// Uint64 is the 8-byte word at off in mem, for sync/atomic. off must be a
// multiple of 8; the mapping is page-aligned.
func Uint64(mem []byte, off int) *atomic.Uint64 {
	_ = mem[off+7]
	return (*atomic.Uint64)(unsafe.Pointer(&mem[off]))
}

// Uint32 is the 4-byte word at off in mem, for sync/atomic and futexes. off
// must be a multiple of 4.
func Uint32(mem []byte, off int) *atomic.Uint32 {
	_ = mem[off+3]
	return (*atomic.Uint32)(unsafe.Pointer(&mem[off]))
}
