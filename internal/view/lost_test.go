package view

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/results"
)

// Rows of a lossy mechanism carry lost and reordered, zero included; the
// table shows the delivered rate with the share lost and a mark, and a
// stream that lost most of its messages says so.
func TestLostCounts(t *testing.T) {
	n := func(v int64) *int64 { return &v }
	f := &results.File{Schema: results.Schema, Results: []results.Result{
		{Mechanism: "udp", Workload: results.Stream, SizeBytes: 64, Round: 1, Messages: 1000, ElapsedNS: 1e9,
			MsgsPerS: 200, BytesPerS: 200 * 64, Lost: n(800), Reordered: n(3)},
		{Mechanism: "udp", Workload: results.Stream, SizeBytes: 4096, Round: 1, Messages: 1000, ElapsedNS: 1e9,
			MsgsPerS: 1000, BytesPerS: 1000 * 4096, Lost: n(0), Reordered: n(0)},
		{Mechanism: "pipe", Workload: results.Stream, SizeBytes: 64, Round: 1, Messages: 1000, ElapsedNS: 1e9,
			MsgsPerS: 1000, BytesPerS: 1000 * 64},
	}}

	var js bytes.Buffer
	if err := results.Write(&js, f); err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal(js.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	if v, ok := raw.Results[1]["lost"]; !ok || v != 0.0 {
		t.Errorf("a lossy row with no loss: lost = %v (present %v), want 0 present", v, ok)
	}
	if _, ok := raw.Results[2]["lost"]; ok {
		t.Errorf("a row of a mechanism that cannot lose has lost: %v", raw.Results[2])
	}

	tb := buildLayout(f).Tables[0]
	var rows []string
	for _, r := range tb.Rows {
		var cells []string
		for _, c := range r {
			cells = append(cells, c.String())
		}
		rows = append(rows, strings.Join(cells, " | "))
	}
	wantRows := []string{
		"64 B | 0.0128 MB/s, 200 msg/s, 80% lost # | 0.064 MB/s, 1.00k msg/s",
		"4 KiB | 4.1 MB/s, 1.00k msg/s | -",
	}
	if !slices.Equal(rows, wantRows) {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(wantRows, "\n"))
	}
	var notes []string
	for _, n := range tb.Notes {
		notes = append(notes, strings.TrimSpace(n.Marker+" "+n.Text))
	}
	want := "# udp 64 B: 800 of 1000 messages lost (80%, median of rounds), 3 reordered; figures count delivered messages only; it lost most of what was sent: a dropping mechanism, not a fast one"
	if !slices.Contains(notes, want) {
		t.Errorf("notes:\n%s\nwant among them:\n%s", strings.Join(notes, "\n"), want)
	}

	var csv bytes.Buffer
	if err := WriteCSV(&csv, f); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(csv.String()), "\n")
	// The lost and reordered columns, wherever later columns put them.
	col := slices.Index(strings.Split(lines[0], ","), "lost")
	pair := func(line string) string {
		f := strings.Split(line, ",")
		if col < 0 || col+1 >= len(f) {
			return "?"
		}
		return f[col] + "," + f[col+1]
	}
	if !strings.Contains(lines[0], ",lost,reordered") || pair(lines[1]) != "800,3" ||
		pair(lines[2]) != "0,0" || pair(lines[3]) != "," {
		t.Errorf("csv:\n%s", csv.String())
	}
}

func TestFormatPercent(t *testing.T) {
	for f, want := range map[float64]string{0: "0.0%", 0.0004: "<0.1%", 0.05: "5.0%", 0.5: "50%", 0.995: ">99%", 1: "100%"} {
		if got := formatPercent(f); got != want {
			t.Errorf("formatPercent(%v) = %q, want %q", f, got, want)
		}
	}
}
