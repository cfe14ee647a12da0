package fifo_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/fifo"
	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/harness/harnesstest"
	"github.com/ipcbench/ipcbench/ipc"
)

// childEnv makes this test binary a run that makes its FIFOs and waits to
// be killed.
const childEnv = "FIFO_TEST_CHILD"

func TestMain(m *testing.M) {
	harness.MaybeRunPeer([]ipc.Transport{fifo.New()})
	if os.Getenv(childEnv) != "" {
		l, err := fifo.New().Listen(ipc.Config{Size: 64, IO: ipc.IORaw})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println(l.Endpoint().Addr)
		time.Sleep(time.Minute) // until killed
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// TestConformance runs both workloads at every size, in both io modes,
// between two processes, and checks that nothing is left behind.
func TestConformance(t *testing.T) { harnesstest.Run(t, fifo.New()) }

// TestCleanKilledRun: a run killed with SIGKILL leaves its directory with
// both FIFOs; `ipcbench clean` removes it, and leaves a live run's alone.
func TestCleanKilledRun(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	cmd.Process.Kill()
	cmd.Wait()
	dir := strings.TrimSpace(line)
	if err != nil || !filepath.IsAbs(dir) {
		t.Fatalf("the run did not make its FIFOs: %q, %v", line, err)
	}
	for _, name := range []string{"d2p", "p2d"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode().Type() != os.ModeNamedPipe {
			t.Fatalf("the killed run's FIFO %s: %v, %v", name, fi, err)
		}
	}
	live, err := fifo.New().Listen(ipc.Config{Size: 64, IO: ipc.IORaw})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()

	removed, err := harness.Clean(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("removed %s (left by ipcbench process %d)", dir, cmd.Process.Pid)
	if len(removed) != 1 || removed[0] != want {
		t.Errorf("Clean removed %q, want %q", removed, want)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the killed run's directory: %v, want it gone", err)
	}
	if _, err := os.Stat(live.Endpoint().Addr); err != nil {
		t.Errorf("Clean removed a live run's directory: %v", err)
	}
}

// TestServer runs the server and connect workloads: many clients, one server.
func TestServer(t *testing.T) { harnesstest.RunServer(t, fifo.New()) }
