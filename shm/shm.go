// Package shm measures shared memory between two processes: one
// single-producer single-consumer byte ring per direction in a memfd that
// both map, and three ways for a side to wait for the other, each its own
// mechanism:
//
//   - shm-spin polls the ring (a load and a PAUSE) for a bounded, adaptive
//     number of polls, then calls sched_yield, then naps (package
//     internal/spin). It makes no syscall while the other side keeps up and
//     burns its CPU meanwhile; with both sides on one CPU (-cpus 0,0) the
//     budget sinks and every wait yields the CPU to the peer at once, so it
//     cannot livelock.
//   - shm-futex sleeps in FUTEX_WAIT on a word of the mapping and is woken
//     by FUTEX_WAKE, which the other side calls only when a flag in the
//     mapping says the sleeper may be asleep: a side that never has to wait
//     makes no syscall.
//   - shm-eventfd sleeps in a blocking read of an eventfd, which the other
//     side writes under the same rule.
//
// Each ring has two places to sleep, its consumer's (for data) and its
// producer's (for room), each with its own flag, futex word and eventfd:
// Send and Recv may run at once in two goroutines (an open-loop driver), so
// one side may sleep in both at the same time.
//
// Like for like with the other mechanisms, a message is copied twice: the
// sender copies it from its frame into the ring, the receiver copies it out
// of the ring into its own frame, as write(2) and read(2) copy into and out
// of a pipe's buffer. Neither side ever hands out a pointer into the ring.
// A message larger than the ring (or than its free room) goes through in
// pieces, as it would through any stream: the sender copies what fits and
// waits for room while the receiver copies out what has arrived.
//
// Nothing is named: the memory is a memfd (package internal/shmem) whose
// descriptor the peer inherits, so a crash leaves nothing behind, and
// closing both ends unmaps it. A side that goes away, or the driver's
// watchdog (Listener.Close), sets a closed flag in the mapping and wakes a
// sleeper, so that no side spins or sleeps for ever on a peer that died or
// hangs.
//
// There is no descriptor for the runtime poller to watch, so every IO mode
// runs the same raw path. Each Conn counts the syscalls it makes (futex,
// eventfd read and write, sched_yield, nanosleep) in Syscalls, for the cost
// of a message.
package shm

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ipcbench/ipcbench/internal/shmem"
	"github.com/ipcbench/ipcbench/internal/spin"
	"github.com/ipcbench/ipcbench/ipc"
)

// headroom is the bytes in front of a message that belong to the Conn:
// the ring needs none.
const headroom = 0

// RingSize is the capacity of each direction's ring: four times the 64 KiB
// a pipe holds by default, small enough to stay in a core's L2 cache.
const RingSize = 256 << 10

// style is how a side waits.
type style uint32

const (
	spinning style = iota + 1
	futexes
	eventfds
)

var styleNames = map[style]string{spinning: "shm-spin", futexes: "shm-futex", eventfds: "shm-eventfd"}

// NewSpin returns shm-spin, whose sides busy-poll (bounded, then yield).
func NewSpin() ipc.Transport { return &transport{style: spinning, ring: RingSize} }

// NewFutex returns shm-futex, whose sides sleep on a futex in the mapping.
func NewFutex() ipc.Transport { return &transport{style: futexes, ring: RingSize} }

// NewEventfd returns shm-eventfd, whose sides sleep reading an eventfd.
func NewEventfd() ipc.Transport { return &transport{style: eventfds, ring: RingSize} }

type transport struct {
	style style
	ring  int    // bytes per direction, a power of two and a multiple of the page
	name  string // when not the style's own (tests with a small ring)
}

func (t *transport) Name() string {
	if t.name != "" {
		return t.name
	}
	return styleNames[t.style]
}

// Caps: whole messages of any size through the rings, and only the raw
// path: there is no descriptor for the runtime poller to watch. The note
// says how a side waits.
func (t *transport) Caps(cfg ipc.Config) ipc.Caps {
	c := ipc.Caps{Headroom: headroom, IOModes: []ipc.IOMode{ipc.IORaw}}
	switch t.style {
	case spinning:
		c.Note, c.RawPath = "polls the ring, then sched_yield (bounded spin)", "polling"
	case futexes:
		c.Note, c.RawPath = "futex wait/wake on the mapping, only when the other side may sleep", "futex waits"
	case eventfds:
		c.Note, c.RawPath = "blocking eventfd reads, written only when the reader may sleep", "eventfd reads"
	}
	return c
}

// The mapping: a control page, then ring 0 (driver to peer) and ring 1
// (peer to driver). Words written by different sides sit at least line
// bytes apart: two 64-byte cache lines, because Intel's adjacent-line
// prefetcher fetches lines in pairs, and a word the other side writes must
// not share a pair with one this side writes.
//
// Each ring has its tail (the producer writes it) and head (the consumer
// writes it), and two places to sleep: the consumer's, for data, and the
// producer's, for room. A place to sleep is a waiting flag, which the
// sleeper writes, and a futex word, which the other side bumps to wake it.
// Send and Recv may run at once in two goroutines (an open-loop driver), so
// a side can sleep in both places at the same time.
const (
	line      = 128
	page      = 4096
	offMagic  = 0                   // uint64: magic, then the style, then the ring size
	offStyle  = 8                   // uint32
	offJoined = 12                  // uint32: the peer has mapped and checked the layout
	offSize   = 16                  // uint64
	offClosed = 1 * line            // uint32: either side (or the watchdog) closed the channel
	offRing   = 2 * line            // ring r's control block at offRing+r*ringCtl
	ringCtl   = 6 * line            // tail, head, data: waiting, wake; room: waiting, wake
	offCPU    = offRing + 2*ringCtl // side s: the CPU it last waited on, plus one (shm-spin)
	offData   = page                // ring r's bytes at offData+r*size
	magic     = 0x6d68732d_63706900 // "\x00ipc-shm"
)

// Within a ring's control block:
const (
	ctlTail = iota * line
	ctlHead
	ctlDataWaiting
	ctlDataWake
	ctlRoomWaiting
	ctlRoomWake
)

// Places to sleep, numbered for the eventfds: slot 2r is ring r's data
// (its consumer sleeps there), 2r+1 its room (its producer sleeps there).
const (
	slotData = 0
	slotRoom = 1
	nslots   = 4
)

const (
	driverSide = 0
	peerSide   = 1
)

func (t *transport) Listen(cfg ipc.Config) (ipc.Listener, error) {
	f, mem, err := shmem.Create(offData + 2*t.ring)
	if err != nil {
		return nil, err
	}
	shmem.Uint64(mem, offSize).Store(uint64(t.ring))
	shmem.Uint32(mem, offStyle).Store(uint32(t.style))
	shmem.Uint64(mem, offMagic).Store(magic)
	reg := newRegion(mem)
	files := []*os.File{f}
	if t.style == eventfds {
		// One eventfd per place to sleep, read by the sleeper and written
		// by the other side; the peer gets them all, in slot order.
		for i := range reg.efds {
			fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
			if err == nil {
				reg.efds[i] = fd
				var pf *os.File
				if pf, err = dupFile(fd, "eventfd"); err == nil {
					files = append(files, pf)
				}
			}
			if err != nil {
				closeFiles(files)
				reg.release()
				return nil, fmt.Errorf("creating an eventfd: %w", err)
			}
		}
	}
	return &listener{t: t, reg: reg, files: files}, nil
}

// dupFile returns a copy of fd as an os.File, to hand the peer: the harness
// closes Endpoint files once the peer has started.
func dupFile(fd int, name string) (*os.File, error) {
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("duplicating the %s: %w", name, err)
	}
	return os.NewFile(uintptr(nfd), name), nil
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

type listener struct {
	t     *transport
	reg   *region
	files []*os.File // the peer's: the memfd, then the eventfds

	mu     sync.Mutex
	closed bool
}

func (l *listener) Endpoint() ipc.Endpoint { return ipc.Endpoint{Files: l.files} }

// Accept returns the driver's end at once: the peer said it was ready only
// after Dial mapped the memory and checked its layout, which Accept checks
// it said in the mapping.
func (l *listener) Accept(time.Time) (ipc.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, fmt.Errorf("accept on a closed shared-memory listener: %w", ipc.ErrClosed)
	}
	if shmem.Uint32(l.reg.mem, offJoined).Load() != 1 {
		return nil, errors.New("the peer has not mapped the shared memory")
	}
	l.reg.acquire()
	return newConn(l.t.style, driverSide, l.reg), nil
}

// Close marks the channel closed in the mapping and wakes whichever side
// sleeps, so that a driver waiting on a dead or hung peer returns
// ErrClosed: this is how the watchdog stops a cell. The memory stays mapped
// while a Conn uses it; the last of the two to close unmaps it.
func (l *listener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	closeFiles(l.files)
	l.reg.shut()
	l.reg.release()
	return nil
}

func (t *transport) Dial(ep ipc.Endpoint, cfg ipc.Config) (ipc.Conn, error) {
	want := 1
	if t.style == eventfds {
		want += nslots
	}
	if len(ep.Files) != want {
		return nil, fmt.Errorf("expected %d inherited descriptors, got %d", want, len(ep.Files))
	}
	defer closeFiles(ep.Files)
	mem, err := shmem.Map(ep.Files[0], offData)
	if err != nil {
		return nil, err
	}
	size := shmem.Uint64(mem, offSize).Load()
	st := style(shmem.Uint32(mem, offStyle).Load())
	ok := shmem.Uint64(mem, offMagic).Load() == magic && st == t.style && size >= page && size&(size-1) == 0
	shmem.Unmap(mem)
	if !ok {
		return nil, fmt.Errorf("the shared memory is not a %s channel", t.Name())
	}
	if mem, err = shmem.Map(ep.Files[0], offData+2*int(size)); err != nil {
		return nil, err
	}
	reg := newRegion(mem)
	if t.style == eventfds {
		// Kept as bare descriptors, out of the runtime poller. exec made
		// them blocking, but IOGo's inheriting made them non-blocking
		// again, for the driver too (the flag belongs to the open file
		// both share): undo it.
		for i := range reg.efds {
			nfd, err := unix.FcntlInt(ep.Files[1+i].Fd(), unix.F_DUPFD_CLOEXEC, 0)
			if err == nil {
				reg.efds[i] = nfd
				err = unix.SetNonblock(nfd, false)
			}
			if err != nil {
				reg.release()
				return nil, fmt.Errorf("taking the inherited eventfd: %w", err)
			}
		}
	}
	shmem.Uint32(mem, offJoined).Store(1)
	return newConn(t.style, peerSide, reg), nil
}

// region is one side's mapping of the channel, and its eventfds. The
// driver's is shared by its Listener and its Conn, which may close in either
// order and at the same time (the watchdog closes the Listener while the
// Conn is blocked): it is unmapped when both have.
type region struct {
	mu   sync.Mutex
	mem  []byte
	refs int
	efds [nslots]int // eventfds by slot, -1 when none
}

func newRegion(mem []byte) *region {
	return &region{mem: mem, refs: 1, efds: [nslots]int{-1, -1, -1, -1}}
}

func (r *region) acquire() {
	r.mu.Lock()
	r.refs++
	r.mu.Unlock()
}

// shut marks the channel closed and wakes every sleeper, whatever it waits
// for: a futex sleeper through its word (changed first, so that one about to
// sleep does not), an eventfd sleeper through its eventfd, a spinner by the
// flag alone.
func (r *region) shut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mem == nil {
		return
	}
	shmem.Uint32(r.mem, offClosed).Store(1)
	for ring := 0; ring < 2; ring++ {
		for _, off := range []int{ctlDataWake, ctlRoomWake} {
			w := shmem.Uint32(r.mem, offRing+ring*ringCtl+off)
			w.Add(1)
			futexWakeOn(w, wakeAll)
		}
	}
	one := [8]byte{1}
	for _, fd := range r.efds {
		if fd >= 0 {
			unix.Write(fd, one[:])
		}
	}
}

// release drops one user; the last unmaps the memory and closes the
// eventfds.
func (r *region) release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refs--; r.refs > 0 || r.mem == nil {
		return
	}
	shmem.Unmap(r.mem)
	r.mem = nil
	for i, fd := range r.efds {
		if fd >= 0 {
			unix.Close(fd)
			r.efds[i] = -1
		}
	}
}

// slot is a place to sleep: a flag its sleeper sets, a futex word the other
// side bumps, an eventfd the other side writes.
type slot struct {
	waiting *atomic.Uint32
	wake    *atomic.Uint32
	efd     int
}

func slotAt(reg *region, ring, which int) slot {
	base := offRing + ring*ringCtl
	off := map[int][2]int{slotData: {ctlDataWaiting, ctlDataWake}, slotRoom: {ctlRoomWaiting, ctlRoomWake}}[which]
	return slot{
		waiting: shmem.Uint32(reg.mem, base+off[0]),
		wake:    shmem.Uint32(reg.mem, base+off[1]),
		efd:     reg.efds[2*ring+which],
	}
}

// waiter is what one direction of a Conn (its Send, or its Recv) needs to
// wait: Send and Recv may run at once, in two goroutines, so they share
// nothing they write.
type waiter struct {
	sleep    slot // where this side sleeps
	spin     *spin.Waiter
	count    [8]byte // what an eventfd read returns
	syscalls *int64  // Send's or Recv's count
}

// conn is one side's end.
type conn struct {
	style  style
	reg    *region
	out    ring // this side writes
	in     ring // this side reads
	closed *atomic.Uint32

	send, recv waiter // Send waits for room in out, Recv for data in in
	// Where the other side sleeps: for data in out (this side's Send wakes
	// it), for room in in (this side's Recv wakes it).
	peerData, peerRoom slot

	one   [8]byte // what a wake writes to an eventfd: 1
	calls ipc.Calls
	once  sync.Once
}

func newConn(st style, side int, reg *region) *conn {
	mem := reg.mem
	size := int(shmem.Uint64(mem, offSize).Load())
	ringAt := func(r int) ring {
		data := mem[offData+r*size : offData+(r+1)*size : offData+(r+1)*size]
		base := offRing + r*ringCtl
		return newRing(data, shmem.Uint64(mem, base+ctlHead), shmem.Uint64(mem, base+ctlTail))
	}
	out, in := side, 1-side
	c := &conn{
		style:    st,
		reg:      reg,
		out:      ringAt(out),
		in:       ringAt(in),
		closed:   shmem.Uint32(mem, offClosed),
		peerData: slotAt(reg, out, slotData),
		peerRoom: slotAt(reg, in, slotRoom),
	}
	// A spinning side needs to know whether the other runs on its CPU.
	mine, theirs := shmem.Uint32(mem, offCPU+side*line), shmem.Uint32(mem, offCPU+(1-side)*line)
	c.send = waiter{sleep: slotAt(reg, out, slotRoom), spin: spin.New().OnCPU(mine, theirs), syscalls: &c.calls.Send}
	c.recv = waiter{sleep: slotAt(reg, in, slotData), spin: spin.New().OnCPU(mine, theirs), syscalls: &c.calls.Recv}
	c.one[0] = 1
	return c
}

// Send copies frame[headroom:] into the ring, in pieces when it does not fit,
// waking the other side after each if it may sleep for data.
func (c *conn) Send(frame []byte) error {
	if c.closed.Load() != 0 {
		return ipc.ErrClosed
	}
	p := frame[headroom:]
	for len(p) > 0 {
		if n := c.out.write(p); n > 0 {
			p = p[n:]
			c.notify(&c.peerData, &c.calls.Send)
			continue
		}
		if err := c.await(&c.send, c.out.writable); err != nil {
			return err
		}
	}
	return nil
}

// Recv copies exactly len(frame)-headroom bytes out of the ring, waking the
// other side after each piece if it may sleep for room. What was sent
// before the channel closed is still delivered.
func (c *conn) Recv(frame []byte) error {
	p := frame[headroom:]
	for len(p) > 0 {
		if n := c.in.read(p); n > 0 {
			p = p[n:]
			c.notify(&c.peerRoom, &c.calls.Recv)
			continue
		}
		if err := c.await(&c.recv, c.in.readable); err != nil {
			return err
		}
	}
	return nil
}

// isClosed reports whether either side closed the channel.
func (c *conn) isClosed() bool { return c.closed.Load() != 0 }

// notify wakes the other side where it may sleep, after this side published
// what it waits for. The sleeper stores its flag before it looks at the
// ring, and this side stores the ring's index before it loads the flag
// (both sequentially consistent), so either the sleeper sees what was
// published or notify sees the flag.
func (c *conn) notify(s *slot, calls *int64) {
	switch c.style {
	case futexes:
		if s.waiting.Load() != 0 {
			s.wake.Add(1)
			futexWakeOn(s.wake, 1)
			*calls++
		}
	case eventfds:
		if s.waiting.Load() != 0 {
			for {
				_, e := ipc.Write(s.efd, c.one[:])
				*calls++
				if e != unix.EINTR {
					break
				}
			}
		}
	}
}

// await waits until ready, or the channel closes (ErrClosed).
func (c *conn) await(w *waiter, ready func() bool) error {
	switch c.style {
	case spinning:
		before := w.spin.Yields
		ok := w.spin.Until(ready, c.isClosed)
		*w.syscalls += w.spin.Yields - before
		if !ok {
			return ipc.ErrClosed
		}
		return nil
	case futexes:
		for {
			// Load the word before saying so and looking: a wake that
			// comes after the look changes it, and FUTEX_WAIT then returns
			// at once instead of sleeping.
			seq := w.sleep.wake.Load()
			w.sleep.waiting.Store(1)
			if done, err := c.settled(w, ready); done {
				return err
			}
			futexWaitOn(w.sleep.wake, seq)
			*w.syscalls++
		}
	default:
		for {
			w.sleep.waiting.Store(1)
			if done, err := c.settled(w, ready); done {
				return err
			}
			// Reading resets the count: several wakes cost one read.
			_, e := ipc.Read(w.sleep.efd, w.count[:])
			*w.syscalls++
			if e == unix.EAGAIN {
				// Left non-blocking by someone: block on it with poll.
				fds := [1]unix.PollFd{{Fd: int32(w.sleep.efd), Events: unix.POLLIN}}
				unix.Poll(fds[:], -1)
				*w.syscalls++
			} else if e != 0 && e != unix.EINTR {
				w.sleep.waiting.Store(0)
				return fmt.Errorf("reading the eventfd: %w", e)
			}
		}
	}
}

// settled is a sleeper's last look before it sleeps, its flag set: done
// when what it waits for is there (nil) or the channel closed (ErrClosed,
// unless what was published before the close is there after all).
func (c *conn) settled(w *waiter, ready func() bool) (done bool, err error) {
	if ready() {
		w.sleep.waiting.Store(0)
		return true, nil
	}
	if c.isClosed() {
		w.sleep.waiting.Store(0)
		if ready() {
			return true, nil
		}
		return true, ipc.ErrClosed
	}
	return false, nil
}

// Syscalls is how many syscalls this end has made in Send and Recv: futex
// calls, eventfd reads and writes, sched_yield and nanosleep (see
// ipc.SyscallCounter). Read it only while neither runs.
func (c *conn) Syscalls() int64 { return c.calls.Syscalls() }

// Close marks the channel closed, wakes the other side, and unmaps this
// side's memory once the Listener, if any, is closed too. It must not run
// while Send or Recv does (see ipc.Conn); the Listener's Close may.
func (c *conn) Close() error {
	c.once.Do(func() {
		c.reg.shut()
		c.reg.release()
	})
	return nil
}
