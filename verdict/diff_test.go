package verdict

import (
	"reflect"
	"testing"

	"github.com/ipcbench/ipcbench/results"
)

func TestContradictions(t *testing.T) {
	v := func(groups ...[]string) *results.Verdict { return &results.Verdict{Groups: groups} }
	for _, c := range []struct {
		name string
		a, b *results.Verdict
		want [][2]string
	}{
		{"same", v([]string{"pipe"}, []string{"tcp"}), v([]string{"pipe"}, []string{"tcp"}), nil},
		{"a tie is no contradiction", v([]string{"pipe"}, []string{"tcp"}), v([]string{"tcp", "pipe"}), nil},
		{"swapped", v([]string{"pipe"}, []string{"tcp"}), v([]string{"tcp"}, []string{"pipe"}), [][2]string{{"pipe", "tcp"}}},
		{"three", v([]string{"a"}, []string{"b", "c"}, []string{"d"}), v([]string{"d"}, []string{"a", "b"}, []string{"c"}),
			[][2]string{{"a", "d"}, {"b", "d"}, {"c", "d"}}},
		{"a mechanism only one has", v([]string{"a"}, []string{"b"}), v([]string{"c"}, []string{"a"}), nil},
		{"too few rounds ranks nothing", v([]string{"a"}, []string{"b"}), &results.Verdict{Groups: [][]string{{"b", "a"}}, TooFewRounds: true}, nil},
	} {
		if got := Contradictions(c.a, c.b); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestDiff(t *testing.T) {
	old := file(
		rows("pipe", results.PingPong, 64, spread(10000, 5, 100)...),
		rows("tcpsocket", results.PingPong, 64, spread(50000, 5, 300)...),
		rows("pipe", results.Stream, 64, spread(100e6, 5, 1e6)...),
		rows("tcpsocket", results.Stream, 64, spread(50e6, 5, 1e6)...),
	)
	new := file(
		rows("pipe", results.PingPong, 64, spread(60000, 5, 100)...),
		rows("tcpsocket", results.PingPong, 64, spread(50000, 5, 300)...),
		rows("pipe", results.Stream, 64, spread(101e6, 5, 1e6)...),
		rows("tcpsocket", results.Stream, 64, spread(50e6, 5, 1e6)...),
		rows("pipe", results.Stream, 4096, spread(101e6, 5, 1e6)...),
		rows("tcpsocket", results.Stream, 4096, spread(50e6, 5, 1e6)...),
	)
	d := Diff(old, new)
	if len(d) != 2 {
		t.Fatalf("changes %+v, want pingpong 64 and stream 4096", d)
	}
	if d[0].Workload != results.PingPong || !reflect.DeepEqual(d[0].Contradictions, [][2]string{{"pipe", "tcpsocket"}}) {
		t.Errorf("pingpong change %+v", d[0])
	}
	if d[1].SizeBytes != 4096 || d[1].Old != nil || d[1].New == nil {
		t.Errorf("stream 4096 change %+v", d[1])
	}
}
