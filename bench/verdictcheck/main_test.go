package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipcbench/ipcbench/results"
)

func write(t *testing.T, dir, name string, groups ...[]string) string {
	t.Helper()
	f := &results.File{Schema: results.Schema, Verdicts: []results.Verdict{
		{Workload: results.PingPong, SizeBytes: 64, Figure: "rtt_p50", Better: "lower", Groups: groups},
	}}
	path := filepath.Join(dir, name)
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if err := results.Write(fh, f); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestVerdictCheck(t *testing.T) {
	dir := t.TempDir()
	a := write(t, dir, "a.json", []string{"pipe"}, []string{"msgqueue", "unixsocket"}, []string{"tcpsocket"})
	b := write(t, dir, "b.json", []string{"pipe", "msgqueue"}, []string{"unixsocket", "tcpsocket"})
	c := write(t, dir, "c.json", []string{"tcpsocket"}, []string{"pipe", "msgqueue", "unixsocket"})

	var out, errb bytes.Buffer
	if got := run([]string{a, b}, &out, &errb); got != 0 {
		t.Errorf("a and b agree where both rank: exit %d\n%s%s", got, out.String(), errb.String())
	}
	// a: pipe>msgqueue, pipe>unixsocket, pipe>tcp, msgqueue>tcp, unixsocket>tcp (5);
	// b: pipe>unixsocket, pipe>tcp, msgqueue>unixsocket, msgqueue>tcp (4); 3 agree.
	if want := "1 contexts in both; 5 pairs told apart in the first, 4 in the second, 3 the same way in both; 0 contradictions"; !strings.Contains(out.String(), want) {
		t.Errorf("output %q, want %q", out.String(), want)
	}
	out.Reset()
	if got := run([]string{a, b, c}, &out, &errb); got != 1 {
		t.Errorf("c contradicts a and b: exit %d\n%s", got, out.String())
	}
	if !strings.Contains(out.String(), "contradiction: 64 B round trip: pipe above tcpsocket in the first run, below it in the second") {
		t.Errorf("output %q", out.String())
	}
	errb.Reset()
	if got := run([]string{a, filepath.Join(dir, "missing.json")}, &out, &errb); got != 2 || !strings.Contains(errb.String(), "does not exist") {
		t.Errorf("missing file: exit %d, %q", got, errb.String())
	}
}
