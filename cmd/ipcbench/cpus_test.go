package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os/exec"
	"reflect"
	"testing"

	"github.com/ipcbench/ipcbench/internal/host"
	"github.com/ipcbench/ipcbench/results"
)

// TestDefaultPlacement: without -cpus a local closed-loop pingpong or
// stream run pins both sides to the first CPU allowed; -cpus none, server
// and connect cells, several pairs and an offered rate leave them to the
// scheduler; an explicit -cpus is kept.
func TestDefaultPlacement(t *testing.T) {
	allowed, err := host.AllowedCPUs()
	if err != nil {
		t.Fatal(err)
	}
	first := []int{allowed[0], allowed[0]}
	for _, c := range []struct {
		args []string
		want []int
	}{
		{nil, first},
		{[]string{"-workload", "stream", "-sizes", "64K"}, first},
		{[]string{"-cpus", "none"}, nil},
		{[]string{"-cpus", "0,0"}, []int{0, 0}},
		{[]string{"-workload", "server"}, nil},
		{[]string{"-workload", "pingpong,connect", "-mech", "unixsocket"}, nil},
		{[]string{"-pairs", "2"}, nil},
		{[]string{"-rate", "1000"}, nil},
	} {
		var rc runConfig
		fs := runFlags(&rc)
		fs.SetOutput(io.Discard)
		if err := fs.Parse(c.args); err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		o, err := rc.options(set)
		if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if !reflect.DeepEqual(o.CPUs, c.want) {
			t.Errorf("%v: CPUs %v, want %v", c.args, o.CPUs, c.want)
		}
	}

	// And end to end: both sides were seen on that CPU.
	cmd := exec.Command(binary, "run", "-mech", "pipe", "-workload", "stream", "-sizes", "64",
		"-count", "2000", "-warmup", "0", "-rounds", "1", "-format", "json", "-q")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ipcbench run: %v\n%s", err, stderr.String())
	}
	var f results.File
	if err := json.Unmarshal(stdout.Bytes(), &f); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Meta.CPUs, first) || len(f.Results) != 1 || f.Results[0].Placement != results.SameCPU {
		t.Fatalf("meta.cpus %v, rows %d, placement %q: want both sides on CPU %d", f.Meta.CPUs, len(f.Results), f.Results[0].Placement, first[0])
	}
}
