package results

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"
)

// SchemaJSON is the JSON Schema (draft 2020-12) of results.json, as
// results/schema.json in the repository: what every field means and which
// are required. Fields are added, never renamed, so it allows properties it
// does not name.
//
//go:embed schema.json
var SchemaJSON []byte

// check refuses a file whose rows cannot be shown: a row without its
// mechanism, workload or size, or with neither figures nor the error or
// skip that explains their absence. Rendering such a row would print a
// table of "0 B" cells without a word.
func (f *File) check() error {
	for i := range f.Results {
		if err := f.Results[i].check(); err != nil {
			return fmt.Errorf("%w: results row %d%s %s", ErrInput, i, f.Results[i].label(), err)
		}
	}
	return nil
}

// label names a row by what it has of its key, " (pipe pingpong 64 B)".
func (r *Result) label() string {
	var parts []string
	for _, p := range []string{r.Mechanism, r.Workload} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if r.SizeBytes > 0 {
		parts = append(parts, strconv.Itoa(r.SizeBytes)+" B")
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, " ") + ")"
}

func (r *Result) check() error {
	switch {
	case r.Mechanism == "":
		return fmt.Errorf("has no mechanism")
	case r.Workload == "":
		return fmt.Errorf("has no workload")
	case r.SizeBytes <= 0:
		return fmt.Errorf("has no size_bytes (or not a positive one: %d)", r.SizeBytes)
	case r.Error != "" || r.Skipped != "":
		return nil // no figures, and it says why
	case r.Messages <= 0 || r.ElapsedNS <= 0:
		return fmt.Errorf("has no figures (messages and elapsed_ns), and no error or skipped to say why")
	case r.RTT == nil && r.MsgsPerS <= 0 && r.BytesPerS <= 0 && r.ConnectionsPerS <= 0 && r.Lost == nil:
		return fmt.Errorf("has no figures (rtt_ns, msgs_per_s, bytes_per_s or connections_per_s), and no error or skipped to say why")
	case r.Workload == PingPong && r.RTT == nil && r.Lost == nil:
		return fmt.Errorf("is a pingpong row without rtt_ns, and has no error or skipped to say why")
	}
	return nil
}
