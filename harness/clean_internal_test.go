package harness

import (
	"errors"
	"testing"
)

// Clean may fail on several things at once; ipcbench reports an error as
// one line.
func TestJoinErrorsIsOneLine(t *testing.T) {
	if joinErrors(nil) != nil {
		t.Error("no errors gave an error")
	}
	got := joinErrors([]error{errors.New("cannot remove /tmp/a"), errors.New("cannot remove queue 7")})
	if got.Error() != "cannot remove /tmp/a; cannot remove queue 7" {
		t.Errorf("got %q", got)
	}
}
