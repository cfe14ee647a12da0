package host

import (
	"runtime"
	"testing"
)

// TestRseqLeavesNothingRegistered: the probe's own registration is undone,
// so asking again on the same thread gets the same answer (a registration
// left behind would make the second probe say true).
func TestRseqLeavesNothingRegistered(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	first := Rseq()
	for i := 0; i < 3; i++ {
		if got := Rseq(); got != first {
			t.Fatalf("probe %d said %v, the first said %v: the probe left its area registered", i+2, got, first)
		}
	}
}
