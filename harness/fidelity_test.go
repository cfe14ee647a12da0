package harness_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/harness/harnesstest"
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

// TestFloors checks that a run measures memcpy bandwidth at every size it
// measures, and that every stream row is read against it.
func TestFloors(t *testing.T) {
	o := options(pipe.New())
	o.Sizes = []int{64, 4096, 65536}
	o.Count = 50
	f, err := harness.Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	fl := f.Meta.Floors
	if fl == nil {
		t.Fatal("meta.floors is missing")
	}
	for _, size := range o.Sizes {
		if v := fl.MemcpyBytesPerS[size]; !(v > 0) {
			t.Errorf("meta.floors.memcpy_bytes_per_s[%d] = %v, want positive", size, v)
		}
	}
	for _, r := range f.Results {
		if r.Error != "" {
			t.Errorf("%s %s %d: %s", r.Mechanism, r.Workload, r.SizeBytes, r.Error)
			continue
		}
		switch want := r.BytesPerS / (fl.MemcpyBytesPerS[r.SizeBytes] / 2); {
		case r.Workload == results.Stream && (r.CopyLimitFraction <= 0 || r.CopyLimitFraction != want):
			t.Errorf("stream %d B: copy_limit_fraction %v, want bytes/s over memcpy/2 = %v", r.SizeBytes, r.CopyLimitFraction, want)
		case r.Workload == results.PingPong && r.CopyLimitFraction != 0:
			t.Errorf("pingpong %d B has a copy_limit_fraction", r.SizeBytes)
		}
	}
}

// TestPayloadPlacement runs every mechanism at payload offsets 0 and 8 (and
// the last byte of a page), both workloads, every payload byte verified.
// The driver checks its own frames and the peer reports its buffer's page
// offset: a row without an error and with the offset asked for means both
// sides placed their payload there.
func TestPayloadPlacement(t *testing.T) {
	for _, mech := range mechs {
		t.Run(mech.Name(), func(t *testing.T) {
			o := options(mech)
			o.Offsets = []int{0, 8, 4095}
			o.Sizes = []int{64, 8193} // 8193: split where a kernel limit says so
			o.Count = 50
			o.Verify = true
			o.Timeout = 10 * time.Second
			f, err := harness.Run(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(f.Meta.Offsets, o.Offsets) {
				t.Errorf("meta.offsets = %v, want %v", f.Meta.Offsets, o.Offsets)
			}
			seen := map[int]int{}
			for _, r := range f.Results {
				if r.Error != "" {
					t.Errorf("%s %d B at offset %d: %s", r.Workload, r.SizeBytes, r.PayloadOffset, r.Error)
					continue
				}
				seen[r.PayloadOffset]++
				harnesstest.CheckRow(t, r, o.Count)
			}
			for _, off := range o.Offsets {
				if seen[off] != 4 {
					t.Errorf("%d rows at offset %d, want 4 (2 workloads x 2 sizes)", seen[off], off)
				}
				for _, size := range o.Sizes {
					if v := f.Meta.Floors.Memcpy(size, off); !(v > 0) {
						t.Errorf("no memcpy floor for %d B at offset %d: %+v", size, off, f.Meta.Floors)
					}
				}
			}
		})
	}
}
