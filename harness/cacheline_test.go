package harness_test

import (
	"context"
	"testing"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/harness/harnesstest"
	"github.com/ipcbench/ipcbench/pipe"
)

// TestCacheLineFloor: every local run records the cache-line round trip
// between two processes placed as its cells are, and leaves no process.
func TestCacheLineFloor(t *testing.T) {
	for _, cpus := range [][]int{nil, {0, 0}} {
		before := harnesstest.Snapshot(t)
		o := options(pipe.New())
		o.CPUs = cpus
		f, err := harness.Run(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		fl := f.Meta.Floors
		if fl == nil || fl.CacheLineError != "" || fl.CacheLineRTTNS <= 0 {
			t.Errorf("cpus %v: floors %+v, want a positive cacheline_rtt_ns and no error", cpus, fl)
		}
		before.CheckNothingLeft(t)
	}
}
