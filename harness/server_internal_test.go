package harness

import (
	"math"
	"testing"
)

// TestJain checks Jain's fairness index on cases worked out by hand.
func TestJain(t *testing.T) {
	for _, c := range []struct {
		x    []float64
		want float64
	}{
		{[]float64{5, 5, 5, 5}, 1},           // all served equally
		{[]float64{8, 0, 0, 0}, 0.25},        // one got everything: 1/n
		{[]float64{3, 1}, 0.8},               // 16 / (2 x 10)
		{[]float64{1, 2, 3, 4}, 100.0 / 120}, // 10^2 / (4 x 30)
		{[]float64{1000}, 1},                 // one client is always fair
		{nil, 0},
		{[]float64{0, 0}, 0},
	} {
		if got := Jain(c.x); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Jain(%v) = %v, want %v", c.x, got, c.want)
		}
	}
}
