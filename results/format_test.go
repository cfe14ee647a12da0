package results

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		ns   float64
		want string
	}{
		{0, "0 ns"},
		{1, "1.00 ns"},
		{9.996, "10.0 ns"},
		{950, "950 ns"},
		{999.4, "999 ns"},
		{999.5, "1.00 µs"},
		{1000, "1.00 µs"},
		{1870, "1.87 µs"},
		{5214, "5.21 µs"},
		{9996, "10.0 µs"},
		{12345, "12.3 µs"},
		{123456, "123 µs"},
		{999_600, "1.00 ms"},
		{1_230_000, "1.23 ms"},
		{2_500_000_000, "2.50 s"},
		{1_234_000_000_000, "1234 s"},
		{-5214, "-5.21 µs"},
		{math.NaN(), "n/a"},
		{math.Inf(1), "n/a"},
	}
	for _, tt := range tests {
		if got := FormatDuration(tt.ns); got != tt.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tt.ns, got, tt.want)
		}
	}
}

func TestFormatDurationPair(t *testing.T) {
	tests := []struct {
		a, b float64
		sep  string
		want string
	}{
		{5210, 9870, " / ", "5.21 / 9.87 µs"},
		{950, 1870, " / ", "950 ns / 1.87 µs"},
		{45600, 1_230_000, " / ", "45.6 µs / 1.23 ms"},
		{120, 480, " / ", "120 / 480 ns"},
		{5010, 7800, "–", "5.01–7.80 µs"},
		{999.7, 1500, " / ", "1.00 / 1.50 µs"},
		{math.NaN(), 1500, " / ", "n/a / 1.50 µs"},
	}
	for _, tt := range tests {
		if got := formatDurationPair(tt.a, tt.b, tt.sep); got != tt.want {
			t.Errorf("formatDurationPair(%v, %v) = %q, want %q", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestFormatCount(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{0, "0"},
		{3.456, "3.46"},
		{950, "950"},
		{999.5, "1.00k"},
		{12_400, "12.4k"},
		{666_000, "666k"},
		{1_879_687.5, "1.88M"},
		{2.5e9, "2.50G"},
		{4e15, "4000T"},
		{math.NaN(), "n/a"},
	}
	for _, tt := range tests {
		if got := FormatCount(tt.v); got != tt.want {
			t.Errorf("FormatCount(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestFormatMBps(t *testing.T) {
	tests := []struct {
		bytesPerS float64
		want      string
	}{
		{0, "0.0 MB/s"},
		{64_000, "0.064 MB/s"},
		{1_234, "0.00123 MB/s"},
		{1e6, "1.0 MB/s"},
		{812.34e6, "812.3 MB/s"},
		{999.94e6, "999.9 MB/s"},
		{999.96e6, "1000 MB/s"},
		{3_950_200_000, "3950 MB/s"},
		{12_345.6e6, "12346 MB/s"},
		{math.Inf(1), "n/a"},
	}
	for _, tt := range tests {
		if got := FormatMBps(tt.bytesPerS); got != tt.want {
			t.Errorf("FormatMBps(%v) = %q, want %q", tt.bytesPerS, got, tt.want)
		}
	}
}

func TestFormatSize(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{
		{0, "0 B"},
		{1, "1 B"},
		{64, "64 B"},
		{1000, "1000 B"},
		{1024, "1 KiB"},
		{1500, "1500 B"},
		{4096, "4 KiB"},
		{16384, "16 KiB"},
		{65536, "64 KiB"},
		{1 << 20, "1 MiB"},
		{3 << 20, "3 MiB"},
		{1<<20 + 1024, "1025 KiB"},
		{1 << 30, "1 GiB"},
	}
	for _, tt := range tests {
		if got := FormatSize(tt.n); got != tt.want {
			t.Errorf("FormatSize(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

// A small file exercising what the golden fixtures do not: absent cells, a
// cell failing in only some rounds, a note on one size only, and a note the
// mechanism shares across sizes that a failed cell lacks.
func TestViewCellsAndNotes(t *testing.T) {
	rtt := func(p50 int64) *Stats { return &Stats{P50: p50, P99: 2 * p50} }
	f := &File{Schema: Schema, Meta: Meta{IO: "go"}, Results: []Result{
		{Mechanism: "pipe", Workload: PingPong, SizeBytes: 64, Round: 1, RTT: rtt(5000), Note: "odd"},
		{Mechanism: "pipe", Workload: PingPong, SizeBytes: 64, Round: 2, RTT: rtt(5100), Note: "odd"},
		{Mechanism: "pipe", Workload: PingPong, SizeBytes: 1024, Round: 1, RTT: rtt(6000)},
		{Mechanism: "pipe", Workload: PingPong, SizeBytes: 1024, Round: 2, Error: "boom"},
		{Mechanism: "tcpsocket", Workload: PingPong, SizeBytes: 64, Round: 1, RTT: rtt(20000), Note: "loopback"},
		{Mechanism: "tcpsocket", Workload: PingPong, SizeBytes: 64, Round: 2, RTT: rtt(20100), Note: "loopback"},
		{Mechanism: "tcpsocket", Workload: PingPong, SizeBytes: 1 << 20, Round: 1, Error: "too big"},
		{Mechanism: "tcpsocket", Workload: PingPong, SizeBytes: 1 << 20, Round: 2, Error: "too big"},
	}}
	v := buildView(f)
	if len(v.Tables) != 1 {
		t.Fatalf("%d tables, want 1", len(v.Tables))
	}
	tb := v.Tables[0]
	if want := "Round-trip time (pingpong): p50 / p99, io=go, median of 2 rounds"; tb.Title != want {
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
	f := &File{Schema: Schema, Meta: Meta{Incomplete: true, Pairs: 4}, Results: []Result{
		{Mechanism: "pipe", Workload: Stream, SizeBytes: 4096, Round: 1, BytesPerS: 700.1e6, MsgsPerS: 170_900},
		{Mechanism: "pipe", Workload: Stream, SizeBytes: 4096, Round: 2, BytesPerS: 950.2e6, MsgsPerS: 232_000},
		{Mechanism: "pipe", Workload: Stream, SizeBytes: 4096, Round: 3, BytesPerS: 800e6, MsgsPerS: 195_300},
	}}
	v := buildView(f)
	tb := v.Tables[0]
	if want := "Throughput (stream): payload one way, MB/s (10^6 B/s) and messages/s, 4 pairs, summed, median of 3 rounds"; tb.Title != want {
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
