// Command verdictcheck checks that runs do not contradict each other: that
// no pair of mechanisms is ranked significantly A above B by one run's
// verdicts and B above A by another's. Two default runs in a row should
// never contradict; if they do, the verdicts claim more than the data holds.
//
// It compares every pair of the files given and prints, per pair, how many
// contexts (workload and size) both rank, how many ordered pairs of
// mechanisms each run separates, how many of those both separate the same
// way, and every contradiction. The exit status is 1 when any pair of files
// contradicts, 2 for bad input.
//
//	for i in 1 2 3; do go run ./cmd/ipcbench run -q -o /tmp/run$i; done
//	go run ./bench/verdictcheck /tmp/run*/results.json
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/ipcbench/ipcbench/results"
	"github.com/ipcbench/ipcbench/verdict"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) < 2 {
		fmt.Fprintln(stderr, "usage: verdictcheck A.json B.json [C.json ...]: checks every pair of runs for contradicting verdicts")
		return 2
	}
	files := make([]*results.File, len(args))
	for i, path := range args {
		f, err := results.Load(path)
		if err != nil {
			fmt.Fprintf(stderr, "verdictcheck: %v.\n", err)
			return 2
		}
		files[i] = f
	}
	status := 0
	for i := range files {
		for j := i + 1; j < len(files); j++ {
			s := Check(files[i], files[j])
			fmt.Fprintf(stdout, "%s vs %s: %s\n", args[i], args[j], s)
			for _, c := range s.Contradictions {
				fmt.Fprintf(stdout, "  contradiction: %s\n", c)
			}
			if len(s.Contradictions) > 0 {
				status = 1
			}
		}
	}
	return status
}

// Stats is what two runs' verdicts say about each other.
type Stats struct {
	Contexts       int // contexts both runs have a verdict for
	SeparatedA     int // ordered pairs run A ranks significantly, in those contexts
	SeparatedB     int
	Agree          int // ordered pairs both rank the same way
	Contradictions []string
}

func (s Stats) String() string {
	return fmt.Sprintf("%d contexts in both; %d pairs told apart in the first, %d in the second, %d the same way in both; %d contradictions",
		s.Contexts, s.SeparatedA, s.SeparatedB, s.Agree, len(s.Contradictions))
}

// Check compares the verdicts of two runs context by context.
func Check(a, b *results.File) Stats {
	type ctx struct {
		w       string
		size, n int
		rate    string
	}
	va, vb := verdictsOf(a), verdictsOf(b)
	byCtx := map[ctx]*results.Verdict{}
	for i := range vb {
		byCtx[ctx{vb[i].Workload, vb[i].SizeBytes, vb[i].Clients, vb[i].Rate}] = &vb[i]
	}
	var s Stats
	for i := range va {
		x := &va[i]
		y := byCtx[ctx{x.Workload, x.SizeBytes, x.Clients, x.Rate}]
		if y == nil {
			continue
		}
		s.Contexts++
		ox, oy := ordered(x), ordered(y)
		s.SeparatedA += len(ox)
		s.SeparatedB += len(oy)
		for p := range ox {
			if oy[p] {
				s.Agree++
			}
		}
		for _, c := range verdict.Contradictions(x, y) {
			s.Contradictions = append(s.Contradictions, fmt.Sprintf("%s: %s above %s in the first run, below it in the second",
				verdict.Label(x), c[0], c[1]))
		}
	}
	return s
}

// ordered is the set of pairs {A, B} a verdict ranks A significantly above B.
func ordered(v *results.Verdict) map[[2]string]bool {
	out := map[[2]string]bool{}
	if v.TooFewRounds {
		return out
	}
	for i, g := range v.Groups {
		for _, lower := range v.Groups[i+1:] {
			for _, a := range g {
				for _, b := range lower {
					out[[2]string{a, b}] = true
				}
			}
		}
	}
	return out
}

func verdictsOf(f *results.File) []results.Verdict {
	if f.Verdicts != nil {
		return f.Verdicts
	}
	return verdict.Compute(f)
}
