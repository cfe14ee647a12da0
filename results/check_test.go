package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// compileSchema compiles the embedded schema with a validator that knows
// draft 2020-12, so a mistake in the schema itself fails here.
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(SchemaJSON))
	if err != nil {
		t.Fatalf("schema.json is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("schema.json")
	if err != nil {
		t.Fatalf("schema.json does not compile: %v", err)
	}
	return sch
}

// validateSchema checks raw results JSON against the schema.
func validateSchema(t *testing.T, sch *jsonschema.Schema, raw []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return sch.Validate(v)
}

// TestSchemaFixtures: every results file in testdata, and what Write makes
// of it, is valid by the schema.
func TestSchemaFixtures(t *testing.T) {
	sch := compileSchema(t)
	paths, _ := filepath.Glob(filepath.Join("testdata", "*.results.json"))
	if len(paths) < 4 {
		t.Fatalf("only %d fixtures", len(paths))
	}
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := validateSchema(t, sch, raw); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		f, err := Read(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		Write(&b, f)
		if err := validateSchema(t, sch, b.Bytes()); err != nil {
			t.Errorf("%s written again: %v", p, err)
		}
	}
}

// goodFile is a minimal valid file to break one field at a time.
const goodFile = `{"schema": 1,
 "meta": {"started": "2026-11-22T10:00:00Z", "version": "v", "command": "c", "host": "h", "kernel": "k",
  "cpu_model": "m", "ncpu": 2, "go_version": "go1.26.0", "gomaxprocs": 2, "io": "raw", "cpus": null,
  "limits": {"kernel.msgmax": 8192}, "seed": 12345},
 "results": [
  {"mechanism": "pipe", "workload": "pingpong", "size_bytes": 64, "round": 1, "messages": 10, "elapsed_ns": 1000,
   "rtt_ns": {"n": 10, "min": 1, "mean": 2, "stddev": 0, "p50": 2, "p90": 2, "p99": 2, "p999": 2, "max": 3},
   "msgs_per_s": 1e7, "bytes_per_s": 6.4e8, "a_field_added_later": {"x": 1}},
  {"mechanism": "pipe", "workload": "stream", "size_bytes": 64, "round": 1, "error": "no"},
  {"mechanism": "pipe", "workload": "connect", "size_bytes": 64, "round": 1, "skipped": "no connections on a pipe"}
 ]}`

// TestSchemaAndReadAgree: each way to break a row is refused by both the
// schema and Read, and Read names the row in one sentence.
func TestSchemaAndReadAgree(t *testing.T) {
	sch := compileSchema(t)
	if err := validateSchema(t, sch, []byte(goodFile)); err != nil {
		t.Fatalf("the good file: %v", err)
	}
	if _, err := Read(strings.NewReader(goodFile)); err != nil {
		t.Fatalf("the good file: %v", err)
	}
	for _, tc := range []struct {
		name   string
		row    int
		delete []string // fields deleted from the row
		set    map[string]any
		want   string // in Read's error
	}{
		{"no mechanism", 0, []string{"mechanism"}, nil, "results row 0 (pingpong 64 B) has no mechanism"},
		{"no workload", 1, []string{"workload"}, nil, "results row 1 (pipe 64 B) has no workload"},
		{"no size", 0, []string{"size_bytes"}, nil, "results row 0 (pipe pingpong) has no size_bytes"},
		{"size zero", 2, nil, map[string]any{"size_bytes": 0}, "has no size_bytes"},
		{"no figures", 0, []string{"rtt_ns", "msgs_per_s", "bytes_per_s"}, nil, "results row 0 (pipe pingpong 64 B) has no figures"},
		{"no messages", 0, []string{"messages"}, nil, "has no figures (messages and elapsed_ns)"},
		{"error gone", 1, []string{"error"}, nil, "results row 1 (pipe stream 64 B) has no figures"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var doc map[string]any
			json.Unmarshal([]byte(goodFile), &doc)
			row := doc["results"].([]any)[tc.row].(map[string]any)
			for _, k := range tc.delete {
				delete(row, k)
			}
			for k, v := range tc.set {
				row[k] = v
			}
			raw, _ := json.Marshal(doc)
			if err := validateSchema(t, sch, raw); err == nil {
				t.Errorf("the schema accepts it")
			}
			_, err := Read(bytes.NewReader(raw))
			if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("Read: %v, want one line of ErrInput saying %q", err, tc.want)
			}
		})
	}
	// The schema is precise about meta's required fields and the seed.
	for _, tc := range []struct {
		name string
		meta map[string]any
	}{
		{"no host", map[string]any{"host": nil}},
		{"seed above 2^53", map[string]any{"seed": 1 << 60}},
		{"started not a time", map[string]any{"started": "yesterday"}},
	} {
		var doc map[string]any
		json.Unmarshal([]byte(goodFile), &doc)
		meta := doc["meta"].(map[string]any)
		for k, v := range tc.meta {
			if v == nil {
				delete(meta, k)
			} else {
				meta[k] = v
			}
		}
		raw, _ := json.Marshal(doc)
		if err := validateSchema(t, sch, raw); err == nil {
			t.Errorf("%s: the schema accepts it", tc.name)
		}
	}
}
