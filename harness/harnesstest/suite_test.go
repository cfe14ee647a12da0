package harnesstest

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/ipc"
	"github.com/ipcbench/ipcbench/unixsocket"
)

// recorder is a T that records which (sub)tests failed instead of failing
// the real test, so that the suite's own tests can check that a broken
// Transport fails it, as testing/fstest's tests check fstest.TestFS.
type recorder struct {
	name     string
	mu       sync.Mutex
	failed   bool
	cleanups []func()
	log      *[]string // every failure, "name: message", shared by the tree
	logMu    *sync.Mutex
}

func newRecorder() *recorder {
	return &recorder{name: "suite", log: new([]string), logMu: new(sync.Mutex)}
}

func (r *recorder) Helper()      {}
func (r *recorder) Name() string { return r.name }
func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}
func (r *recorder) Logf(string, ...any) {}
func (r *recorder) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	r.failed = true
	r.mu.Unlock()
	r.logMu.Lock()
	*r.log = append(*r.log, r.name+": "+fmt.Sprintf(format, args...))
	r.logMu.Unlock()
}

// Fatalf ends the (sub)test's goroutine, as testing.T's does.
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Run(name string, f func(T)) bool {
	c := &recorder{name: r.name + "/" + name, log: r.log, logMu: r.logMu}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			for i := len(c.cleanups) - 1; i >= 0; i-- {
				c.cleanups[i]()
			}
		}()
		f(c)
	}()
	<-done
	if c.Failed() {
		r.mu.Lock()
		r.failed = true
		r.mu.Unlock()
	}
	return !c.Failed()
}

// failures are the failures recorded under a test whose name contains part.
func (r *recorder) failures(part string) []string {
	r.logMu.Lock()
	defer r.logMu.Unlock()
	return slices.DeleteFunc(slices.Clone(*r.log), func(s string) bool { return !strings.Contains(s, part) })
}

// broken is a working Transport (unixsocket) with one thing broken.
type broken struct {
	ipc.Transport
	noWake     bool // Listener.Close does nothing until the test ends
	allocSend  bool // Send allocates
	corruptRcv bool // Recv flips a byte of every message it receives

	mu   sync.Mutex
	lazy []ipc.Listener // the listeners whose Close was skipped, closed at the end
}

// closeLazy closes for real what the lazy listeners left: their socket
// files and private directories must not outlive the test.
func (b *broken) closeLazy() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range b.lazy {
		l.Close()
	}
	b.lazy = nil
}

func (b *broken) Listen(cfg ipc.Config) (ipc.Listener, error) {
	l, err := b.Transport.Listen(cfg)
	if err != nil || !b.noWake {
		return l, err
	}
	b.mu.Lock()
	b.lazy = append(b.lazy, l)
	b.mu.Unlock()
	return &lazyListener{Listener: l}, nil
}

func (b *broken) Dial(ep ipc.Endpoint, cfg ipc.Config) (ipc.Conn, error) {
	c, err := b.Transport.Dial(ep, cfg)
	if err != nil {
		return nil, err
	}
	return &brokenConn{Conn: c, b: b}, nil
}

// lazyListener's Close forgets to close; the recorder's cleanups, which
// close the peer's Conn, end what it leaves waiting.
type lazyListener struct{ ipc.Listener }

func (l *lazyListener) Close() error { return nil }

var sink []byte

type brokenConn struct {
	ipc.Conn
	b *broken
}

func (c *brokenConn) Send(frame []byte) error {
	if c.b.allocSend {
		sink = make([]byte, 16+len(sink)%2)
	}
	return c.Conn.Send(frame)
}

func (c *brokenConn) Recv(frame []byte) error {
	err := c.Conn.Recv(frame)
	if c.b.corruptRcv && err == nil && len(frame) > 0 {
		frame[len(frame)/2] ^= 1
	}
	return err
}

// TestSuitePasses: the unbroken Transport passes the contract under the
// recorder, so the failures below are the breakage's.
func TestSuitePasses(t *testing.T) {
	r := newRecorder()
	Contract(r, unixsocket.New())
	if r.Failed() {
		t.Fatalf("a working transport failed the suite: %q", r.failures(""))
	}
}

func TestSuiteCatchesBrokenTransports(t *testing.T) {
	defer func(d time.Duration) { waitLimit = d }(waitLimit)
	waitLimit = time.Second // a broken Close fails after this long, not 10 s
	for _, tc := range []struct {
		name string
		tr   *broken
		want string // the subtest that must fail
	}{
		{"close that does not wake", &broken{noWake: true}, "/CloseWakes/"},
		{"allocation in Send", &broken{allocSend: true}, "/NoAllocs/"},
		{"corrupt message", &broken{corruptRcv: true}, "/Messages/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.tr.Transport = unixsocket.New()
			r := newRecorder()
			Contract(r, tc.tr)
			tc.tr.closeLazy()
			if !r.Failed() {
				t.Fatal("the broken transport passed the suite")
			}
			if got := r.failures(tc.want); len(got) == 0 {
				t.Errorf("no failure in %s; failures: %q", tc.want, r.failures(""))
			} else {
				t.Logf("%d failures in %s, e.g. %s", len(got), tc.want, got[0])
			}
		})
	}
}
