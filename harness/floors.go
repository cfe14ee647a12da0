package harness

import (
	"os"
	"runtime"
	"time"
	"unsafe"

	"github.com/ipcbench/ipcbench/internal/host"
	"github.com/ipcbench/ipcbench/results"
)

// floorBudget bounds the time measureFloors spends on all sizes and
// offsets together: the run's floors cost well under a second.
const floorBudget = 250 * time.Millisecond

// measureFloors measures user-space memory copy bandwidth (Go's copy, the
// runtime's memmove) at every message size and payload offset of the run,
// source and destination placed as the run's message buffers are, on the
// driver's CPU when the run pins one. A mechanism that copies each message
// into the kernel and out again cannot beat half of it: the two-copy limit
// against which stream rows' copy_limit_fraction is read.
func measureFloors(sizes, offsets []int, cpus []int) *results.Floors {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if len(cpus) == 2 {
		if restore, err := host.PinThread(cpus[0]); err == nil {
			defer restore()
		}
	}
	per := floorBudget / time.Duration(len(sizes)*len(offsets))
	per = min(max(per, 2*time.Millisecond), 20*time.Millisecond)
	f := &results.Floors{MemcpyBytesPerS: map[int]float64{}}
	if len(offsets) > 1 || offsets[0] != 0 {
		f.MemcpyByOffset = map[int]map[int]float64{}
	}
	for i, off := range offsets {
		bySize := map[int]float64{}
		for _, size := range sizes {
			bySize[size] = memcpyBandwidth(size, off, per)
		}
		if i == 0 {
			f.MemcpyBytesPerS = bySize
		}
		if f.MemcpyByOffset != nil {
			f.MemcpyByOffset[off] = bySize
		}
	}
	return f
}

// memcpyBandwidth copies size bytes between two buffers whose payload
// starts offset bytes past a page boundary, for about budget, and returns
// the best of three batches' bytes per second: a floor is what the machine
// can do, so interference is rejected, not averaged in.
func memcpyBandwidth(size, offset int, budget time.Duration) float64 {
	src, dst := placed(size, offset), placed(size, offset)
	for i := range src {
		src[i] = byte(i)
	}
	copy(dst, src) // fault the pages in
	batch := int64(budget / 3)
	// Read the clock once per 64 KiB or so copied, not once per copy:
	// at 64 bytes the clock would cost more than the copy.
	between := max(1, (64<<10)/size)
	var best float64
	for b := 0; b < 3; b++ {
		var n int64
		start := Now()
		elapsed := int64(0)
		for n == 0 || elapsed < batch {
			for range between {
				copy(dst, src)
			}
			n += int64(between)
			elapsed = Now() - start
		}
		best = max(best, float64(n)*float64(size)/(float64(elapsed)/1e9))
	}
	return best
}

// placed allocates size bytes that start offset bytes past a page boundary.
func placed(size, offset int) []byte {
	page := os.Getpagesize()
	b := make([]byte, size+offset+page)
	skip := (offset - int(uintptr(unsafe.Pointer(unsafe.SliceData(b))))%page + 2*page) % page
	return b[skip : skip+size : skip+size]
}

// copyLimitFraction is a stream row's bytes/s over the two-copy limit of
// its size and offset (memcpy bandwidth / 2); 0 when the floors lack it.
func copyLimitFraction(f *results.Floors, size, offset int, bytesPerS float64) float64 {
	m := f.Memcpy(size, offset)
	if m <= 0 {
		return 0
	}
	return bytesPerS / (m / 2)
}
