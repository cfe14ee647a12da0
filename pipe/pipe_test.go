package pipe_test

import (
	"os"
	"testing"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/harness/harnesstest"
	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/pipe"
)

func TestMain(m *testing.M) {
	harness.MaybeRunPeer([]ipc.Transport{pipe.New()})
	os.Exit(m.Run())
}

func TestConformance(t *testing.T) { harnesstest.Run(t, pipe.New()) }

// TestServer runs the server and connect workloads: many clients, one server.
func TestServer(t *testing.T) { harnesstest.RunServer(t, pipe.New()) }
