package main

import (
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// renderers are the libraries only the presentation may link: a mechanism,
// the harness or the data model that links them drags ~150 packages of
// fonts and image codecs into every program that measures or reads results.
var renderers = []string{"gonum.org/v1/plot", "github.com/olekukonko/tablewriter"}

// mayRender are the packages of the module allowed to link them: the
// presentation and the command that uses it.
var mayRender = []string{"internal/view", "internal/chart", "cmd/"}

// TestNoMechanismLinksRenderers asks `go list -deps` about every package of
// the module: only the presentation and the command may link gonum/plot or
// tablewriter. A new mechanism folder is checked without being named here.
func TestNoMechanismLinksRenderers(t *testing.T) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goTool, "list", "-f", "{{.ImportPath}} {{join .Deps \" \"}}", "../../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const module = "github.com/ipcbench/ipcbench/"
	links := map[string][]string{} // package -> the renderers it links
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		links[pkg] = nil
		for _, dep := range fields[1:] {
			for _, r := range renderers {
				if dep == r || strings.HasPrefix(dep, r+"/") {
					if !slices.Contains(links[pkg], r) {
						links[pkg] = append(links[pkg], r)
					}
				}
			}
		}
	}
	// The check sees what it should: the four mechanisms are listed and
	// the charts do link gonum/plot.
	for _, pkg := range []string{"pipe", "msgqueue", "unixsocket", "tcpsocket", "harness", "results"} {
		if _, ok := links[pkg]; !ok {
			t.Errorf("go list does not list %s: %v", pkg, out)
		}
	}
	if !slices.Contains(links["internal/chart"], renderers[0]) {
		t.Errorf("internal/chart does not link %s: the check cannot see dependencies", renderers[0])
	}
	for pkg, libs := range links {
		allowed := slices.ContainsFunc(mayRender, func(p string) bool { return pkg == p || strings.HasPrefix(pkg, p) })
		if len(libs) > 0 && !allowed {
			t.Errorf("%s links %s; only %s may", pkg, strings.Join(libs, " and "), strings.Join(mayRender, ", "))
		}
	}
}

// TestMechanismsImportOnlyIPC asks `go list -deps` about the package of
// every mechanism in the list (found from the list itself, so a new one is
// checked without being named): a mechanism knows only its own syscalls and
// package ipc, never the harness, the results or their presentation.
func TestMechanismsImportOnlyIPC(t *testing.T) {
	const module = "github.com/ipcbench/ipcbench/"
	forbidden := append([]string{module + "harness", module + "results", module + "internal/view", module + "internal/chart", module + "internal/remote"}, renderers...)
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	seen := map[string]bool{}
	for _, m := range mechanisms {
		typ := reflect.TypeOf(m)
		if typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		pkg := typ.PkgPath()
		if seen[pkg] {
			continue
		}
		seen[pkg] = true
		out, err := exec.Command(goTool, "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		deps := strings.Fields(string(out))
		if !slices.Contains(deps, module+"ipc") {
			t.Errorf("%s does not import package ipc: the check cannot see its dependencies", pkg)
		}
		for _, dep := range deps {
			for _, f := range forbidden {
				if dep == f || strings.HasPrefix(dep, f+"/") {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
	if len(seen) < 4 {
		t.Errorf("found the packages %v of %d mechanisms: want at least the four", seen, len(mechanisms))
	}
}
