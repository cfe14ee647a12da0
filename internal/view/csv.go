package view

import (
	"cmp"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/ipcbench/ipcbench/results"
)

// csvStats are the names of the Stats fields, in column order.
var csvStats = []string{"min", "mean", "stddev", "p50", "p90", "p99", "p999", "max"}

// csvColumns is the header line WriteCSV writes first.
var csvColumns = csvHeader()

func csvHeader() []string {
	h := []string{"mechanism", "workload", "size_bytes", "payload_offset", "round", "messages", "elapsed_ns"}
	for _, s := range csvStats {
		h = append(h, "rtt_"+s+"_ns")
	}
	for _, s := range csvStats {
		h = append(h, "one_way_"+s+"_ns")
	}
	h = append(h, "msgs_per_s", "bytes_per_s", "copy_limit_fraction", "pieces", "note", "error", "lost", "reordered")
	h = append(h, "clients", "fairness", "connections_per_s")
	for _, s := range csvStats {
		h = append(h, "connect_"+s+"_ns")
	}
	h = append(h, "skipped")
	// The sample counts, then the run's columns, so that the CSVs of several
	// runs can be joined and still told apart.
	h = append(h, "rtt_n", "one_way_n", "connect_n", "started", "host", "kernel", "io", "cpus", "version")
	// Open loop and cost, added after the run's columns.
	h = append(h, "rate", "rate_percent")
	for _, s := range csvStats {
		h = append(h, "rtt_corrected_"+s+"_ns")
	}
	for _, side := range []string{"driver", "peer"} {
		for _, f := range csvCostFields {
			h = append(h, "cost_"+side+"_"+f)
		}
	}
	return h
}

// csvCostFields are the columns of one side's cost per message.
var csvCostFields = []string{"scope", "user_ns", "sys_ns", "voluntary_switches", "involuntary_switches", "syscalls", "run_delay_ns", "cpu_per_wall"}

// csvCost is one side's cost columns, empty when the row has none.
func csvCost(c *results.SideCost) []string {
	if c == nil {
		return make([]string, len(csvCostFields))
	}
	g := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	syscalls := ""
	if c.Syscalls != nil {
		syscalls = g(*c.Syscalls)
	}
	return []string{c.Scope, g(c.UserNS), g(c.SysNS), g(c.VoluntarySwitches), g(c.InvoluntarySwitches), syscalls, g(c.RunDelayNS), g(c.CPUPerWall)}
}

// csvRun are the run's columns, the same on every line.
func csvRun(m *results.Meta) []string {
	var started, cpus string
	if !m.Started.IsZero() {
		started = m.Started.UTC().Format(time.RFC3339)
	}
	for i, c := range m.CPUs {
		if i > 0 {
			cpus += ","
		}
		cpus += strconv.Itoa(c)
	}
	return []string{started, m.Host, m.Kernel, m.IO, cpus, m.Version}
}

// csvN is a distribution's sample count: empty when the row has none, or
// when the file is from before counts were recorded (0).
func csvN(s *results.Stats) string {
	if s == nil {
		return ""
	}
	return csvInt(s.N)
}

// WriteCSV writes f in long format, one line per results row (each cell in
// each round), after a header line. A figure the row lacks is an empty field.
// Rows come in table order (mechanism as first seen, workload, size) and by
// round within a cell, whatever order the rounds ran in.
func WriteCSV(w io.Writer, f *results.File) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvColumns); err != nil {
		return fmt.Errorf("csv: %w", err)
	}
	run := csvRun(&f.Meta)
	for _, r := range rowsInOrder(f) {
		rec := append(csvRecord(r), csvN(r.RTT), csvN(r.OneWay), csvN(r.Connect))
		rec = append(rec, run...)
		if err := cw.Write(append(rec, csvLoadCost(r)...)); err != nil {
			return fmt.Errorf("csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("csv: %w", err)
	}
	return nil
}

// rowsInOrder is every row of f in table order: mechanism as first seen,
// workload (pingpong first), size, then round. The long formats (CSV,
// bench) list rows this way so that their output does not depend on the
// shuffled order the cells ran in.
func rowsInOrder(f *results.File) []*results.Result {
	m := results.Aggregate(f)
	rows := make([]*results.Result, len(f.Results))
	for i := range f.Results {
		rows[i] = &f.Results[i]
	}
	slices.SortStableFunc(rows, func(a, b *results.Result) int {
		if c := slices.Index(m.Mechanisms, a.Mechanism) - slices.Index(m.Mechanisms, b.Mechanism); c != 0 {
			return c
		}
		if c := slices.Index(m.Workloads, a.Workload) - slices.Index(m.Workloads, b.Workload); c != 0 {
			return c
		}
		if a.SizeBytes != b.SizeBytes {
			return a.SizeBytes - b.SizeBytes
		}
		if a.Clients != b.Clients {
			return a.Clients - b.Clients
		}
		if a.RatePercent != b.RatePercent {
			return cmp.Compare(a.RatePercent, b.RatePercent)
		}
		if a.Rate != b.Rate && (a.RatePercent == 0 || a.Round == b.Round) {
			return cmp.Compare(a.Rate, b.Rate)
		}
		if a.PayloadOffset != b.PayloadOffset {
			return a.PayloadOffset - b.PayloadOffset
		}
		return a.Round - b.Round
	})
	return rows
}

func csvRecord(r *results.Result) []string {
	rec := make([]string, 0, len(csvColumns))
	rec = append(rec, r.Mechanism, r.Workload, strconv.Itoa(r.SizeBytes), strconv.Itoa(r.PayloadOffset), strconv.Itoa(r.Round),
		csvInt(r.Messages), csvInt(r.ElapsedNS))
	rec = append(rec, csvStatsFields(r.RTT)...)
	rec = append(rec, csvStatsFields(r.OneWay)...)
	rec = append(rec, csvFloat(r.MsgsPerS), csvFloat(r.BytesPerS), csvFloat(r.CopyLimitFraction),
		csvInt(int64(r.Pieces)), r.Note, r.Error, csvCount(r.Lost), csvCount(r.Reordered))
	rec = append(rec, csvInt(int64(r.Clients)), csvFloat(r.Fairness), csvFloat(r.ConnectionsPerS))
	rec = append(rec, csvStatsFields(r.Connect)...)
	return append(rec, r.Skipped)
}

// csvLoadCost are an open-loop row's rate and corrected round trip, and
// both sides' cost per message: the last columns.
func csvLoadCost(r *results.Result) []string {
	rec := []string{csvFloat(r.Rate), csvFloat(r.RatePercent)}
	rec = append(rec, csvStatsFields(r.RTTCorrected)...)
	var driver, peer *results.SideCost
	if r.Cost != nil {
		driver, peer = r.Cost.Driver, r.Cost.Peer
	}
	rec = append(rec, csvCost(driver)...)
	return append(rec, csvCost(peer)...)
}

// csvCount writes a count that is either absent (nil: an empty field) or
// present, zero included (lost and reordered of a lossy mechanism).
func csvCount(v *int64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatInt(*v, 10)
}

// csvStatsFields are the eight fields of a distribution, all empty when the
// row has none. Present stats are written in full, zeros included.
func csvStatsFields(s *results.Stats) []string {
	if s == nil {
		return make([]string, len(csvStats))
	}
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	g := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	return []string{i(s.Min), g(s.Mean), g(s.Stddev), i(s.P50), i(s.P90), i(s.P99), i(s.P999), i(s.Max)}
}

// csvInt and csvFloat leave a zero field empty: results.json omits these
// figures when zero, so zero means absent (a failed row has none).
func csvInt(v int64) string {
	if v == 0 {
		return ""
	}
	return strconv.FormatInt(v, 10)
}

// csvFloat writes the shortest decimal that reads back as the same float64,
// never in exponent form, so the text is stable and spreadsheet-friendly.
func csvFloat(v float64) string {
	if v == 0 {
		return ""
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
