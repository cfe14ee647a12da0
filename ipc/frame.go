package ipc

import (
	"fmt"
	"os"
	"unsafe"
)

// pageSize is the size of a memory page, the unit NewFrame aligns to.
var pageSize = os.Getpagesize()

// NewFrame allocates a frame whose message frame[headroom:] has room for
// size bytes and starts exactly offset bytes past a page boundary (offset 0:
// page-aligned), with headroom bytes in front. Both sides of every mechanism
// allocate their buffers with it, so where the payload lies is a setting of
// the run (Config.Offset) and not an accident of the allocator.
//
// It allocates a page more than it needs and slices. A plain
// make([]byte, headroom+size) would not do: Go hands out large objects
// page-aligned, so the payload would start headroom bytes (8 for System V's
// mtype) past a page, and on AMD Zen 3 the kernel's copy of a buffer that is
// not aligned the same way as its destination runs at about half speed
// (rep movsb). The frame's capacity ends with its length, so an append can
// never grow into the spare bytes.
//
// headroom and size must not be negative and offset must be below the page
// size; anything else is a programming error and panics.
func NewFrame(headroom, size, offset int) []byte {
	if headroom < 0 || size < 0 || offset < 0 || offset >= pageSize {
		panic(fmt.Sprintf("ipc.NewFrame(%d, %d, %d): headroom and size must be >= 0 and offset in [0, %d)", headroom, size, offset, pageSize))
	}
	n := headroom + size
	buf := make([]byte, n+pageSize)
	addr := int(uintptr(unsafe.Pointer(unsafe.SliceData(buf))))
	// The payload is at addr+p+headroom; make it offset past a page.
	p := ((offset-headroom-addr)%pageSize + pageSize) % pageSize
	return buf[p : p+n : p+n]
}

// PayloadOffset is where frame[headroom:] starts relative to the page it is
// in: what NewFrame's offset asked for.
func PayloadOffset(frame []byte, headroom int) int {
	return int((uintptr(unsafe.Pointer(unsafe.SliceData(frame))) + uintptr(headroom)) % uintptr(pageSize))
}
