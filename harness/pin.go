package harness

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// pinThread binds the calling thread, which must be locked with
// runtime.LockOSThread, to one CPU. It returns a function that gives the
// thread back its previous CPU set, to call before unlocking so that the
// pinning does not leak to whatever goroutine runs on the thread next.
func pinThread(cpu int) (restore func(), err error) {
	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return nil, fmt.Errorf("reading the CPU affinity: %w", err)
	}
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("cannot pin to CPU %d: %w", cpu, err)
	}
	return func() { unix.SchedSetaffinity(0, &old) }, nil
}

// AllowedCPUs lists the CPUs this process may run on.
func AllowedCPUs() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, err
	}
	var cpus []int
	for i := 0; i < len(set)*64; i++ {
		if set.IsSet(i) {
			cpus = append(cpus, i)
		}
	}
	return cpus, nil
}

// CheckCPUs refuses a placement this process cannot have.
func CheckCPUs(cpus []int) error {
	allowed, err := AllowedCPUs()
	if err != nil {
		return err
	}
	ok := map[int]bool{}
	for _, c := range allowed {
		ok[c] = true
	}
	for _, c := range cpus {
		if !ok[c] {
			return fmt.Errorf("CPU %d does not exist or is not allowed here (allowed: %v)", c, allowed)
		}
	}
	return nil
}
