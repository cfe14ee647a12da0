package harness

import (
	"testing"

	"github.com/ipcbench/ipcbench/results"
)

// The plain progress lines are what a log of a run shows; their columns
// line up from cell to cell whatever the figures.
func TestCellProgressLine(t *testing.T) {
	for _, tc := range []struct {
		p          CellProgress
		name, line string
	}{
		{
			CellProgress{Done: 3, Total: 40, Mechanism: "pipe", Workload: results.PingPong, Size: 64, Round: 2,
				Result: &results.Result{RTT: &results.Stats{P50: 12000, P99: 40500}}},
			"pipe pingpong 64 B round 2",
			"[ 3/40] pipe       pingpong     64 B round 2  round trip p50 12µs  p99 40.5µs",
		},
		{
			CellProgress{Done: 12, Total: 40, Mechanism: "tcpsocket", Workload: results.Stream, Size: 64 << 10,
				Result: &results.Result{BytesPerS: 1.5e9, MsgsPerS: 22888.2}},
			"tcpsocket stream 64 KiB",
			"[12/40] tcpsocket  stream     64 KiB  1500.0 MB/s  22888 msg/s",
		},
		{
			CellProgress{Done: 1, Total: 2, Mechanism: "msgqueue", Workload: results.PingPong, Size: 1 << 20,
				Result: &results.Result{Error: "message larger than kernel.msgmnb"}},
			"msgqueue pingpong 1 MiB",
			"[1/2] msgqueue   pingpong    1 MiB  error: message larger than kernel.msgmnb",
		},
		{
			CellProgress{Done: 0, Total: 2, Mechanism: "pipe", Workload: results.Stream, Size: 100},
			"pipe stream 100 B",
			"[0/2] pipe       stream      100 B  started",
		},
	} {
		if got := tc.p.Name(); got != tc.name {
			t.Errorf("Name() = %q, want %q", got, tc.name)
		}
		if got := tc.p.Line(); got != tc.line {
			t.Errorf("Line() =\n\t%q, want\n\t%q", got, tc.line)
		}
	}
}
