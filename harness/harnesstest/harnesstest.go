// Package harnesstest is the conformance suite every mechanism runs (Run),
// parameterised by what the mechanism says of itself (ipc.Caps): the
// in-process contract of package ipc (Contract) and the real workloads
// between two real processes, every payload byte verified, and nothing left
// behind (Workloads).
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
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/internal/shmem"
	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/results"
)

// Count is the number of messages per cell: enough to fill every buffer.
const Count = 200

// Run runs the conformance suite for one mechanism, as its Caps describe
// it: the in-process contract (Contract) and the real workloads between two
// processes (Workloads). It is the one call a mechanism's tests make; the
// test binary's TestMain must register the mechanism with
// harness.MaybeRunPeer.
func Run(t *testing.T, tr ipc.Transport) { RunT(Wrap(t), tr) }

// RunT is Run for any T.
func RunT(t T, tr ipc.Transport) {
	t.Run("Contract", func(t T) { Contract(t, tr) })
	t.Run("Workloads", func(t T) { Workloads(t, tr) })
}

// Workloads runs both workloads in both io modes between this process and a
// peer process, at the sizes that bite for the mechanism (SizesFor), every
// payload byte verified, and checks that nothing is left behind: no record
// or object of this process's, no temporary directory, no child process. A
// Lossy mechanism's rows must count their losses instead of delivering
// everything; a mode without a path of its own must say so in the note.
func Workloads(t T, tr ipc.Transport) {
	for _, mode := range ioModes {
		t.Run("io="+string(mode), func(t T) {
			caps := tr.Caps(ipc.Config{Size: harness.MinSize, IO: mode})
			before := Snapshot(t, caps.Objects...)
			sizes := SizesFor(caps)
			f, err := harness.Run(context.Background(), harness.Options{
				Transports: []ipc.Transport{tr},
				Workloads:  []string{results.PingPong, results.Stream},
				Sizes:      sizes,
				Count:      Count,
				Rounds:     1,
				IO:         mode,
				Pairs:      1,
				Timeout:    30 * time.Second,
				Verify:     true,
			})
			if err != nil {
				t.Fatalf("%v", err)
			}
			if got, want := len(f.Results), 2*len(sizes); got != want {
				t.Fatalf("got %d rows, want %d", got, want)
			}
			for _, r := range f.Results {
				c := tr.Caps(ipc.Config{Size: r.SizeBytes, IO: mode})
				if c.Err != nil {
					if r.Error == "" {
						t.Errorf("%s %d B: Caps says %v, but the row has no error", r.Workload, r.SizeBytes, c.Err)
					}
					continue
				}
				if c.Lossy {
					CheckLossyRow(t, r, Count)
				} else {
					CheckRow(t, r, Count)
					if r.Lost != nil || r.Reordered != nil {
						t.Errorf("%s %d B: a mechanism that cannot lose has lost %v, reordered %v", r.Workload, r.SizeBytes, r.Lost, r.Reordered)
					}
				}
				if poller := !strings.Contains(r.Note, "no poller path"); poller != c.HasIOMode(mode) {
					t.Errorf("%s %d B in io mode %s: note %q, but Caps says a path of its own is %v", r.Workload, r.SizeBytes, mode, r.Note, c.HasIOMode(mode))
				}
				if n := c.Pieces(r.SizeBytes); (n > 1) != (r.Pieces == n) || (n > 1) != strings.Contains(r.Note, "split into") {
					t.Errorf("%s %d B: %d pieces and note %q, but Caps says %d pieces", r.Workload, r.SizeBytes, r.Pieces, r.Note, n)
				}
			}
			before.CheckNothingLeft(t)
		})
	}
}

// CheckLossyRow checks a row of a lossy mechanism: count messages sent,
// losses counted (and no more than were sent), figures for what arrived.
func CheckLossyRow(t TB, r results.Result, count int64) {
	t.Helper()
	name := fmt.Sprintf("%s %s %d B", r.Mechanism, r.Workload, r.SizeBytes)
	switch {
	case r.Error != "":
		t.Errorf("%s: %s", name, r.Error)
	case r.Lost == nil || r.Reordered == nil:
		t.Errorf("%s: a lossy mechanism's row does not count lost and reordered messages", name)
	case r.Messages != count:
		t.Errorf("%s: %d messages sent, want %d", name, r.Messages, count)
	case *r.Lost < 0 || *r.Lost > r.Messages:
		t.Errorf("%s: %d of %d messages lost", name, *r.Lost, r.Messages)
	case *r.Lost < r.Messages && r.MsgsPerS <= 0:
		t.Errorf("%s: messages arrived but the rate is %v", name, r.MsgsPerS)
	case *r.Lost < r.Messages:
		// What arrived is a complete measurement of the delivered messages.
		CheckRow(t, r, count)
	}
}

// CheckRow checks that a row holds a complete, plausible measurement of
// count messages. A row of a lossy mechanism may have lost some (Lost):
// its rates and round trips count the delivered ones.
func CheckRow(t TB, r results.Result, count int64) {
	t.Helper()
	name := fmt.Sprintf("%s %s %d B", r.Mechanism, r.Workload, r.SizeBytes)
	if r.Error != "" {
		t.Errorf("%s: %s", name, r.Error)
		return
	}
	if r.Messages != count {
		t.Errorf("%s: %d messages, want %d", name, r.Messages, count)
	}
	var lost int64
	if r.Lost != nil {
		if lost = *r.Lost; lost < 0 || lost >= count || r.Reordered == nil || *r.Reordered < 0 {
			t.Errorf("%s: lost %d, reordered %v of %d messages: want 0 <= lost < messages and a reordered count", name, lost, r.Reordered, count)
		}
		if want := float64(r.Messages-lost) / (float64(r.ElapsedNS) / 1e9); math.Abs(r.MsgsPerS-want) > want*1e-9 {
			t.Errorf("%s: %v msgs/s, want the %d delivered over %d ns = %v", name, r.MsgsPerS, r.Messages-lost, r.ElapsedNS, want)
		}
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
		// warm-up's would be more) and no fewer; over a lossy mechanism the
		// round trips completed, and the peer has the one-way delay of
		// those whose echo was lost too.
		if s.N != count-lost || r.OneWay.N < count-lost || r.OneWay.N > count {
			t.Errorf("%s: round-trip n %d, one-way n %d: want %d each (%d lost)", name, s.N, r.OneWay.N, count-lost, lost)
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
// System V queue), ipcbench's temporary directories, child processes, and
// mappings of shared memory.
// Only what this test process made counts: `go test ./...` runs packages in
// parallel, and other programs' objects are none of its business.
type State struct {
	tempDirs []string
	kinds    []ipc.ObjectKind
	shared   int // mappings of ipcbench's shared memory
}

// Snapshot records the state before a test. kinds are the kinds of object
// the test's mechanisms make (ipc.Caps.Objects), to tell an object left
// behind from a record left behind.
func Snapshot(t TB, kinds ...ipc.ObjectKind) State {
	t.Helper()
	return State{tempDirs: TempDirs(t), kinds: kinds, shared: SharedMappings(t)}
}

// CheckNothingLeft fails the test if this process left a recorded object or
// its record, a temporary directory it did not have at the snapshot, a
// child process that is still running, or shared memory mapped.
func (s State) CheckNothingLeft(t TB) {
	t.Helper()
	recs, err := ipc.Records(os.Getpid())
	if err != nil {
		t.Fatalf("%v", err)
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
	if n := SharedMappings(t); n > s.shared {
		t.Errorf("shared memory left mapped: %d mappings of a memfd:%s, %d before", n, shmem.Name, s.shared)
	}
}

// SharedMappings counts this process's mappings of the shared memory
// ipcbench makes (internal/shmem: the shm rings, the cache-line floor). A
// memfd has no name to leak, but a mapping outlives its descriptor.
func SharedMappings(t TB) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatalf("%v", err)
	}
	return strings.Count(string(b), "/memfd:"+shmem.Name+" ")
}

// TempDirs lists the directories this process's runs made (named after
// ipc.TempDirPrefix and this process's id).
func TempDirs(t TB) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(os.TempDir(), fmt.Sprintf("%s%d-*", ipc.TempDirPrefix, os.Getpid())))
	if err != nil {
		t.Fatalf("%v", err)
	}
	return dirs
}

// Children lists the process ids of this process's living children.
func Children(t TB) []string {
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
