package view

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/ipcbench/ipcbench/results"
)

// WriteJSONL writes f as JSON Lines: one object per results row, in table
// order, with the run's meta fields repeated on every line, so that a row
// read alone (DuckDB's read_json, pandas' read_json(lines=True), jq -c)
// still says which machine and run it came from. A row's own fields come
// first, under their results.json names; then the meta fields under theirs,
// except that a meta field whose name a row field has (placement) becomes
// run_NAME.
func WriteJSONL(w io.Writer, f *results.File) error {
	meta, err := json.Marshal(&f.Meta)
	if err != nil {
		return fmt.Errorf("jsonl: %w", err)
	}
	metaFields, err := objectFields(meta)
	if err != nil {
		return fmt.Errorf("jsonl: %w", err)
	}
	bw := bufio.NewWriter(w)
	for _, r := range rowsInOrder(f) {
		row, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("jsonl: %w", err)
		}
		fields, err := objectFields(row)
		if err != nil {
			return fmt.Errorf("jsonl: %w", err)
		}
		taken := map[string]bool{}
		for _, fd := range fields {
			taken[fd.name] = true
		}
		var line bytes.Buffer
		line.WriteByte('{')
		write := func(name string, value json.RawMessage) {
			if line.Len() > 1 {
				line.WriteByte(',')
			}
			k, _ := json.Marshal(name)
			line.Write(k)
			line.WriteByte(':')
			line.Write(value)
		}
		for _, fd := range fields {
			write(fd.name, fd.value)
		}
		for _, fd := range metaFields {
			name := fd.name
			if taken[name] {
				name = "run_" + name
			}
			write(name, fd.value)
		}
		line.WriteString("}\n")
		if _, err := bw.Write(line.Bytes()); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// field is one member of a JSON object, in the order it was written.
type field struct {
	name  string
	value json.RawMessage
}

// objectFields splits a JSON object into its members, keeping their order
// (a map would sort them).
func objectFields(obj []byte) ([]field, error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object: %s", obj)
	}
	var out []field
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, field{t.(string), v})
	}
	return out, nil
}
