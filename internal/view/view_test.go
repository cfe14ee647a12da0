package view

import (
	"slices"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/results"
)

// A small file exercising what the golden fixtures do not: absent cells, a
// cell failing in only some rounds, a note on one size only, and a note the
// mechanism shares across sizes that a failed cell lacks.
func TestViewCellsAndNotes(t *testing.T) {
	rtt := func(p50 int64) *results.Stats { return &results.Stats{P50: p50, P99: 2 * p50} }
	f := &results.File{Schema: results.Schema, Meta: results.Meta{IO: "go"}, Results: []results.Result{
		{Mechanism: "pipe", Workload: results.PingPong, SizeBytes: 64, Round: 1, RTT: rtt(5000), Note: "odd"},
		{Mechanism: "pipe", Workload: results.PingPong, SizeBytes: 64, Round: 2, RTT: rtt(5100), Note: "odd"},
		{Mechanism: "pipe", Workload: results.PingPong, SizeBytes: 1024, Round: 1, RTT: rtt(6000)},
		{Mechanism: "pipe", Workload: results.PingPong, SizeBytes: 1024, Round: 2, Error: "boom"},
		{Mechanism: "tcpsocket", Workload: results.PingPong, SizeBytes: 64, Round: 1, RTT: rtt(20000), Note: "loopback"},
		{Mechanism: "tcpsocket", Workload: results.PingPong, SizeBytes: 64, Round: 2, RTT: rtt(20100), Note: "loopback"},
		{Mechanism: "tcpsocket", Workload: results.PingPong, SizeBytes: 1 << 20, Round: 1, Error: "too big"},
		{Mechanism: "tcpsocket", Workload: results.PingPong, SizeBytes: 1 << 20, Round: 2, Error: "too big"},
	}}
	v := buildLayout(f)
	if len(v.Tables) != 1 {
		t.Fatalf("%d tables, want 1", len(v.Tables))
	}
	tb := v.Tables[0]
	if want := "Round-trip time (pingpong): p50 / p99, io=go, not pinned, median of 2 rounds"; tb.Title != want {
		t.Errorf("title %q, want %q", tb.Title, want)
	}
	var rows []string
	for _, r := range tb.Rows {
		var cells []string
		for _, c := range r {
			cells = append(cells, c.String())
		}
		rows = append(rows, strings.Join(cells, " | "))
	}
	wantRows := []string{
		"64 B | 5.05 / 10.1 µs | 20.1 / 40.1 µs",
		"1 KiB | 6.00 / 12.0 µs ! | -",
		"1 MiB | - | error !",
	}
	if !slices.Equal(rows, wantRows) {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(wantRows, "\n"))
	}
	var notes []string
	for _, n := range tb.Notes {
		notes = append(notes, strings.TrimSpace(n.Marker+" "+n.Text))
	}
	wantNotes := []string{
		"! pipe 1 KiB: failed in some rounds, figures from 1: boom",
		"! tcpsocket 1 MiB: failed: too big",
		"pipe 64 B: odd",
		"tcpsocket: loopback",
	}
	if !slices.Equal(notes, wantNotes) {
		t.Errorf("notes:\n%s\nwant:\n%s", strings.Join(notes, "\n"), strings.Join(wantNotes, "\n"))
	}
}

func TestMarkdownEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain 5.21 µs", "plain 5.21 µs"},
		{"a|b", `a\|b`},
		{"TCP_NODELAY *on* ~", `TCP\_NODELAY \*on\* \~`},
		{"two\nlines", "two lines"},
	}
	for _, tt := range tests {
		if got := mdEscape(tt.in); got != tt.want {
			t.Errorf("mdEscape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	codes := []struct{ in, want string }{
		{"ipcbench run -o out/", "`ipcbench run -o out/`"},
		{"echo `date` now", "``echo `date` now``"},
		{"run `x`", "`` run `x` ``"},
	}
	for _, tt := range codes {
		if got := mdCode(tt.in); got != tt.want {
			t.Errorf("mdCode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestViewStreamNoisyAndIncomplete(t *testing.T) {
	f := &results.File{Schema: results.Schema, Meta: results.Meta{Incomplete: true, Pairs: 4}, Results: []results.Result{
		{Mechanism: "pipe", Workload: results.Stream, SizeBytes: 4096, Round: 1, BytesPerS: 700.1e6, MsgsPerS: 170_900},
		{Mechanism: "pipe", Workload: results.Stream, SizeBytes: 4096, Round: 2, BytesPerS: 950.2e6, MsgsPerS: 232_000},
		{Mechanism: "pipe", Workload: results.Stream, SizeBytes: 4096, Round: 3, BytesPerS: 800e6, MsgsPerS: 195_300},
	}}
	v := buildLayout(f)
	tb := v.Tables[0]
	if want := "Throughput (stream): payload one way, MB/s (10^6 B/s) and messages/s, not pinned, 4 pairs, summed, median of 3 rounds"; tb.Title != want {
		t.Errorf("title %q, want %q", tb.Title, want)
	}
	if got, want := tb.Rows[0][1].String(), "800.0 MB/s, 195k msg/s ~"; got != want {
		t.Errorf("cell %q, want %q", got, want)
	}
	if len(tb.Notes) != 1 || tb.Notes[0].Text != "pipe 4 KiB: noisy, throughput ranges 700.1–950.2 MB/s across 3 rounds" {
		t.Errorf("notes %q", tb.Notes)
	}
	var buf strings.Builder
	if err := WriteTable(&buf, f); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "Incomplete run:") {
		t.Errorf("an incomplete run is not said first:\n%s", buf.String())
	}
}
