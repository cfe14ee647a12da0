package seqpacket_test

import (
	"os"
	"testing"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/harness/harnesstest"
	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/seqpacket"
)

func TestMain(m *testing.M) {
	harness.MaybeRunPeer([]ipc.Transport{seqpacket.New()})
	os.Exit(m.Run())
}

// TestConformance runs both workloads at every size between two processes,
// including 1 MiB, which is above a record's limit and split.
func TestConformance(t *testing.T) { harnesstest.Run(t, seqpacket.New()) }
