package main

import (
	"context"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/results"
)

// The benchmarks measure every mechanism through the same harness as
// `ipcbench run`, one sub-benchmark per mechanism and size, so that Go users
// get figures benchstat can compare:
//
//	go test -run '^$' -bench . -count 10 ./cmd/ipcbench | tee new.txt
//	benchstat old.txt new.txt
//
// Each iteration is one message (a round trip for BenchmarkPingPong). ns/op
// is the harness's own elapsed time over the messages, not the benchmark's
// wall time, which would include starting the peer process. The flags below
// choose the io mode, placement and sizes, e.g.
//
//	go test -run '^$' -bench PingPong ./cmd/ipcbench -ipcbench.cpus 0,0 -ipcbench.sizes 64
var (
	benchIO    = flag.String("ipcbench.io", "raw", "benchmarks: io mode, raw or go")
	benchCPUs  = flag.String("ipcbench.cpus", "", "benchmarks: pin driver and peer to these CPUs, e.g. 0,1")
	benchSizes = flag.String("ipcbench.sizes", "64,4K,64K", "benchmarks: message sizes")
)

func BenchmarkPingPong(b *testing.B) { benchWorkload(b, results.PingPong) }

func BenchmarkStream(b *testing.B) { benchWorkload(b, results.Stream) }

func benchWorkload(b *testing.B, workload string) {
	sizes, err := harness.ParseSizes(*benchSizes)
	if err != nil {
		b.Fatalf("-ipcbench.sizes: %v", err)
	}
	var cpus []int
	if *benchCPUs != "" {
		if cpus, err = parseCPUs(*benchCPUs); err != nil {
			b.Fatalf("-ipcbench.cpus: %v", err)
		}
	}
	for _, t := range mechanisms {
		for _, size := range sizes {
			b.Run(fmt.Sprintf("mech=%s/size=%d", t.Name(), size), func(b *testing.B) {
				f, err := harness.Run(context.Background(), harness.Options{
					Transports: []ipc.Transport{t},
					Workloads:  []string{workload},
					Sizes:      []int{size},
					Count:      int64(b.N),
					Warmup:     20 * time.Millisecond,
					Rounds:     1,
					Pairs:      1,
					IO:         ipc.IOMode(*benchIO),
					CPUs:       cpus,
					Timeout:    10 * time.Second,
				})
				if err != nil {
					b.Fatal(err)
				}
				if len(f.Results) != 1 {
					b.Fatalf("got %d rows, want 1", len(f.Results))
				}
				r := f.Results[0]
				if r.Failed() {
					b.Fatal(r.Error)
				}
				if r.Messages != int64(b.N) || r.ElapsedNS <= 0 {
					b.Fatalf("the harness measured %d messages in %d ns, want %d", r.Messages, r.ElapsedNS, b.N)
				}
				b.ReportMetric(float64(r.ElapsedNS)/float64(r.Messages), "ns/op")
				if r.RTT != nil {
					b.ReportMetric(float64(r.RTT.P50), "p50-ns")
					b.ReportMetric(float64(r.RTT.P99), "p99-ns")
				}
				b.ReportMetric(r.BytesPerS/1e6, "MB/s")
			})
		}
	}
}
