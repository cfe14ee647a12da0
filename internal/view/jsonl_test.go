package view

import (
	"bufio"
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/results"
)

// TestJSONLRows: one line per row, each a JSON object with the row's fields
// and the run's, the row's own placement kept and the run's as run_placement.
func TestJSONLRows(t *testing.T) {
	f, err := results.Load(filepath.Join(fixtures, "three-rounds.results.json"))
	if err != nil {
		t.Fatal(err)
	}
	f.Meta.Placement = "each side's measuring thread"
	f.Results[0].Placement = "cross-cpu"
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, f); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	lines := 0
	rows := rowsInOrder(f)
	for sc.Scan() {
		var obj map[string]any
		if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
			t.Fatalf("line %d is not a JSON object: %v", lines+1, err)
		}
		r := rows[lines]
		if obj["mechanism"] != r.Mechanism || obj["workload"] != r.Workload || obj["size_bytes"] != float64(r.SizeBytes) || obj["round"] != float64(r.Round) {
			t.Errorf("line %d is not row %+v: %v", lines+1, r.Key(), obj)
		}
		if obj["host"] != f.Meta.Host || obj["kernel"] != f.Meta.Kernel || obj["started"] == nil || obj["seed"] == nil {
			t.Errorf("line %d lacks the run's fields: %v", lines+1, obj)
		}
		if r.Placement != "" && (obj["placement"] != r.Placement || obj["run_placement"] != f.Meta.Placement) {
			t.Errorf("line %d: placement %v, run_placement %v", lines+1, obj["placement"], obj["run_placement"])
		}
		if !strings.HasPrefix(sc.Text(), `{"mechanism":`) {
			t.Errorf("line %d does not start with the row's own fields: %.40s", lines+1, sc.Text())
		}
		lines++
	}
	if lines != len(f.Results) {
		t.Errorf("%d lines for %d rows", lines, len(f.Results))
	}
}
