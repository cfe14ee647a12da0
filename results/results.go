// Package results is ipcbench's data model: the results.json file (load and
// save), the aggregation of its rounds into cells (medians and spread), and
// the comparison of two files. It knows nothing about how the figures were
// measured (the harness fills a File and hands it here) nor how they are shown
// (internal/view and internal/chart do that), so a program that reads results
// links neither tablewriter nor gonum/plot.
package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Schema is the version of results.json this build writes. Load reads this
// version and every earlier one; a newer file is refused rather than misread.
const Schema = 1

// Workload names, as they appear in results.json and on the command line.
const (
	PingPong = "pingpong"
	Stream   = "stream"
	// Server is N client processes, each running pingpong against one
	// server process at once (-clients).
	Server = "server"
	// Connect is one transaction after another: socket, connect, send,
	// receive the echo, close.
	Connect = "connect"
)

// File is one results.json: the facts about the machine and run, and one row
// per measured (or failed) cell and round.
type File struct {
	Schema  int      `json:"schema"`
	Meta    Meta     `json:"meta"`
	Results []Result `json:"results"`
	// Verdicts say, per workload and size, which mechanisms the rounds tell
	// apart (see Verdict). Files from before verdicts lack them.
	Verdicts []Verdict `json:"verdicts,omitempty"`
}

// Meta is what someone needs to reproduce a run or to judge whether two runs
// are comparable.
type Meta struct {
	Started    time.Time `json:"started"`
	Version    string    `json:"version"`
	Command    string    `json:"command"`
	Host       string    `json:"host"`
	Kernel     string    `json:"kernel"`
	CPUModel   string    `json:"cpu_model"`
	NCPU       int       `json:"ncpu"`
	GoVersion  string    `json:"go_version"`
	GOMAXPROCS int       `json:"gomaxprocs"`
	IO         string    `json:"io"`
	// CPUs is the placement asked for and obtained: driver first, then peer.
	// Empty means nothing was pinned and the scheduler placed both sides.
	CPUs []int `json:"cpus"`
	// Placement says in words what was pinned: nothing, each side's
	// measuring thread (io=raw), or each side's whole process (io=go).
	Placement string `json:"placement,omitempty"`
	// Limits are the kernel and buffer sizes that shape the figures, such as
	// kernel.msgmax (a larger System V message must be split).
	Limits map[string]int64 `json:"limits"`
	// TimerOverheadNS is what reading the clock once costs: no latency
	// below it can be told apart.
	TimerOverheadNS float64 `json:"timer_overhead_ns,omitempty"`
	// GOOS and GOARCH are the platform the run was built for, as Go names
	// it, so that Go benchmark output can carry its goos and goarch lines.
	// Files from before they were recorded lack them.
	GOOS   string `json:"goos,omitempty"`
	GOARCH string `json:"goarch,omitempty"`

	// Duration and Count say how long each cell was measured: one of them is set.
	DurationNS int64 `json:"duration_ns,omitempty"`
	Count      int64 `json:"count,omitempty"`
	WarmupNS   int64 `json:"warmup_ns,omitempty"`
	Rounds     int   `json:"rounds,omitempty"`
	Seed       int64 `json:"seed,omitempty"`
	Pairs      int   `json:"pairs,omitempty"`
	// Incomplete is set when the run was interrupted before every cell ran.
	Incomplete bool `json:"incomplete,omitempty"`
	// Remote, for a cross-host run, is the `ipcbench serve` peer: its address
	// and the facts it sent about its machine.
	Remote *RemoteInfo `json:"remote,omitempty"`
}

// RemoteInfo describes the other machine of a cross-host run.
type RemoteInfo struct {
	Address   string `json:"address,omitempty"`
	Version   string `json:"version"`
	Protocol  int    `json:"protocol"`
	Host      string `json:"host"`
	Kernel    string `json:"kernel"`
	CPUModel  string `json:"cpu_model"`
	NCPU      int    `json:"ncpu"`
	GoVersion string `json:"go_version"`
}

// Result is one cell (mechanism x workload x size) in one round.
//
// A cell that could not run still appears, with Error set and no figures, so
// that nothing is silently dropped or capped.
type Result struct {
	Mechanism string `json:"mechanism"`
	Workload  string `json:"workload"`
	SizeBytes int    `json:"size_bytes"`
	Round     int    `json:"round"`

	Messages  int64 `json:"messages,omitempty"`
	ElapsedNS int64 `json:"elapsed_ns,omitempty"`
	// RTT is the round-trip time of one message and its same-size echo
	// (pingpong only).
	RTT *Stats `json:"rtt_ns,omitempty"`
	// OneWay is the delay from the driver's send to the peer's receive,
	// measured against a clock both processes share (pingpong only).
	OneWay *Stats `json:"one_way_ns,omitempty"`
	// MsgsPerS counts whole messages delivered one way per second and
	// BytesPerS their payload bytes.
	MsgsPerS  float64 `json:"msgs_per_s,omitempty"`
	BytesPerS float64 `json:"bytes_per_s,omitempty"`

	// Pieces is how many kernel messages carried each message when the
	// mechanism could not carry it whole (System V queues above msgmax).
	Pieces int `json:"pieces,omitempty"`
	// Note says, in a few words, anything that shapes this cell's figures.
	Note string `json:"note,omitempty"`
	// RTTHistogram is the whole round-trip distribution, an HdrHistogram in
	// its standard compressed, base64 encoding, for percentile plots.
	RTTHistogram string `json:"rtt_hdr,omitempty"`

	// Placement is where the scheduler ran the two sides during the cell,
	// from a few samples of each side's CPU: SameCPU, CrossCPU or MixedCPU.
	// Empty when not sampled (a remote peer, files from before).
	Placement string `json:"placement,omitempty"`
	// CPUsSeen are the CPUs each side was seen on.
	CPUsSeen *CPUsSeen `json:"cpus_seen,omitempty"`
	// Clients, for the server and connect workloads, is how many client
	// processes shared the one server process.
	Clients int `json:"clients,omitempty"`
	// Fairness is Jain's index over the clients' completed requests,
	// (sum x)^2 / (n sum x^2): 1 when every client was served equally,
	// 1/n when one client got everything (server workload).
	Fairness float64 `json:"fairness,omitempty"`
	// ConnectionsPerS is how many whole transactions (connect, echo,
	// close) all clients completed per second (connect workload).
	ConnectionsPerS float64 `json:"connections_per_s,omitempty"`
	// Connect is the time connect(2) alone took (connect workload); RTT is
	// then the whole transaction.
	Connect *Stats `json:"connect_ns,omitempty"`

	// Lost and Reordered are set on every row of a lossy mechanism (udp),
	// zero included, and on no other. Lost is how many of the Messages sent
	// never arrived (stream: at the peer; pingpong: round trips given up
	// after the receive timeout); MsgsPerS and BytesPerS count only the
	// delivered ones. Reordered is how many arrived late: after a message
	// sent later (stream), or an echo that came after its round trip was
	// given up (pingpong, then also counted lost).
	Lost      *int64 `json:"lost,omitempty"`
	Reordered *int64 `json:"reordered,omitempty"`

	Error string `json:"error,omitempty"`
	// Skipped, when set, says why the cell does not apply to the mechanism
	// (connect on a pipe): the row has no figures, and it is not a failure.
	Skipped string `json:"skipped,omitempty"`
}

// CPUsSeen are the CPUs the driver's and the peer's measuring thread were
// seen on during a cell, in ascending order.
type CPUsSeen struct {
	Driver []int `json:"driver"`
	Peer   []int `json:"peer"`
}

// Stats summarises a latency distribution in nanoseconds. Min, max, mean and
// standard deviation are exact; percentiles come from an HDR histogram with
// three significant digits (within 0.1%), clamped to [min, max] so that no
// percentile exceeds the largest value recorded.
type Stats struct {
	// N is the number of samples behind the figures (0 in files written
	// before it was recorded).
	N      int64   `json:"n"`
	Min    int64   `json:"min"`
	Mean   float64 `json:"mean"`
	Stddev float64 `json:"stddev"`
	P50    int64   `json:"p50"`
	P90    int64   `json:"p90"`
	P99    int64   `json:"p99"`
	P999   int64   `json:"p999"`
	Max    int64   `json:"max"`
}

// LostFraction is the share of the row's messages that were lost, 0 for a
// row of a mechanism that does not lose messages.
func (r *Result) LostFraction() float64 {
	if r.Lost == nil || r.Messages <= 0 {
		return 0
	}
	return float64(*r.Lost) / float64(r.Messages)
}

// Failed reports whether the cell has no figures because it could not run.
func (r *Result) Failed() bool { return r.Error != "" }

// IsSkipped reports whether the cell does not apply to its mechanism: no
// figures, and not a failure.
func (r *Result) IsSkipped() bool { return r.Skipped != "" && r.Error == "" }

// Key names a cell independently of its round.
func (r *Result) Key() Key {
	return Key{Mechanism: r.Mechanism, Workload: r.Workload, SizeBytes: r.SizeBytes, Clients: r.Clients}
}

// Key identifies a cell: the same key in two rounds or two files is the same
// measurement repeated.
type Key struct {
	Mechanism string
	Workload  string
	SizeBytes int
	// Clients is the number of clients of a server or connect cell, 0 for
	// the other workloads.
	Clients int
}

// ErrInput marks a results file that cannot be used as it is: truncated,
// corrupt, or written by a newer ipcbench. Commands turn it into exit status 2.
var ErrInput = errors.New("bad results file")

// Write encodes f as indented JSON.
func Write(w io.Writer, f *File) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(f)
}

// Read decodes a results.json. Every failure wraps ErrInput and says what is
// wrong in one sentence.
func Read(r io.Reader) (*File, error) {
	dec := json.NewDecoder(r)
	var f File
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: it is empty or truncated", ErrInput)
		}
		return nil, fmt.Errorf("%w: it is not valid results JSON (%v)", ErrInput, err)
	}
	// One results object and nothing else: two files run together would
	// otherwise load as the first alone, without a word.
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: it has more after the results object (two files joined together?)", ErrInput)
	}
	switch {
	case f.Schema == 0:
		return nil, fmt.Errorf("%w: it has no \"schema\" field, so it was not written by ipcbench", ErrInput)
	case f.Schema > Schema:
		return nil, fmt.Errorf("%w: it has schema %d, newer than the %d this ipcbench reads; use a newer ipcbench", ErrInput, f.Schema, Schema)
	case f.Schema < 0:
		return nil, fmt.Errorf("%w: schema %d is not a valid version", ErrInput, f.Schema)
	}
	return &f, nil
}

// Load reads a results.json from disk.
func Load(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s does not exist", ErrInput, path)
		}
		return nil, fmt.Errorf("%w: %v", ErrInput, err)
	}
	defer fh.Close()
	f, err := Read(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}
