package results

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzRead feeds the results.json loader anything: report and compare load
// files users hand them, truncated, corrupt, or from another version. Read
// must never panic; what it refuses it refuses with ErrInput and one line;
// what it accepts has a schema it knows and survives a write and a re-read
// unchanged.
func FuzzRead(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.results.json"))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2]) // truncated
	}
	for _, s := range []string{
		"", "{}", "null", "[]", `{"schema":1}`, `{"schema":2}`, `{"schema":-1}`, `{"schema":1e999}`,
		`{"schema":1,"results":[{"mechanism":"pipe","rtt_ns":{"p50":-1}}]}`,
		`{"schema":1,"meta":{"started":"not a time"}}`, `{"schema":1} trailing`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Read(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrInput) {
				t.Fatalf("error %q does not wrap ErrInput", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q is more than one line", err)
			}
			return
		}
		if file.Schema < 1 || file.Schema > Schema {
			t.Fatalf("accepted schema %d", file.Schema)
		}
		var first, second bytes.Buffer
		if err := Write(&first, file); err != nil {
			t.Fatalf("cannot write back what was read: %v", err)
		}
		again, err := Read(bytes.NewReader(first.Bytes()))
		if err != nil {
			t.Fatalf("cannot read back what was written: %v\n%s", err, first.String())
		}
		if err := Write(&second, again); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first.Bytes(), second.Bytes()) {
			t.Fatalf("a write and re-read changed the file:\n%s\n---\n%s", first.String(), second.String())
		}
	})
}
