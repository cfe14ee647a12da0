package harness

import (
	"math/bits"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ipcbench/ipcbench/results"
)

// cpuSampleMask sets how often a measuring loop asks which CPU it is on:
// every 256 messages, and once as it starts. A getcpu call costs well under
// a microsecond, so this is far below the noise of any message.
const cpuSampleMask = 255

// cpuSampler records the CPUs one measuring thread was seen on. It is
// allocated with its side and allocates nothing when it samples.
type cpuSampler struct {
	seen [4]uint64 // bit i: seen on CPU i (CPUs from 256 up are not told apart)
}

// sample records the CPU the calling thread runs on now.
func (s *cpuSampler) sample() {
	var cpu uint32
	if _, _, errno := unix.RawSyscall(unix.SYS_GETCPU, uintptr(unsafe.Pointer(&cpu)), 0, 0); errno != 0 {
		return
	}
	cpu = min(cpu, 255)
	s.seen[cpu/64] |= 1 << (cpu % 64)
}

func (s *cpuSampler) reset() { s.seen = [4]uint64{} }

// cpus are the CPUs seen, ascending.
func (s *cpuSampler) cpus() []int {
	var out []int
	for w, word := range s.seen {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			out = append(out, w*64+b)
			word &^= 1 << b
		}
	}
	return out
}

// placementOf says where one pair's two sides ran: always on one and the
// same CPU, always on two different ones, or neither (a side moved). Empty
// when a side has no samples.
func placementOf(driver, peer []int) string {
	switch {
	case len(driver) == 0 || len(peer) == 0:
		return ""
	case len(driver) == 1 && len(peer) == 1 && driver[0] == peer[0]:
		return results.SameCPU
	case len(driver) == 1 && len(peer) == 1:
		return results.CrossCPU
	}
	return results.MixedCPU
}

// combinePlacements is a cell's placement from its pairs': theirs when they
// all agree, MixedCPU when they do not, empty when one is unknown.
func combinePlacements(ps []string) string {
	out := ""
	for i, p := range ps {
		switch {
		case p == "":
			return ""
		case i == 0:
			out = p
		case p != out:
			out = results.MixedCPU
		}
	}
	return out
}

// unionCPUs merges ascending lists of CPUs.
func unionCPUs(a, b []int) []int {
	var out []int
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i] < b[j]):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i, j = i+1, j+1
		}
	}
	return out
}
