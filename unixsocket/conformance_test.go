package unixsocket_test

import (
	"os"
	"testing"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/harness/harnesstest"
	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/unixsocket"
)

func TestMain(m *testing.M) {
	harness.MaybeRunPeer([]ipc.Transport{unixsocket.New()})
	os.Exit(m.Run())
}

// TestConformance runs the in-process contract and both workloads between
// two processes at every size that bites.
func TestConformance(t *testing.T) { harnesstest.Run(t, unixsocket.New()) }

// TestServer runs the server and connect workloads: many clients, one server.
func TestServer(t *testing.T) { harnesstest.RunServer(t, unixsocket.New()) }
