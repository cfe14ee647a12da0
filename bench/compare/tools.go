package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ipcbench/ipcbench/results"
)

// A side is one program measuring one cell: ipcbench, the C baseline,
// sockperf or iperf3. measure returns the cell's figure: the p50 round trip
// in nanoseconds for pingpong, payload bytes/s for stream.
type side struct {
	name    string
	measure func(c cellSpec) (float64, error)
}

// cellSpec is one measurement: a mechanism, a workload and a size, placed
// on two CPUs (driver, peer), measured for a duration after a warm-up.
type cellSpec struct {
	mech     string
	workload string
	size     int
	cpus     [2]int
	offset   int // payload placement: bytes past a page boundary
	duration time.Duration
	warmup   time.Duration
}

func (c cellSpec) cpuList() string { return fmt.Sprintf("%d,%d", c.cpus[0], c.cpus[1]) }

// figure picks the compared figure out of a results row.
func figure(r results.Result) (float64, error) {
	if r.Error != "" {
		return 0, errors.New(r.Error)
	}
	if r.Workload == results.PingPong {
		if r.RTT == nil {
			return 0, errors.New("no round-trip figures in the row")
		}
		return float64(r.RTT.P50), nil
	}
	if r.BytesPerS <= 0 {
		return 0, errors.New("no throughput in the row")
	}
	return r.BytesPerS, nil
}

// runCmd runs a command and returns its stdout; stderr goes into the error.
func runCmd(timeout time.Duration, name string, args ...string) ([]byte, error) {
	return runCmdEnv(timeout, nil, name, args...)
}

// runCmdEnv is runCmd with the environment env (nil: this process's).
func runCmdEnv(timeout time.Duration, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return nil, fmt.Errorf("%s: %v: %s", filepath.Base(name), err, strings.TrimSpace(stderr.String()))
		}
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-done
		return nil, fmt.Errorf("%s: no result within %v", filepath.Base(name), timeout)
	}
	return stdout.Bytes(), nil
}

// ipcbenchSide runs `ipcbench run` for one cell with the given io mode.
func ipcbenchSide(bin, io string) side {
	return side{name: "ipcbench -io " + io, measure: func(c cellSpec) (float64, error) {
		out, err := runCmd(c.duration+c.warmup+30*time.Second, bin, "run",
			"-mech", c.mech, "-workload", c.workload, "-sizes", strconv.Itoa(c.size),
			"-io", io, "-cpus", c.cpuList(),
			"-duration", c.duration.String(), "-warmup", c.warmup.String(),
			"-rounds", "1", // a turn is one measurement; the default is -rounds auto
			"-offset", strconv.Itoa(c.offset), "-format", "json", "-q")
		if err != nil {
			return 0, err
		}
		var f results.File
		if err := json.Unmarshal(out, &f); err != nil {
			return 0, fmt.Errorf("ipcbench printed something that is not results JSON: %v", err)
		}
		if len(f.Results) != 1 {
			return 0, fmt.Errorf("ipcbench printed %d rows, want 1", len(f.Results))
		}
		return figure(f.Results[0])
	}}
}

// ipcbenchRseq asks ipcbench, with one short cell, whether its threads have
// restartable sequences registered (results' meta.rseq).
func ipcbenchRseq(bin string) (bool, error) {
	out, err := runCmd(30*time.Second, bin, "run", "-mech", "pipe", "-workload", "pingpong", "-sizes", "64",
		"-count", "100", "-warmup", "0", "-rounds", "1", "-format", "json", "-q")
	if err != nil {
		return false, err
	}
	var f results.File
	if err := json.Unmarshal(out, &f); err != nil {
		return false, fmt.Errorf("ipcbench printed something that is not results JSON: %v", err)
	}
	if f.Meta.Rseq == nil {
		return false, errors.New("ipcbench does not say whether its threads have rseq registered (meta.rseq): build it from this tree")
	}
	return *f.Meta.Rseq, nil
}

// baselineSide runs the C baseline for one cell. Without rseq, glibc is told
// not to register restartable sequences, as in ipcbench's static build: the
// kernel's work for them after each context switch is then missing from
// both figures rather than from one.
func baselineSide(bin string, rseq bool) side {
	var env []string
	if !rseq {
		env = append(os.Environ(), "GLIBC_TUNABLES=glibc.pthread.rseq=0")
	}
	return side{name: "C baseline", measure: func(c cellSpec) (float64, error) {
		out, err := runCmdEnv(c.duration+c.warmup+30*time.Second, env, bin,
			"-m", c.mech, "-w", c.workload, "-s", strconv.Itoa(c.size), "-c", c.cpuList(),
			"-d", seconds(c.duration), "-u", seconds(c.warmup), "-o", strconv.Itoa(c.offset))
		if err != nil {
			return 0, err
		}
		var r results.Result
		if err := json.Unmarshal(out, &r); err != nil {
			return 0, fmt.Errorf("the C baseline printed something that is not a JSON row: %v", err)
		}
		return figure(r)
	}}
}

func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

// sockperfSide runs `sockperf ping-pong` over TCP on loopback, the server
// pinned (taskset) to the peer's CPU and the client to the driver's. sockperf
// prints one-way latency, RTT/2: the figure returned is twice its p50, a
// round trip like ipcbench's.
func sockperfSide() side {
	return side{name: "sockperf", measure: func(c cellSpec) (float64, error) {
		port, err := freePort()
		if err != nil {
			return 0, err
		}
		srv := exec.Command("taskset", "-c", strconv.Itoa(c.cpus[1]),
			"sockperf", "server", "--tcp", "-i", "127.0.0.1", "-p", strconv.Itoa(port))
		if err := srv.Start(); err != nil {
			return 0, err
		}
		defer func() { srv.Process.Kill(); srv.Wait() }()
		if err := waitListening(port, 5*time.Second); err != nil {
			return 0, fmt.Errorf("sockperf server: %v", err)
		}
		out, err := runCmd(c.duration+c.warmup+30*time.Second, "taskset", "-c", strconv.Itoa(c.cpus[0]),
			"sockperf", "ping-pong", "--tcp", "-i", "127.0.0.1", "-p", strconv.Itoa(port),
			"-m", strconv.Itoa(c.size), "-t", strconv.Itoa(max(1, int(c.duration.Round(time.Second)/time.Second))))
		if err != nil {
			return 0, err
		}
		oneWay, err := sockperfP50(out)
		if err != nil {
			return 0, err
		}
		return 2 * oneWay, nil
	}}
}

var sockperfP50Line = regexp.MustCompile(`percentile 50\.000 =\s*([0-9.]+)`)

// sockperfP50 reads the p50 one-way latency, in nanoseconds, from sockperf's
// ping-pong output (which gives it in microseconds).
func sockperfP50(out []byte) (float64, error) {
	m := sockperfP50Line.FindSubmatch(out)
	if m == nil {
		return 0, errors.New("no 'percentile 50.000' line in sockperf's output")
	}
	us, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		return 0, err
	}
	return us * 1000, nil
}

// iperf3Side runs iperf3 with 64 KiB writes (-l) over loopback, the server
// pinned to the peer's CPU and the client to the driver's, and returns the
// bytes/s the server received.
func iperf3Side() side {
	return side{name: "iperf3", measure: func(c cellSpec) (float64, error) {
		port, err := freePort()
		if err != nil {
			return 0, err
		}
		srv := exec.Command("taskset", "-c", strconv.Itoa(c.cpus[1]),
			"iperf3", "-s", "-1", "-B", "127.0.0.1", "-p", strconv.Itoa(port))
		if err := srv.Start(); err != nil {
			return 0, err
		}
		defer func() { srv.Process.Kill(); srv.Wait() }()
		if err := waitListening(port, 5*time.Second); err != nil {
			return 0, fmt.Errorf("iperf3 server: %v", err)
		}
		out, err := runCmd(c.duration+30*time.Second, "taskset", "-c", strconv.Itoa(c.cpus[0]),
			"iperf3", "-c", "127.0.0.1", "-p", strconv.Itoa(port), "-l", strconv.Itoa(c.size),
			"-t", strconv.Itoa(max(1, int(c.duration.Round(time.Second)/time.Second))), "-J")
		if err != nil {
			return 0, err
		}
		return iperf3Received(out)
	}}
}

// iperf3Received reads the receiver's bytes/s from iperf3's JSON report.
func iperf3Received(out []byte) (float64, error) {
	var rep struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return 0, fmt.Errorf("iperf3 printed something that is not its JSON report: %v", err)
	}
	if rep.Error != "" {
		return 0, errors.New("iperf3: " + rep.Error)
	}
	if rep.End.SumReceived.BitsPerSecond <= 0 {
		return 0, errors.New("iperf3 reported no received throughput")
	}
	return rep.End.SumReceived.BitsPerSecond / 8, nil
}

// freePort finds a loopback port that is free now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitListening waits until a socket listens on the loopback port. It
// looks in /proc/net/tcp instead of connecting: a probe connection would be
// the one client that a one-shot server (iperf3 -1) takes.
func waitListening(port int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	want := fmt.Sprintf(":%04X ", port)
	for {
		b, err := os.ReadFile("/proc/net/tcp")
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			// sl local_address rem_address st: state 0A is LISTEN.
			if len(f) > 3 && strings.HasSuffix(f[1]+" ", want) && f[3] == "0A" {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on 127.0.0.1:%d after %v", port, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// buildBaseline compiles the C baseline into dir with gcc.
func buildBaseline(src, dir string) (string, error) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		return "", errors.New("gcc not found: the C baseline cannot be built (apt-get install gcc)")
	}
	bin := filepath.Join(dir, "ipcbaseline")
	out, err := exec.Command(gcc, "-O2", "-Wall", "-Wextra", "-o", bin, src, "-lrt").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("gcc %s: %v\n%s", src, err, out)
	}
	return bin, nil
}

// buildIpcbench builds ipcbench from the module at root into dir.
func buildIpcbench(root, dir string) (string, error) {
	bin := filepath.Join(dir, "ipcbench")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/ipcbench")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// moduleRoot finds the ipcbench module from the working directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module github.com/ipcbench/ipcbench\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run this from inside the ipcbench module")
		}
		dir = parent
	}
}
