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

// TestConformance runs both workloads at every size between two processes.
func TestConformance(t *testing.T) { harnesstest.Run(t, unixsocket.New()) }

// TestStreamSocketSuite checks the stream-socket transport contract in
// process: every byte, deadlines, closing from either side, no allocations.
func TestStreamSocketSuite(t *testing.T) { harnesstest.RunStreamSocketSuite(t, unixsocket.New()) }
