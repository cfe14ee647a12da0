package view

import (
	"encoding/csv"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/results"
)

// offsetFile is a run at payload offsets 0 and 8: pipe slower at 8.
func offsetFile() *results.File {
	f := &results.File{Schema: results.Schema, Meta: results.Meta{IO: "raw", Offsets: []int{0, 8},
		Floors: &results.Floors{MemcpyByOffset: map[int]map[int]float64{0: {65536: 12e9}, 8: {65536: 11e9}}}}}
	for _, off := range []int{0, 8} {
		for _, mech := range []string{"pipe", "unixsocket"} {
			bps := map[string]float64{"pipe": 2500e6, "unixsocket": 3000e6}[mech]
			if off == 8 && mech == "pipe" {
				bps = 1000e6
			}
			f.Results = append(f.Results,
				results.Result{Mechanism: mech, Workload: results.Stream, SizeBytes: 65536, Round: 1, PayloadOffset: off,
					Messages: 100, MsgsPerS: bps / 65536, BytesPerS: bps},
				results.Result{Mechanism: mech, Workload: results.PingPong, SizeBytes: 64, Round: 1, PayloadOffset: off,
					Messages: 100, RTT: &results.Stats{N: 100, P50: 5000, P99: 9000}})
		}
	}
	return f
}

// TestOffsetTables: a run with two offsets gets a table per workload and
// offset, titled with the offset when it is not 0, and a table of stream
// throughput against offset.
func TestOffsetTables(t *testing.T) {
	v := buildLayout(offsetFile())
	var titles []string
	for _, tb := range v.Tables {
		titles = append(titles, tb.Title)
	}
	want := []string{
		"Round-trip time (pingpong): p50 / p99, io=raw, not pinned",
		"Round-trip time (pingpong): p50 / p99, io=raw, not pinned, payload 8 B past a page",
		"Throughput (stream): payload one way, MB/s (10^6 B/s) and messages/s, io=raw, not pinned",
		"Throughput (stream): payload one way, MB/s (10^6 B/s) and messages/s, io=raw, not pinned, payload 8 B past a page",
		"Throughput against payload offset (stream): payload one way, MB/s (10^6 B/s), io=raw, not pinned",
	}
	if !slices.Equal(titles, want) {
		t.Fatalf("titles:\n%s\nwant:\n%s", strings.Join(titles, "\n"), strings.Join(want, "\n"))
	}
	sweep := v.Tables[4]
	var rows []string
	for _, r := range sweep.Rows {
		var cells []string
		for _, c := range r {
			cells = append(cells, c.String())
		}
		rows = append(rows, strings.Join(cells, " | "))
	}
	wantRows := []string{"64 KiB | 0 B | 2500 MB/s | 3000 MB/s", "64 KiB | 8 B | 1000 MB/s | 3000 MB/s"}
	if !slices.Equal(sweep.Header, []string{"size", "offset", "pipe", "unixsocket"}) || !slices.Equal(rows, wantRows) {
		t.Errorf("sweep table %q:\n%s\nwant:\n%s", sweep.Header, strings.Join(rows, "\n"), strings.Join(wantRows, "\n"))
	}

	for i, want := range map[int]string{2: "64 KiB 6000 MB/s", 3: "64 KiB 5500 MB/s"} {
		notes := v.Tables[i].Notes
		if len(notes) == 0 || !strings.HasPrefix(notes[len(notes)-1].Text, "two-copy limit") || !strings.HasSuffix(notes[len(notes)-1].Text, want) {
			t.Errorf("table %q: notes %+v, want the two-copy limit at its offset, %s", v.Tables[i].Title, notes, want)
		}
	}

	// A single offset other than 0 says so; 0 alone says nothing.
	one := offsetFile()
	one.Results = slices.DeleteFunc(one.Results, func(r results.Result) bool { return r.PayloadOffset == 0 })
	v = buildLayout(one)
	if len(v.Tables) != 2 || !strings.HasSuffix(v.Tables[1].Title, ", payload 8 B past a page") {
		t.Errorf("one offset, 8: tables %+v", v.Tables)
	}
}

// TestOffsetCSVAndCompare: the CSV has each row's offset, and a comparison
// lines cells up by offset as well as mechanism, workload and size.
func TestOffsetCSVAndCompare(t *testing.T) {
	f := offsetFile()
	var buf strings.Builder
	if err := WriteCSV(&buf, f); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(buf.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := slices.Index(recs[0], "payload_offset")
	if col < 0 {
		t.Fatalf("no payload_offset column in %q", recs[0])
	}
	var offs []string
	for _, r := range recs[1:] {
		offs = append(offs, r[col])
	}
	if want := []string{"0", "8", "0", "8", "0", "8", "0", "8"}; !slices.Equal(offs, want) {
		t.Errorf("payload_offset column %q, want %q", offs, want)
	}

	c := results.Compare(f, f)
	var keys []string
	for _, cc := range c.Cells {
		if cc.Workload == results.Stream && cc.Mechanism == "pipe" {
			keys = append(keys, keyText(cc.Key))
			if len(cc.Figures) != 1 || cc.Figures[0].Old.Median != cc.Figures[0].New.Median {
				t.Errorf("%v: figures %+v: want the cell compared with itself", cc.Key, cc.Figures)
			}
		}
	}
	if want := []string{"pipe stream 65536 @0", "pipe stream 65536 @8"}; !slices.Equal(keys, want) {
		t.Errorf("compared pipe stream cells %q, want %q", keys, want)
	}
	var out strings.Builder
	if err := WriteComparisonTable(&out, c); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "offset") || !strings.Contains(out.String(), "8 B") {
		t.Errorf("the comparison table has no offset column:\n%s", out.String())
	}
}

func keyText(k results.Key) string {
	return k.Mechanism + " " + k.Workload + " " + strconv.Itoa(k.SizeBytes) + " @" + strconv.Itoa(k.Offset)
}

// TestOffsetBenchNames: cells at other offsets get names of their own in
// the Go benchmark format, page-aligned ones keep the old name.
func TestOffsetBenchNames(t *testing.T) {
	for k, want := range map[results.Key]string{
		{Mechanism: "pipe", Workload: results.Stream, SizeBytes: 65536}:            "IPC/mech=pipe/workload=stream/size=65536",
		{Mechanism: "pipe", Workload: results.Stream, SizeBytes: 65536, Offset: 8}: "IPC/mech=pipe/workload=stream/size=65536/offset=8",
	} {
		if got := BenchName(k); got != want {
			t.Errorf("BenchName(%+v) = %q, want %q", k, got, want)
		}
	}
}
