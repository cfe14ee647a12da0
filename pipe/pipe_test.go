package pipe_test

import (
	"os"
	"testing"

	"ipcbench/harness"
	"ipcbench/harness/harnesstest"
	"ipcbench/pipe"
)

func TestMain(m *testing.M) {
	harness.MaybeRunPeer([]harness.Transport{pipe.New()})
	os.Exit(m.Run())
}

func TestConformance(t *testing.T) { harnesstest.Run(t, pipe.New()) }
