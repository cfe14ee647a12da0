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
	"strconv"
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
	// CPU, Hypervisor, CPUIdle and THP are what shapes copies and wake-ups
	// on this machine: they tell an Intel run from an AMD one, a VM from
	// bare metal, a polling idle driver from a sleeping one. Files from
	// before they were recorded lack them.
	CPU        *CPU     `json:"cpu,omitempty"`
	Hypervisor string   `json:"hypervisor,omitempty"`
	CPUIdle    *CPUIdle `json:"cpuidle,omitempty"`
	// THP is the transparent huge page setting (always, madvise, never).
	THP string `json:"thp,omitempty"`
	// Rseq says whether the measuring threads had restartable sequences
	// registered (glibc does that for a cgo build's threads, as for any C
	// program's): the kernel then updates them after every context switch,
	// which a round trip pays for on each side. Absent in older files.
	Rseq *bool `json:"rseq,omitempty"`
	// Offsets are the payload offsets the run measured (-offset), bytes past
	// a page boundary; absent in files from before placement was set.
	Offsets []int `json:"offsets,omitempty"`
	// Floors are the machine's own limits, measured at the start of the run.
	Floors *Floors `json:"floors,omitempty"`
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
	// RoundsAuto, for a run with adaptive rounds (-rounds auto), says how
	// they went; Rounds is then the most rounds any cell had.
	RoundsAuto *AutoRounds `json:"rounds_auto,omitempty"`
	Seed       int64       `json:"seed,omitempty"`
	Pairs      int         `json:"pairs,omitempty"`
	// Incomplete is set when the run was interrupted before every cell ran.
	Incomplete bool `json:"incomplete,omitempty"`
	// Remote, for a cross-host run, is the `ipcbench serve` peer: its address
	// and the facts it sent about its machine.
	Remote *RemoteInfo `json:"remote,omitempty"`
}

// AutoRounds records a run's adaptive rounds: every cell had Min rounds,
// then the cells whose verdicts were unresolved had more, up to Max, while
// the run stayed within its budget. Stopped says why they ended:
// "resolved" (nothing left to settle), "budget", "max rounds" or
// "interrupted".
type AutoRounds struct {
	Min       int    `json:"min"`
	Max       int    `json:"max"`
	BudgetNS  int64  `json:"budget_ns"`
	ElapsedNS int64  `json:"elapsed_ns"`
	Stopped   string `json:"stopped"`
}

// CPU identifies the processor beyond its model name.
type CPU struct {
	// Vendor is the vendor string, such as GenuineIntel or AuthenticAMD (on
	// arm64, the implementer's name).
	Vendor    string `json:"vendor"`
	Family    int    `json:"family,omitempty"`
	Model     int    `json:"model,omitempty"`
	Stepping  int    `json:"stepping,omitempty"`
	Microcode string `json:"microcode,omitempty"`
	// CopyFlags are the flags present among those that decide how the
	// kernel and user space copy memory (erms, fsrm, ...; see CopyFlags).
	CopyFlags []string `json:"copy_flags"`
	// Flags are every flag /proc/cpuinfo lists, as it lists them.
	Flags []string `json:"flags,omitempty"`
}

// CopyFlags are the CPU flags that decide how memory is copied: the
// kernel's copy to and from user space is a `rep movsb` whose speed depends
// on erms and fsrm (fast short rep mov), and user-space copies choose
// between rep movs and vector loops by them.
var CopyFlags = []string{"erms", "fsrm", "fzrm", "fsrs", "fsrc", "rep_good", "avx2", "avx512f"}

// CPUIdle is how an idle CPU waits: a polling driver (haltpoll) wakes
// faster than one that sleeps deep (intel_idle), which shows in round trips.
type CPUIdle struct {
	Driver   string `json:"driver,omitempty"`
	Governor string `json:"governor,omitempty"`
	// FreqGovernor is CPU 0's cpufreq scaling governor, when there is one.
	FreqGovernor string `json:"cpufreq_governor,omitempty"`
}

// Floors are what this machine can do at best, measured at the start of a
// run, against which the mechanisms' figures are read.
type Floors struct {
	// MemcpyBytesPerS is user-space memory copy bandwidth by message size,
	// with the payload placement of the run's first -offset.
	MemcpyBytesPerS map[int]float64 `json:"memcpy_bytes_per_s,omitempty"`
	// MemcpyByOffset holds the same for every other offset of the run.
	MemcpyByOffset map[int]map[int]float64 `json:"memcpy_bytes_per_s_by_offset,omitempty"`
	// CacheLineRTTNS is the round trip of one cache line between the two
	// sides' CPUs through shared memory (the median of some 10,000): the
	// line no round trip between two processes goes under. It is measured
	// between the driver and a child process placed as the cells' peers are
	// (-cpus), both waiting as shm-spin does, so with both on one CPU it is
	// the cost of handing the CPU back and forth.
	CacheLineRTTNS float64 `json:"cacheline_rtt_ns,omitempty"`
	// CacheLineError says why the cache-line floor could not be measured.
	CacheLineError string `json:"cacheline_error,omitempty"`
}

// Memcpy is the memory copy bandwidth measured for a message size at a
// payload offset, 0 when it was not measured.
func (f *Floors) Memcpy(size, offset int) float64 {
	if f == nil {
		return 0
	}
	if f.MemcpyByOffset != nil {
		return f.MemcpyByOffset[offset][size]
	}
	if offset != 0 {
		return 0
	}
	return f.MemcpyBytesPerS[size]
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
	// PayloadOffset is where every message's payload started in both
	// sides' buffers: this many bytes past a page boundary (-offset). Files
	// from before it was recorded read 0, though Go's allocator put those
	// payloads 8 bytes past a page.
	PayloadOffset int `json:"payload_offset"`
	// CopyLimitFraction, for a stream row, is BytesPerS over the two-copy
	// limit of its size: half the memory copy bandwidth in meta.floors
	// (each message is copied into the kernel and out again).
	CopyLimitFraction float64 `json:"copy_limit_fraction,omitempty"`

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

	// Cost is what a message cost each side over the measured window:
	// CPU, context switches, scheduler wait and system calls (see Cost).
	// Rows from before it was measured, and remote rows, lack it.
	Cost *Cost `json:"cost,omitempty"`
	// Rate, for an open-loop row (-rate), is the offered load in messages
	// per second; MsgsPerS is then what was achieved. RTTCorrected is the
	// round trip from each message's intended send time on the schedule,
	// which carries the stalls a closed loop (and RTT, from the actual
	// send) hides: coordinated omission.
	Rate float64 `json:"rate,omitempty"`
	// RatePercent, when the load was asked for as a share of the cell's
	// closed-loop maximum (-rate 50%), is that share; Rate is then what it
	// came to in this round.
	RatePercent  float64 `json:"rate_percent,omitempty"`
	RTTCorrected *Stats  `json:"rtt_corrected_ns,omitempty"`

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
	return Key{Mechanism: r.Mechanism, Workload: r.Workload, SizeBytes: r.SizeBytes, Clients: r.Clients, Rate: r.RateText(), Offset: r.PayloadOffset}
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
	// Rate is an open-loop cell's offered load as asked for ("2000/s",
	// "50%"), empty for closed-loop cells.
	Rate string
	// Offset is the payload placement, bytes past a page boundary.
	Offset int
}

// RateText is the open-loop load the row was asked for, as the -rate flag
// takes it ("2000/s", "50%"); empty for a closed-loop row.
func (r *Result) RateText() string {
	switch {
	case r.RatePercent > 0:
		return strconv.FormatFloat(r.RatePercent, 'g', -1, 64) + "%"
	case r.Rate > 0:
		return strconv.FormatFloat(r.Rate, 'g', -1, 64) + "/s"
	}
	return ""
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
	if err := f.check(); err != nil {
		return nil, err
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
