// Package spin is how ipcbench busy-waits on memory shared between two
// processes without ever livelocking: a bounded spin, then sched_yield, then
// short naps. The shm-spin mechanism and the harness's cache-line floor use
// the same policy, so that the floor is measured the way the ring waits.
//
// Why bounded: with both sides on one CPU (-cpus 0,0) a side that spins holds
// the only CPU its peer could use to make progress, so an unbounded spin
// lasts until the scheduler preempts it, a whole time slice per message.
// Spinning only pays when the other side runs at the same time, elsewhere.
// The budget adapts: a wait that ends while spinning doubles it (up to
// MaxBudget), a wait that outlasts it halves it (down to MinBudget) when
// the other side may be on this CPU. With the two sides on different CPUs
// the budget stays high and no wait makes a syscall; on one CPU it sinks to
// MinBudget polls and every wait yields the CPU to the peer at once.
//
// Whether the other side is on this CPU is known when the Waiter has a
// place to say so (OnCPU): each side stores the CPU it runs on there when a
// wait outlasts its budget, and reads the other's. A side that waits on a
// peer running elsewhere (preempted for a while on a busy machine, or
// merely slower) keeps polling for another MaxBudget polls before it
// yields, and keeps its budget: yielding would only lose its CPU to
// whatever else runs there.
package spin

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	// MinBudget and MaxBudget bound how many polls a wait spins before it
	// yields. One poll is a load and a PAUSE, 30-140 cycles by CPU.
	MinBudget = 16
	MaxBudget = 1 << 16
	// YieldsBeforeNap is how many sched_yield calls a wait makes before it
	// naps: a peer that has not run for that long is descheduled or gone,
	// and the waiting side should stop burning its CPU.
	YieldsBeforeNap = 200
	// Nap is how long one nap lasts (nanosleep).
	Nap = 50_000 // ns
	// LongWait is how many polls make a wait long enough to check, with a
	// getcpu call, where this side runs: some 100 µs, against which the
	// call is nothing.
	LongWait = 4096
)

// A Waiter is one side's spin policy; it remembers its budget from wait to
// wait. It belongs to one goroutine. The zero value is not ready: use New.
type Waiter struct {
	budget int
	// mine and theirs, when set, are where this side says which CPU it runs
	// on (the CPU's number plus one) and where the other side does; 0 is
	// not known yet.
	mine, theirs *atomic.Uint32
	// Yields counts the sched_yield and nanosleep calls made: the only
	// syscalls a spinning side makes (see the cost-per-message work).
	Yields int64
}

// New returns a Waiter that starts with the largest budget.
func New() *Waiter { return &Waiter{budget: MaxBudget} }

// OnCPU gives w words in memory shared with the other side: mine, where w
// says which CPU it runs on, and theirs, where the other side does.
func (w *Waiter) OnCPU(mine, theirs *atomic.Uint32) *Waiter {
	w.mine, w.theirs = mine, theirs
	return w
}

// where says which CPU this thread runs on, and returns it plus one (0 if
// it cannot tell).
func (w *Waiter) where() uint32 {
	var cpu uint32
	if _, _, e := unix.RawSyscall(unix.SYS_GETCPU, uintptr(unsafe.Pointer(&cpu)), 0, 0); e != 0 {
		return 0
	}
	w.mine.Store(cpu + 1)
	return cpu + 1
}

// elsewhere reports whether the other side is known to run on another CPU
// than this thread, saying first where this thread runs.
func (w *Waiter) elsewhere() bool {
	if w.mine == nil {
		return false
	}
	mine, theirs := w.where(), w.theirs.Load()
	return mine != 0 && theirs != 0 && theirs != mine
}

// sharing reports whether the two sides last said they run on one CPU.
func (w *Waiter) sharing() bool {
	if w.mine == nil {
		return false
	}
	mine := w.mine.Load()
	return mine != 0 && mine == w.theirs.Load()
}

// Until waits until ready returns true, or stop does; it reports whether
// ready did. Once stop returns true it asks ready once more, so that what
// happened before the stop (the last message, then the close) is never lost
// to a stop seen an instant after ready was polled.
//
// A wait that ends while spinning can still have lasted long: on a shared
// CPU the peer answers only once the scheduler preempts this side. A wait
// of LongWait polls or more therefore says where this side runs, and one
// whose two sides last said they share a CPU spins only MinBudget polls.
func (w *Waiter) Until(ready, stop func() bool) bool {
	budget, shared := w.budget, w.sharing()
	if shared {
		budget = MinBudget
	}
	for i := 0; i < budget; i++ {
		if ready() {
			if i >= LongWait && w.mine != nil {
				w.where()
			}
			if !shared && w.budget < MaxBudget {
				w.budget *= 2
			}
			return true
		}
		if stop() {
			return ready()
		}
		Pause()
	}
	if w.elsewhere() {
		for i := 0; i < MaxBudget; i++ {
			if ready() {
				return true
			}
			if stop() {
				return ready()
			}
			Pause()
		}
	} else if w.budget > MinBudget {
		w.budget /= 2
	}
	for n := 0; ; n++ {
		if ready() {
			return true
		}
		if stop() {
			return ready()
		}
		w.Yields++
		if n < YieldsBeforeNap {
			Yield()
		} else {
			ts := unix.Timespec{Nsec: Nap}
			unix.Nanosleep(&ts, nil)
		}
	}
}

// Yield gives the CPU to another runnable thread, if there is one
// (sched_yield). It is a raw syscall, out of the Go scheduler's sight: the
// scheduler's syscall path would hand this thread's P to another thread,
// which with the whole process on one CPU (-io go -cpus 0,0) then takes the
// CPU the peer was meant to get.
func Yield() { unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0) }
