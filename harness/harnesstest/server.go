package harnesstest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/results"
)

// ServerSizes and ServerClients are the cells RunServer runs: a small
// message and a page, one client and several.
var (
	ServerSizes   = []int{64, 4096}
	ServerClients = []int{1, 3}
)

// ServerCount is the round trips (or transactions) of each client.
const ServerCount = 100

// RunServer runs the server and connect workloads of one mechanism in both
// IO modes, every payload byte verified: every client's requests must all
// be answered and counted, every client served the same number of times,
// and nothing left behind. A connect cell of a mechanism without
// connections must be a skipped row that says why, with no figures.
func RunServer(t *testing.T, tr ipc.Transport) {
	for _, mode := range []ipc.IOMode{ipc.IORaw, ipc.IOGo} {
		t.Run("io="+string(mode), func(t *testing.T) {
			before := Snapshot(t)
			f, err := harness.Run(context.Background(), harness.Options{
				Transports: []ipc.Transport{tr},
				Workloads:  []string{results.Server, results.Connect},
				Sizes:      ServerSizes,
				Clients:    ServerClients,
				Count:      ServerCount,
				Rounds:     1,
				IO:         mode,
				Pairs:      1,
				Timeout:    30 * time.Second,
				Verify:     true,
			})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(f.Results), 2*len(ServerSizes)*len(ServerClients); got != want {
				t.Fatalf("got %d rows, want %d", got, want)
			}
			for _, r := range f.Results {
				CheckServerRow(t, r, ServerCount)
			}
			before.CheckNothingLeft(t)
		})
	}
}

// CheckServerRow checks a server or connect row of clients that each made
// count requests: all of them counted and timed, or a skipped row.
func CheckServerRow(t *testing.T, r results.Result, count int64) {
	t.Helper()
	name := fmt.Sprintf("%s %s %d B %d clients", r.Mechanism, r.Workload, r.SizeBytes, r.Clients)
	if r.Clients < 1 {
		t.Errorf("%s: the row does not say how many clients", name)
	}
	if r.Error != "" {
		t.Errorf("%s: %s", name, r.Error)
		return
	}
	if r.Skipped != "" {
		if r.Messages != 0 || r.RTT != nil || r.MsgsPerS != 0 || r.ConnectionsPerS != 0 {
			t.Errorf("%s: a skipped row has figures: %+v", name, r)
		}
		if len(r.Skipped) < 10 {
			t.Errorf("%s: skipped with %q: say why", name, r.Skipped)
		}
		return
	}
	want := count * int64(r.Clients)
	if r.Messages != want {
		t.Errorf("%s: %d requests, want %d (%d from each client)", name, r.Messages, want, count)
	}
	answered := want // over a lossy mechanism, those not given up on
	if r.Lost != nil {
		answered -= *r.Lost
	}
	if r.RTT == nil || r.RTT.N != answered {
		t.Fatalf("%s: want round trips of %d requests, got %+v", name, answered, r.RTT)
	}
	if s := r.RTT; !(0 < s.Min && s.Min <= s.P50 && s.P50 <= s.P99 && s.P99 <= s.Max) {
		t.Errorf("%s: round-trip figures out of order: %+v", name, *s)
	}
	if r.MsgsPerS <= 0 || r.ElapsedNS <= 0 || r.RTTHistogram == "" {
		t.Errorf("%s: msgs/s %v, elapsed %d, histogram %d bytes: want them all", name, r.MsgsPerS, r.ElapsedNS, len(r.RTTHistogram))
	}
	if !strings.Contains(r.Note, "server:") {
		t.Errorf("%s: the note %q does not say how the server served the clients", name, r.Note)
	}
	switch r.Workload {
	case results.Server:
		// Each client made exactly count requests: they were served equally.
		if r.Fairness != 1 && r.Lost == nil {
			t.Errorf("%s: fairness %v, want 1 for clients of %d requests each", name, r.Fairness, count)
		}
		if r.Lost != nil {
			break // the server saw what arrived, late ones too
		}
		if r.OneWay == nil || r.OneWay.N != want {
			t.Errorf("%s: one-way figures %+v, want %d of them", name, r.OneWay, want)
		}
	case results.Connect:
		if r.ConnectionsPerS <= 0 || r.Connect == nil || r.Connect.N != want {
			t.Errorf("%s: %v connections/s, connect figures %+v: want %d connections", name, r.ConnectionsPerS, r.Connect, want)
		}
		if r.Connect != nil && r.Connect.P50 > r.RTT.Max {
			t.Errorf("%s: connect() p50 %d ns is longer than the longest transaction, %d ns", name, r.Connect.P50, r.RTT.Max)
		}
	}
}
