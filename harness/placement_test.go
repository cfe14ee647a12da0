package harness_test

import (
	"context"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/pipe"
	"github.com/ipcbench/ipcbench/results"
)

// TestPlacementIsRecorded pins both sides to one CPU, then to two, and
// checks that each row says where its sides ran and which CPUs they were
// seen on; unpinned, a row says one of the three placements.
func TestPlacementIsRecorded(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("needs two CPUs")
	}
	for _, c := range []struct {
		cpus []int
		want string
	}{{[]int{0, 0}, results.SameCPU}, {[]int{0, 1}, results.CrossCPU}, {nil, ""}} {
		o := options(pipe.New())
		o.CPUs = c.cpus
		o.Timeout = 10 * time.Second
		f, err := harness.Run(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range f.Results {
			if r.Error != "" {
				t.Fatalf("%v: row %+v", c.cpus, r)
			}
			if c.want == "" {
				if r.Placement != results.SameCPU && r.Placement != results.CrossCPU && r.Placement != results.MixedCPU {
					t.Errorf("unpinned %s: placement %q", r.Workload, r.Placement)
				}
				continue
			}
			want := &results.CPUsSeen{Driver: c.cpus[:1], Peer: c.cpus[1:]}
			if r.Placement != c.want || !reflect.DeepEqual(r.CPUsSeen, want) {
				t.Errorf("-cpus %v %s: placement %q seen %+v, want %q %+v", c.cpus, r.Workload, r.Placement, r.CPUsSeen, c.want, want)
			}
		}
	}
}
