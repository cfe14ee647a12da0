package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/internal/host"
	"github.com/ipcbench/ipcbench/results"
)

// TestOffsetEndToEnd runs `-offset 0,8` as a user would and checks every
// place the offset shows: the table titles and the sweep table, JSON rows
// and meta, the CSV column, the chart of throughput against offset, the
// report, and a comparison keyed on it.
func TestOffsetEndToEnd(t *testing.T) {
	out := t.TempDir()
	cmd := exec.Command(binary, "run", "-mech", "pipe,unixsocket", "-workload", "stream", "-sizes", "4K",
		"-offset", "8,0", "-count", "100", "-rounds", "1", "-o", out, "-q")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ipcbench run: %v\nstderr: %s", err, stderr.String())
	}
	allowed, err := host.AllowedCPUs()
	if err != nil {
		t.Fatal(err)
	}
	placed := fmt.Sprintf("io=raw, both sides on CPU %d", allowed[0]) // the default placement
	for _, want := range []string{
		"Throughput (stream): payload one way, MB/s (10^6 B/s) and messages/s, " + placed + "\n",
		"Throughput (stream): payload one way, MB/s (10^6 B/s) and messages/s, " + placed + ", payload 8 B past a page\n",
		"Throughput against payload offset (stream)",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("the table output has no %q:\n%s", want, stdout.String())
		}
	}

	f, err := results.Load(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.Meta.Offsets, []int{0, 8}) {
		t.Errorf("meta.offsets = %v, want [0 8]", f.Meta.Offsets)
	}
	at := map[int]int{}
	for _, r := range f.Results {
		if r.Error != "" {
			t.Errorf("%s at offset %d: %s", r.Mechanism, r.PayloadOffset, r.Error)
		}
		at[r.PayloadOffset]++
		if !(r.CopyLimitFraction > 0) {
			t.Errorf("%s at offset %d: copy_limit_fraction %v", r.Mechanism, r.PayloadOffset, r.CopyLimitFraction)
		}
	}
	if at[0] != 2 || at[8] != 2 {
		t.Errorf("rows per offset %v, want 2 at 0 and 2 at 8", at)
	}

	fh, err := os.Open(filepath.Join(out, "results.csv"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(fh).ReadAll()
	fh.Close()
	if err != nil {
		t.Fatal(err)
	}
	col := slices.Index(recs[0], "payload_offset")
	var offs []string
	for _, r := range recs[1:] {
		if col >= 0 {
			offs = append(offs, r[col])
		}
	}
	if !slices.Equal(offs, []string{"0", "8", "0", "8"}) {
		t.Errorf("CSV payload_offset column %q (header %q)", offs, recs[0])
	}

	checkPNG(t, filepath.Join(out, "throughput-offset-4K.png"))
	checkSVG(t, filepath.Join(out, "throughput-offset-4K.svg"))
	html, _ := os.ReadFile(filepath.Join(out, "report.html"))
	if !bytes.Contains(html, []byte("Throughput against payload offset")) {
		t.Error("report.html does not show throughput against offset")
	}

	json := filepath.Join(out, "results.json")
	var cmpOut, cmpErr bytes.Buffer
	if code := run([]string{"compare", json, json}, &cmpOut, &cmpErr); code != exitOK {
		t.Fatalf("compare: exit %d: %s", code, cmpErr.String())
	}
	if !strings.Contains(cmpOut.String(), "offset") || strings.Count(cmpOut.String(), "8 B") < 2 {
		t.Errorf("the comparison does not line cells up by offset:\n%s", cmpOut.String())
	}
}
