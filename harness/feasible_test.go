package harness

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/results"
)

// countingTransport counts the channels a run opens: a run refused before
// it starts opens none, and so starts no peer (a peer is started only for a
// channel that is listening).
type countingTransport struct {
	uses    ipc.Uses
	listens int
}

var errNoChannel = errors.New("countingTransport opens no channel")

func (t *countingTransport) Name() string                 { return "counting" }
func (t *countingTransport) Caps(cfg ipc.Config) ipc.Caps { return ipc.Caps{Uses: t.uses} }
func (t *countingTransport) Listen(cfg ipc.Config) (ipc.Listener, error) {
	t.listens++
	return nil, errNoChannel
}
func (t *countingTransport) Dial(ep ipc.Endpoint, cfg ipc.Config) (ipc.Conn, error) {
	return nil, errNoChannel
}

// TestImpossibleRunRefusedFirst: -pairs 100000 is refused by Run itself,
// in one sentence naming the limit, before any channel (or peer) exists.
func TestImpossibleRunRefusedFirst(t *testing.T) {
	tr := &countingTransport{}
	o := Options{Transports: []ipc.Transport{tr}, Workloads: []string{results.PingPong}, Sizes: []int{64},
		Count: 10, Rounds: 1, Pairs: 100000, Timeout: time.Second, IO: ipc.IORaw}
	f, err := Run(context.Background(), o)
	if err == nil || f != nil {
		t.Fatalf("Run = %v, %v; want a refusal", f, err)
	}
	if tr.listens != 0 {
		t.Errorf("the refused run opened %d channels first", tr.listens)
	}
	msg := err.Error()
	if !strings.Contains(msg, "-pairs 100000 needs") || strings.Contains(msg, "\n") ||
		!containsAny(msg, "ulimit -n", "ulimit -u", "kernel.pid_max", "kernel.threads-max", "MemAvailable") {
		t.Errorf("refusal %q: want one sentence naming -pairs and the limit", msg)
	}
	// The same run with one pair is not refused: the check is not what fails.
	o.Pairs = 1
	if _, err := Run(context.Background(), o); err != nil && strings.Contains(err.Error(), "needs") {
		t.Errorf("one pair refused: %v", err)
	}
	if tr.listens == 0 {
		t.Error("a feasible run never opened its channel")
	}
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// TestFits: each limit, alone exceeded, is the one the sentence names.
func TestFits(t *testing.T) {
	roomy := Capacity{Descriptors: 1 << 20, ThreadsUser: 1 << 20, PIDMax: 1 << 22, ThreadsMax: 1 << 22,
		Objects: map[string]int64{"kernel.msgmni": 32000}, Ports: 28232, Memory: 16 << 30}
	opts := func(pairs int, tr ipc.Transport, workload string, clients ...int) *Options {
		return &Options{Transports: []ipc.Transport{tr}, Workloads: []string{workload}, Sizes: []int{64, 4096},
			Pairs: pairs, Clients: clients, IO: ipc.IORaw}
	}
	plain := &countingTransport{}
	queues := &countingTransport{uses: ipc.Uses{Descriptors: 1, Objects: 2, ObjectLimit: "kernel.msgmni"}}
	ports := &countingTransport{uses: ipc.Uses{Ports: 2}}
	if err := DemandOf(opts(8, plain, results.PingPong)).Fits(roomy, "-pairs 8", "pairs"); err != nil {
		t.Errorf("8 pairs on a roomy machine: %v", err)
	}
	for _, tc := range []struct {
		name string
		o    *Options
		set  func(*Capacity)
		want string
	}{
		{"descriptors", opts(1000, plain, results.PingPong), func(c *Capacity) { c.Descriptors = 1024 }, "more than its limit of 1024 (ulimit -n)"},
		{"ulimit -u", opts(1000, plain, results.PingPong), func(c *Capacity) { c.ThreadsUser = 2000 }, "(ulimit -u)"},
		{"pid_max", opts(10000, plain, results.PingPong), func(c *Capacity) { c.PIDMax = 32768 }, "kernel.pid_max (32768)"},
		{"threads-max", opts(10000, plain, results.PingPong), func(c *Capacity) { c.ThreadsMax = 30000 }, "kernel.threads-max (30000)"},
		{"msgmni", opts(20000, queues, results.PingPong), func(c *Capacity) { c.Memory = 1 << 50 }, "needs 40000 queues at once, more than kernel.msgmni (32000)"},
		{"ports", opts(20000, ports, results.PingPong), func(c *Capacity) { c.Memory = 1 << 50 }, "40000 loopback ports at once, more than the 28232 of the ephemeral range"},
		{"memory", opts(5000, plain, results.PingPong), func(c *Capacity) {}, "needs about 19.6 GiB of memory (5000 processes and their message buffers), more than the 16.0 GiB available (MemAvailable"},
		{"clients", opts(4, plain, results.Server, 1, 1024), func(c *Capacity) { c.Descriptors = 10000 }, "open descriptors in the driver, more than its limit of 10000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := roomy
			c.Objects = map[string]int64{"kernel.msgmni": 32000}
			tc.set(&c)
			err := DemandOf(tc.o).Fits(c, "-pairs N", "pairs")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want it to say %q", err, tc.want)
			}
		})
	}
	// What the machine cannot say is no limit, not a refusal.
	if err := DemandOf(opts(100000, queues, results.PingPong)).Fits(Capacity{}, "-pairs 100000", "pairs"); err != nil {
		t.Errorf("unknown limits refused a run: %v", err)
	}
}

// TestSeedBelow2To53: a seed from the clock is in [1, 2^53), and a larger
// one given is refused rather than recorded inexactly.
func TestSeedBelow2To53(t *testing.T) {
	tr := &countingTransport{}
	o := Options{Transports: []ipc.Transport{tr}, Workloads: []string{results.PingPong}, Sizes: []int{64},
		Count: 10, Rounds: 1, Pairs: 1, Timeout: time.Second, IO: ipc.IORaw}
	f, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if s := f.Meta.Seed; s < 1 || s > MaxSeed {
		t.Errorf("seed %d is not in [1, 2^53)", s)
	}
	o.Seed = MaxSeed + 2
	if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "-seed must be 1 to 2^53-1") {
		t.Errorf("seed 2^53+1: %v", err)
	}
}
