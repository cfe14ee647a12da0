// Package harnesstest is the conformance suite every mechanism runs: the
// real workloads between two real processes, every payload byte verified,
// and nothing left behind (Run). Stream-socket transports also run an
// in-process suite of their own contract (RunStreamSocketSuite).
//
// A mechanism's tests use it like this:
//
//	func TestMain(m *testing.M) {
//		harness.MaybeRunPeer([]ipc.Transport{pipe.New()})
//		os.Exit(m.Run())
//	}
//
//	func TestConformance(t *testing.T) { harnesstest.Run(t, pipe.New()) }
package harnesstest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/results"
)

// Sizes cover the edges that bite: the smallest message, one above
// kernel.msgmax (8192 on a default kernel, so System V messages are split),
// one above the 64 KiB default pipe buffer, and 1 MiB.
var Sizes = []int{harness.MinSize, 64, 4096, 8193, 65536 + 1, 1 << 20}

// Count is the number of messages per cell: enough to fill every buffer.
const Count = 200

// Run runs the conformance suite for one mechanism.
func Run(t *testing.T, tr ipc.Transport) {
	for _, mode := range []ipc.IOMode{ipc.IORaw, ipc.IOGo} {
		t.Run("io="+string(mode), func(t *testing.T) {
			before := Snapshot(t, tr.Caps(ipc.Config{Size: harness.MinSize, IO: mode}).Objects...)
			f, err := harness.Run(context.Background(), harness.Options{
				Transports: []ipc.Transport{tr},
				Workloads:  []string{results.PingPong, results.Stream},
				Sizes:      Sizes,
				Count:      Count,
				Rounds:     1,
				IO:         mode,
				Pairs:      1,
				Timeout:    30 * time.Second,
				Verify:     true,
			})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(f.Results), 2*len(Sizes); got != want {
				t.Fatalf("got %d rows, want %d", got, want)
			}
			for _, r := range f.Results {
				CheckRow(t, r, Count)
			}
			before.CheckNothingLeft(t)
		})
	}
}

// CheckRow checks that a row holds a complete, plausible measurement of
// count messages.
func CheckRow(t *testing.T, r results.Result, count int64) {
	t.Helper()
	name := fmt.Sprintf("%s %s %d B", r.Mechanism, r.Workload, r.SizeBytes)
	if r.Error != "" {
		t.Errorf("%s: %s", name, r.Error)
		return
	}
	if r.Messages != count {
		t.Errorf("%s: %d messages, want %d", name, r.Messages, count)
	}
	if r.ElapsedNS <= 0 || r.MsgsPerS <= 0 {
		t.Errorf("%s: elapsed %d ns, %v msgs/s: want positive figures", name, r.ElapsedNS, r.MsgsPerS)
	}
	if want := r.MsgsPerS * float64(r.SizeBytes); r.BytesPerS != want {
		t.Errorf("%s: %v bytes/s, want msgs/s x size = %v", name, r.BytesPerS, want)
	}
	switch r.Workload {
	case results.PingPong:
		if r.RTT == nil || r.OneWay == nil {
			t.Fatalf("%s: round-trip or one-way figures missing", name)
		}
		s := r.RTT
		if !(0 < s.Min && s.Min <= s.P50 && s.P50 <= s.P90 && s.P90 <= s.P99 && s.P99 <= s.P999 && s.P999 <= s.Max) {
			t.Errorf("%s: round-trip figures out of order: %+v", name, *s)
		}
		if o := r.OneWay; !(o.Min <= o.P50 && o.P50 <= o.P90 && o.P90 <= o.P99 && o.P99 <= o.P999 && o.P999 <= o.Max) {
			t.Errorf("%s: one-way figures out of order: %+v", name, *o)
		}
		// Both distributions count the measured round trips, no more (a
		// warm-up's would be more) and no fewer.
		if s.N != count || r.OneWay.N != count {
			t.Errorf("%s: round-trip n %d, one-way n %d: want %d each", name, s.N, r.OneWay.N, count)
		}
		if r.OneWay.P50 <= 0 || r.OneWay.P50 > s.Max {
			t.Errorf("%s: one-way p50 %d ns is not within (0, round-trip max %d]", name, r.OneWay.P50, s.Max)
		}
		if r.RTTHistogram == "" {
			t.Errorf("%s: no histogram kept", name)
		}
	case results.Stream:
		if r.RTT != nil {
			t.Errorf("%s: a stream row has round-trip figures", name)
		}
	}
}

// State is what a test may leave behind if it leaks: recorded objects (a
// System V queue), ipcbench's temporary directories, and child processes.
// Only what this test process made counts: `go test ./...` runs packages in
// parallel, and other programs' objects are none of its business.
type State struct {
	tempDirs []string
	kinds    []ipc.ObjectKind
}

// Snapshot records the state before a test. kinds are the kinds of object
// the test's mechanisms make (ipc.Caps.Objects), to tell an object left
// behind from a record left behind.
func Snapshot(t *testing.T, kinds ...ipc.ObjectKind) State {
	t.Helper()
	return State{tempDirs: TempDirs(t), kinds: kinds}
}

// CheckNothingLeft fails the test if this process left a recorded object or
// its record, a temporary directory it did not have at the snapshot, or a
// child process that is still running.
func (s State) CheckNothingLeft(t *testing.T) {
	t.Helper()
	recs, err := ipc.Records(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		i := slices.IndexFunc(s.kinds, func(k ipc.ObjectKind) bool { return k.Kind == r.Kind })
		switch {
		case i < 0:
			t.Errorf("an object of kind %s was left behind: %s (record %s)", r.Kind, r.Name, r.File)
		case s.kinds[i].Exists(r.Name, r.Proof):
			t.Errorf("a %s was left behind: %s", s.kinds[i].What, r.Name)
		default:
			t.Errorf("%s %s was removed but its record %s was not", s.kinds[i].What, r.Name, r.File)
		}
	}
	for _, d := range TempDirs(t) {
		if !slices.Contains(s.tempDirs, d) {
			t.Errorf("a temporary directory was left behind: %s", d)
		}
	}
	if kids := Children(t); len(kids) > 0 {
		t.Errorf("child processes still running: %v", kids)
	}
}

// TempDirs lists the directories this process's runs made (named after
// ipc.TempDirPrefix and this process's id).
func TempDirs(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(os.TempDir(), fmt.Sprintf("%s%d-*", ipc.TempDirPrefix, os.Getpid())))
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// Children lists the process ids of this process's living children.
func Children(t *testing.T) []string {
	t.Helper()
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", os.Getpid()))
	var kids []string
	for _, task := range tasks {
		b, err := os.ReadFile(task)
		if err != nil {
			continue
		}
		kids = append(kids, strings.Fields(string(b))...)
	}
	return kids
}
