package tcpsocket_test

import (
	"os"
	"testing"

	"ipcbench/harness"
	"ipcbench/harness/harnesstest"
	"ipcbench/tcpsocket"
)

func TestMain(m *testing.M) {
	harness.MaybeRunPeer([]harness.Transport{tcpsocket.New()})
	os.Exit(m.Run())
}

// TestConformance runs both workloads at every size between two processes.
func TestConformance(t *testing.T) { harnesstest.Run(t, tcpsocket.New()) }
