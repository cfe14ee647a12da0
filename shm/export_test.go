package shm

import "github.com/ipcbench/ipcbench/harness"

// WithRing returns tr (one of this package's) with rings of size bytes per
// direction, named name: tests use small rings to make every message wrap
// and go through in pieces.
func WithRing(tr harness.Transport, size int, name string) harness.Transport {
	t := *tr.(*transport)
	t.ring, t.name = size, name
	return &t
}
