package cacheline_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/internal/cacheline"
)

func TestMain(m *testing.M) {
	cacheline.MaybeRunChild()
	os.Exit(m.Run())
}

// TestMeasure bounces the line with both sides unpinned, on two CPUs and on
// one: each gives a positive round trip, and leaves no child process and no
// mapping behind.
func TestMeasure(t *testing.T) {
	for _, cpus := range [][]int{nil, {0, 1}, {0, 0}} {
		t.Run(fmt.Sprint(cpus), func(t *testing.T) {
			if len(cpus) == 2 && cpus[1] == 1 && !online(1) {
				t.Skip("no CPU 1")
			}
			ns, err := cacheline.Measure(cpus, 20*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if ns <= 0 {
				t.Errorf("round trip %d ns, want a positive figure", ns)
			}
			t.Logf("cpus %v: %d ns", cpus, ns)
			if kids := children(); kids != "" {
				t.Errorf("child processes left: %s", kids)
			}
			maps, _ := os.ReadFile("/proc/self/maps")
			if strings.Contains(string(maps), "memfd:ipcbench") {
				t.Error("the shared memory is still mapped")
			}
		})
	}
}

// TestChildDies: a child that is gone makes Measure fail with a reason
// instead of spinning for ever.
func TestTimeout(t *testing.T) {
	t.Setenv("PATH", "") // irrelevant to os.Executable; the child starts
	_, err := cacheline.Measure([]int{0, 0}, time.Nanosecond)
	if err == nil {
		t.Fatal("a nanosecond was enough for the whole measurement")
	}
	if !strings.Contains(err.Error(), "the cache-line child did not") {
		t.Errorf("error %q does not say what the child failed to do", err)
	}
	if kids := children(); kids != "" {
		t.Errorf("child processes left: %s", kids)
	}
}

func online(cpu int) bool {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	return err == nil && strings.Contains(string(b), fmt.Sprint(cpu))
}

func children() string {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", os.Getpid()))
	var kids []string
	for _, task := range tasks {
		b, _ := os.ReadFile(task)
		kids = append(kids, strings.Fields(string(b))...)
	}
	return strings.Join(kids, " ")
}
