package results

import (
	"math"
	"testing"

	"golang.org/x/perf/benchmath"
)

// TestMinUTestP checks the smallest possible p against benchmath itself:
// two samples that do not overlap at all give it.
func TestMinUTestP(t *testing.T) {
	for _, n := range [][2]int{{1, 1}, {2, 2}, {3, 3}, {4, 3}, {3, 4}, {4, 4}, {5, 5}, {1, 5}, {10, 10}} {
		a, b := make([]float64, n[0]), make([]float64, n[1])
		for i := range a {
			a[i] = float64(i)
		}
		for i := range b {
			b[i] = float64(100 + i)
		}
		got := MinUTestP(n[0], n[1])
		cmp := benchmath.AssumeNothing.Compare(benchmath.NewSample(a, &benchmath.DefaultThresholds), benchmath.NewSample(b, &benchmath.DefaultThresholds))
		if math.Abs(got-cmp.P) > 1e-9*cmp.P {
			t.Errorf("MinUTestP(%d, %d) = %v, benchmath gives %v", n[0], n[1], got, cmp.P)
		}
	}
	if p := MinUTestP(3, 3); math.Abs(p-0.1) > 1e-12 {
		t.Errorf("3 against 3: %v, want 0.1", p)
	}
}
