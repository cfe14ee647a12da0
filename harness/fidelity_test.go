package harness_test

import (
	"context"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/pipe"
	"github.com/ipcbench/ipcbench/results"
)

// TestOneWayCountsOnlyMeasuredMessages runs a pingpong cell with a warm-up:
// the peer must record the one-way delay of the measured messages only,
// never of the warm-up's, so one-way n, round-trip n and the row's message
// count are the same number.
func TestOneWayCountsOnlyMeasuredMessages(t *testing.T) {
	o := options(pipe.New())
	o.Workloads = []string{results.PingPong}
	o.Warmup = 20 * time.Millisecond // at least one warm-up message, whatever the machine
	o.Timeout = 10 * time.Second
	f, err := harness.Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	r := f.Results[0]
	if r.Error != "" || r.RTT == nil || r.OneWay == nil {
		t.Fatalf("row %+v: want round-trip and one-way figures", r)
	}
	if r.Messages != count || r.RTT.N != count || r.OneWay.N != count {
		t.Errorf("messages %d, round-trip n %d, one-way n %d: want %d each (warm-up messages must not count)",
			r.Messages, r.RTT.N, r.OneWay.N, count)
	}
}
