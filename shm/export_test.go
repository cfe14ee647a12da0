package shm

import "github.com/ipcbench/ipcbench/ipc"

// WithRing returns tr (one of this package's) with rings of size bytes per
// direction, named name: tests use small rings to make every message wrap
// and go through in pieces.
func WithRing(tr ipc.Transport, size int, name string) ipc.Transport {
	t := *tr.(*transport)
	t.ring, t.name = size, name
	return &t
}
