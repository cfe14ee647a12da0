package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipcbench/ipcbench/harness/harnesstest"
	"github.com/ipcbench/ipcbench/results"
)

// server is an `ipcbench serve` process started by a test.
type server struct {
	cmd  *exec.Cmd
	addr string
	log  *bytes.Buffer // everything it printed, once it has exited
	done chan struct{}
}

var listeningRE = regexp.MustCompile(`listening on (\S+) `)

// startServe runs the built binary's serve command, prefixed by wrap (such
// as ip netns exec), and waits for its "listening" line.
func startServe(t *testing.T, wrap []string, listen string) *server {
	t.Helper()
	args := append(append([]string{}, wrap...), binary, "serve", "-listen", listen, "-handshake-timeout", "300ms")
	cmd := exec.Command(args[0], args[1:]...)
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, log: &bytes.Buffer{}, done: make(chan struct{})}
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			s.log.WriteString(line + "\n")
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				addrc <- m[1]
			}
		}
		close(s.done)
	}()
	go func() { cmd.Wait(); pw.Close() }()
	select {
	case s.addr = <-addrc:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("ipcbench serve did not start listening")
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop sends SIGINT and checks the server stops cleanly.
func (s *server) stop(t *testing.T) {
	if s.cmd.ProcessState != nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		t.Errorf("ipcbench serve did not stop on SIGINT")
		return
	}
	if !s.cmd.ProcessState.Success() || !strings.Contains(s.log.String(), "stopped") {
		t.Errorf("ipcbench serve did not stop cleanly (%v):\n%s", s.cmd.ProcessState, s.log.String())
	}
}

// runRemote runs `run -remote` (prefixed by wrap) and returns its results.
func runRemote(t *testing.T, wrap []string, addr string) *results.File {
	t.Helper()
	out := t.TempDir()
	args := append(append([]string{}, wrap...), binary, "run", "-mech", "tcpsocket", "-remote", addr,
		"-count", "300", "-sizes", "64,64K", "-pairs", "2", "-rounds", "1", "-verify", "-q", "-o", out)
	cmd := exec.Command(args[0], args[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, stderr.String())
	}
	f, err := results.Load(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Meta.Remote == nil || f.Meta.Remote.Address != addr || f.Meta.Remote.Version == "" || f.Meta.Remote.Host == "" {
		t.Errorf("meta does not describe the server: %+v", f.Meta.Remote)
	}
	if len(f.Results) != 4 {
		t.Fatalf("%d rows, want 2 workloads x 2 sizes", len(f.Results))
	}
	for _, r := range f.Results {
		if r.Workload == results.PingPong && r.RTT != nil {
			r.OneWay = &results.Stats{N: r.RTT.N, P50: 1, P90: 1, P99: 1, P999: 1, Max: 1} // no one-way across hosts; CheckRow wants one
		}
		harnesstest.CheckRow(t, r, 600)
	}
	return f
}

// TestRemoteEndToEnd runs serve and run -remote as two processes on
// loopback, sends the server garbage in between, and checks it keeps serving.
func TestRemoteEndToEnd(t *testing.T) {
	s := startServe(t, nil, "127.0.0.1:0")
	runRemote(t, nil, s.addr)
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("SSH-2.0-OpenSSH_9.2\r\n and some more bytes to fill a hello"))
	io.Copy(io.Discard, c) // the server answers and hangs up
	c.Close()
	runRemote(t, nil, s.addr)
	s.stop(t)
	if !strings.Contains(s.log.String(), "refused: not an ipcbench client") {
		t.Errorf("the server did not log the garbage:\n%s", s.log.String())
	}
}

func TestRemoteConnectionErrors(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"run", "-mech", "tcpsocket", "-remote", closed}, exitFailure, "(connection refused)"},
		{[]string{"run", "-mech", "pipe", "-remote", closed}, exitUsage, "-remote works only with -mech tcpsocket"},
		{[]string{"run", "-remote", closed}, exitUsage, "-remote works only with -mech tcpsocket"},
		{[]string{"serve", "-max-size", "12Q"}, exitUsage, "-max-size"},
		{[]string{"serve", "-max-sessions", "0"}, exitUsage, "-max-sessions must be at least 1"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(c.args, &stdout, &stderr)
		if code != c.code || !strings.Contains(stderr.String(), c.want) || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and one line saying %q", c.args, code, stderr.String(), c.code, c.want)
		}
	}
}

// TestTwoHosts is the real thing: two network namespaces joined by a veth
// pair, serve in one, run -remote in the other, garbage in between, and the
// failures a network names. It needs root and iproute2 (.ci/run installs
// it), and skips where namespaces cannot be made.
func TestTwoHosts(t *testing.T) {
	ip, err := exec.LookPath("ip")
	if err != nil {
		t.Skip("skipping the two-host test: iproute2's ip command is not installed")
	}
	a, b := fmt.Sprintf("ipcb-a-%d", os.Getpid()), fmt.Sprintf("ipcb-b-%d", os.Getpid())
	vethA, vethB := fmt.Sprintf("ipcba%d", os.Getpid()%100000), fmt.Sprintf("ipcbb%d", os.Getpid()%100000)
	sh := func(args ...string) error {
		out, err := exec.Command(ip, args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	if err := sh("netns", "add", a); err != nil {
		t.Skipf("skipping the two-host test: cannot make a network namespace here (%v)", err)
	}
	t.Cleanup(func() { sh("netns", "del", a) })
	if err := sh("netns", "add", b); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sh("netns", "del", b) })
	for _, step := range [][]string{
		{"link", "add", vethA, "type", "veth", "peer", "name", vethB},
		{"link", "set", vethA, "netns", a},
		{"link", "set", vethB, "netns", b},
		{"-n", a, "addr", "add", "10.77.0.1/24", "dev", vethA},
		{"-n", b, "addr", "add", "10.77.0.2/24", "dev", vethB},
		{"-n", a, "link", "set", vethA, "up"},
		{"-n", b, "link", "set", vethB, "up"},
		{"-n", a, "link", "set", "lo", "up"},
		{"-n", b, "link", "set", "lo", "up"},
	} {
		if err := sh(step...); err != nil {
			t.Fatal(err)
		}
	}
	inA, inB := []string{ip, "netns", "exec", a}, []string{ip, "netns", "exec", b}

	s := startServe(t, inA, "10.77.0.1:7300")
	f := runRemote(t, inB, s.addr)
	if f.Meta.Remote.Host == f.Meta.Host && f.Meta.Remote.Address == "" {
		t.Errorf("meta does not tell the two hosts apart")
	}
	// Garbage from the other host, then a client that says nothing: the
	// server drops both and keeps serving.
	for _, junk := range []string{"GET / HTTP/1.1\r\nHost: x\r\n\r\n................", ""} {
		cmd := exec.Command(inB[0], append(inB[1:], "bash", "-c", fmt.Sprintf(`exec 3<>/dev/tcp/10.77.0.1/7300; printf %%s '%s' >&3; cat <&3 >/dev/null`, junk))...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("garbage sender: %v %s", err, out) // the server hanging up is expected
		}
	}
	runRemote(t, inB, s.addr)
	s.stop(t)
	for _, want := range []string{"refused: not an ipcbench client", "dropped: no complete hello within 300ms", "stream 64 KiB: "} {
		if !strings.Contains(s.log.String(), want) {
			t.Errorf("the server log does not say %q:\n%s", want, s.log.String())
		}
	}

	// Failures as the network names them, each one sentence and exit 1.
	for _, c := range []struct{ addr, want string }{
		{"10.77.0.1:7301", "(connection refused)"},
		{"10.78.0.1:7300", "(network unreachable)"},
		{"10.77.0.99:7300", "unreachable"}, // no neighbour answers ARP
	} {
		cmd := exec.Command(inB[0], append(inB[1:], binary, "run", "-mech", "tcpsocket", "-remote", c.addr, "-timeout", "8s")...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitFailure || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("run -remote %s: %v, stderr %q; want exit 1 saying %q", c.addr, err, stderr.String(), c.want)
		}
	}
}
