package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
)

const versionUsage = `Usage: ipcbench version (or -V, --version)

Prints the version of ipcbench, the module version it was built from, the
commit and whether the tree had uncommitted changes (when the build knows
them: go build in a git clone, or go install module@version), and the Go
release and platform. The first line is what results.json records as
meta.version.
`

const helpUsage = `Usage: ipcbench help [CMD]

Prints the overview of the commands, or with CMD that command's usage and
flags (the same as 'ipcbench CMD -h').
`

// buildFacts is what the binary knows about its own build.
type buildFacts struct {
	module, moduleVersion string // "(devel)" for a build in a clone
	commit, commitTime    string // from the VCS stamp, when there is one
	dirty                 bool
}

// readBuildFacts reads the module version and the VCS stamp of this binary.
func readBuildFacts() buildFacts {
	var b buildFacts
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	b.module, b.moduleVersion = info.Main.Path, info.Main.Version
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.commit = s.Value
		case "vcs.time":
			b.commitTime = s.Value
		case "vcs.modified":
			b.dirty = s.Value == "true"
		}
	}
	return b
}

// fullVersion is the version results record: the module version when ipcbench
// was installed as module@version, else the version set at build time, with
// the commit (12 digits) and "-dirty" for a tree with uncommitted changes.
func fullVersion() string { return readBuildFacts().version() }

func (b buildFacts) version() string {
	v := version
	if b.moduleVersion != "" && b.moduleVersion != "(devel)" {
		v = b.moduleVersion
	}
	if len(b.commit) >= 12 && !strings.Contains(v, b.commit[:12]) {
		v += "+" + b.commit[:12]
	}
	if b.dirty {
		v += "-dirty"
	}
	return v
}

// describe is what `ipcbench version` prints.
func (b buildFacts) describe() string {
	var out strings.Builder
	fmt.Fprintf(&out, "ipcbench %s\n", b.version())
	if b.module != "" {
		mv := b.moduleVersion
		if mv == "" || mv == "(devel)" {
			mv = "(devel: built from a clone, not a module release)"
		}
		fmt.Fprintf(&out, "module  %s %s\n", b.module, mv)
	}
	if b.commit != "" {
		line := b.commit
		if b.commitTime != "" {
			line += " (" + b.commitTime + ")"
		}
		if b.dirty {
			line += ", with uncommitted changes"
		} else {
			line += ", clean tree"
		}
		fmt.Fprintf(&out, "commit  %s\n", line)
	} else {
		fmt.Fprintf(&out, "commit  unknown (built without version control information)\n")
	}
	fmt.Fprintf(&out, "go      %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return out.String()
}

func versionCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("version", versionUsage)
	if help, err := parseFlags(fs, args, stdout); help || err != nil {
		if err != nil {
			return report(stderr, "version", err)
		}
		return exitOK
	}
	fmt.Fprint(stdout, readBuildFacts().describe())
	return exitOK
}

// commands are the subcommands run knows, for help.
var commands = []string{"run", "report", "compare", "serve", "clean", "version", "help"}

// helpCmd prints the overview, or one command's usage: `ipcbench help run`
// is `ipcbench run -h`.
func helpCmd(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		fmt.Fprint(stdout, usage)
		return exitOK
	case len(args) > 1:
		return report(stderr, "help", usagef("help takes one command, not %q", strings.Join(args, " ")))
	}
	switch cmd := args[0]; cmd {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, helpUsage)
		return exitOK
	case "version", "-version", "--version", "-V":
		fmt.Fprint(stdout, versionUsage)
		return exitOK
	default:
		if !slices.Contains(commands, cmd) {
			return report(stderr, "help", usagef("unknown command %q; the commands are %s", cmd, strings.Join(commands, ", ")))
		}
		return run([]string{cmd, "-h"}, stdout, stderr)
	}
}
