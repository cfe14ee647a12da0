package spin

import (
	"runtime"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// after returns a condition that holds from its n-th poll on.
func after(n int) func() bool {
	polls := 0
	return func() bool { polls++; return polls >= n }
}

func never() bool { return false }

// TestBudget: a wait that outlasts the budget halves it and yields when the
// other side may share this CPU (not known, or known to), and keeps it and
// goes on polling when the other side is known to run elsewhere; a wait
// that ends within the budget doubles it, up to MaxBudget.
func TestBudget(t *testing.T) {
	for _, tc := range []struct {
		name       string
		theirs     uint32 // 0: no place to say; else the other side's CPU plus one
		wantBudget int
		yields     bool
	}{
		{"not known", 0, MaxBudget / 2, true},
		{"same CPU", 1, MaxBudget / 2, true},
		{"elsewhere", 2, MaxBudget, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// On CPU 0, this goroutine's thread: each subtest runs on a
			// goroutine of its own.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var old, set unix.CPUSet
			unix.SchedGetaffinity(0, &old)
			set.Set(0)
			if err := unix.SchedSetaffinity(0, &set); err != nil {
				t.Skip(err)
			}
			defer unix.SchedSetaffinity(0, &old)
			w := New()
			var mine, theirs atomic.Uint32
			if tc.theirs != 0 {
				theirs.Store(tc.theirs)
				w.OnCPU(&mine, &theirs)
			}
			if !w.Until(after(MaxBudget+10), never) {
				t.Fatal("Until gave up on a condition that came true")
			}
			if w.budget != tc.wantBudget || (w.Yields > 0) != tc.yields {
				t.Errorf("budget %d, %d yields; want %d, yields %v", w.budget, w.Yields, tc.wantBudget, tc.yields)
			}
			if tc.theirs != 0 && mine.Load() != 1 {
				t.Errorf("this side said it runs on CPU %d, want 0", int(mine.Load())-1)
			}
			// Once both sides said they share a CPU, a wait spins only
			// MinBudget polls and leaves the budget as it is.
			want := min(2*tc.wantBudget, MaxBudget)
			if tc.theirs == 1 {
				want = tc.wantBudget
			}
			if !w.Until(after(3), never) || w.budget != want {
				t.Errorf("after a short wait the budget is %d, want %d", w.budget, want)
			}
			yields := w.Yields
			w.Until(after(MinBudget+5), never)
			if got := w.Yields > yields; got != (tc.theirs == 1) {
				t.Errorf("a wait of %d polls yielded: %v, want %v", MinBudget+5, got, tc.theirs == 1)
			}
		})
	}
}

// TestStopThenReady: a stop seen just after a poll found nothing still
// lets a condition that holds by then win, so that the last message sent
// before a close is not lost to it.
func TestStopThenReady(t *testing.T) {
	ready := after(2) // false at the first poll, true at the second
	if !New().Until(ready, func() bool { return true }) {
		t.Error("Until reported the stop although the condition held when it looked again")
	}
	if New().Until(never, func() bool { return true }) {
		t.Error("Until reported a condition that never held")
	}
}
