package results

import (
	"errors"
	"strings"
	"testing"
)

// TestReadRefuses: every way a results file can be unusable is ErrInput
// with a sentence that says which.
func TestReadRefuses(t *testing.T) {
	good := `{"schema": 1, "meta": {}, "results": []}`
	if _, err := Read(strings.NewReader(good)); err != nil {
		t.Fatalf("a minimal file: %v", err)
	}
	for _, c := range []struct{ name, in, want string }{
		{"empty", "", "empty or truncated"},
		{"truncated", good[:20], "empty or truncated"},
		{"not JSON", "schema: 1", "not valid results JSON"},
		{"no schema", `{"meta": {}}`, `no "schema" field`},
		{"newer schema", `{"schema": 2}`, "newer than the 1"},
		{"two files joined", good + "\n" + good, "more after the results object"},
		{"trailing junk", good + " x", "more after the results object"},
	} {
		_, err := Read(strings.NewReader(c.in))
		if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want ErrInput saying %q", c.name, err, c.want)
		}
	}
	if _, err := Read(strings.NewReader(good + "\n\n")); err != nil {
		t.Errorf("trailing white space must be fine: %v", err)
	}
}
