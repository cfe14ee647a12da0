package harness

import (
	"reflect"
	"testing"

	"github.com/ipcbench/ipcbench/results"
)

func TestPlacementOf(t *testing.T) {
	for _, c := range []struct {
		d, p []int
		want string
	}{
		{[]int{1}, []int{1}, results.SameCPU},
		{[]int{0}, []int{1}, results.CrossCPU},
		{[]int{0, 1}, []int{1}, results.MixedCPU},
		{nil, []int{1}, ""},
	} {
		if got := placementOf(c.d, c.p); got != c.want {
			t.Errorf("placementOf(%v, %v) = %q, want %q", c.d, c.p, got, c.want)
		}
	}
	if got := combinePlacements([]string{results.SameCPU, results.CrossCPU}); got != results.MixedCPU {
		t.Errorf("pairs that disagree: %q", got)
	}
	if got := combinePlacements([]string{results.CrossCPU, results.CrossCPU}); got != results.CrossCPU {
		t.Errorf("pairs that agree: %q", got)
	}
	if got := unionCPUs([]int{0, 2, 5}, []int{1, 2, 7}); !reflect.DeepEqual(got, []int{0, 1, 2, 5, 7}) {
		t.Errorf("union %v", got)
	}
}

func TestCPUSamplerAllocatesNothing(t *testing.T) {
	var s cpuSampler
	if a := testing.AllocsPerRun(100, s.sample); a != 0 {
		t.Errorf("sample allocates %v times", a)
	}
	if len(s.cpus()) == 0 {
		t.Error("no CPU recorded")
	}
}
