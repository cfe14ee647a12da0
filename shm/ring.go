package shm

import (
	"sync/atomic"
)

// chunk is the most a Send publishes at once. A message larger than this
// becomes visible to the receiver piece by piece while the sender still
// copies the rest, so the two copies overlap, as a pipe's page-sized pieces
// do; a smaller one is published whole.
const chunk = 16 << 10

// A ring is one direction's single-producer single-consumer byte ring, a
// view of the shared mapping. tail counts the bytes ever written, head the
// bytes ever read; both only grow, so tail-head is what the ring holds and
// neither side ever writes the other's index. The producer publishes what
// it copied in with a store of tail, the consumer what it copied out with a
// store of head: sync/atomic's stores and loads are sequentially consistent,
// so bytes copied before a store are visible to whoever loads the new index.
//
// Each side keeps its own index (pos) and the other's last value it loaded
// (seen), and loads the other's again only when what it saw is not enough:
// the cache line the other side writes moves between the CPUs once per
// refill, not once per call.
type ring struct {
	data       []byte
	mask       uint64
	head, tail *atomic.Uint64
	pos        uint64 // the producer's tail, or the consumer's head
	seen       uint64 // the last head the producer loaded, or tail the consumer loaded
}

func newRing(data []byte, head, tail *atomic.Uint64) ring {
	return ring{data: data, mask: uint64(len(data) - 1), head: head, tail: tail}
}

// write copies as much of p in as fits (at most chunk bytes), publishes it,
// and returns how much. 0 means the ring is full.
func (r *ring) write(p []byte) int {
	size := uint64(len(r.data))
	free := size - (r.pos - r.seen)
	if free < uint64(len(p)) {
		r.seen = r.head.Load()
		free = size - (r.pos - r.seen)
	}
	n := min(uint64(len(p)), free, chunk)
	if n == 0 {
		return 0
	}
	i := r.pos & r.mask
	k := copy(r.data[i:], p[:n])
	copy(r.data, p[k:n])
	r.pos += n
	r.tail.Store(r.pos)
	return int(n)
}

// read copies out as much as the ring holds, up to len(p) and chunk bytes,
// frees that room, and returns how much. 0 means the ring is empty.
func (r *ring) read(p []byte) int {
	avail := r.seen - r.pos
	if avail < uint64(len(p)) {
		r.seen = r.tail.Load()
		avail = r.seen - r.pos
	}
	n := min(uint64(len(p)), avail, chunk)
	if n == 0 {
		return 0
	}
	i := r.pos & r.mask
	k := copy(p[:n], r.data[i:])
	copy(p[k:n], r.data)
	r.pos += n
	r.head.Store(r.pos)
	return int(n)
}

// readable reports whether the consumer has anything to read.
func (r *ring) readable() bool { return r.tail.Load() != r.pos }

// writable reports whether the producer has room to write.
func (r *ring) writable() bool { return r.pos-r.head.Load() < uint64(len(r.data)) }
