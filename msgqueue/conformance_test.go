package msgqueue_test

import (
	"testing"

	"github.com/ipcbench/ipcbench/harness/harnesstest"
	"github.com/ipcbench/ipcbench/msgqueue"
)

// TestConformance runs both workloads at every size between two processes,
// including sizes above kernel.msgmax that must be split.
func TestConformance(t *testing.T) { harnesstest.Run(t, msgqueue.New()) }

// TestServer runs the server and connect workloads: many clients, one server.
func TestServer(t *testing.T) { harnesstest.RunServer(t, msgqueue.New()) }
