package main

import (
	"errors"
	"strconv"
	"time"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/verdict"
)

// The default run is every mechanism and both basic workloads in at most a
// minute on a 2-vCPU VM, with verdicts that say which differences are real:
// adaptive rounds of short cells, within a budget (see the README's "Which
// differences are real").
const (
	defaultSizes    = "64,64K"
	defaultDuration = 50 * time.Millisecond
	defaultWarmup   = 10 * time.Millisecond
	defaultBudget   = 50 * time.Second
	// maxAutoRounds caps the rounds of one cell under -rounds auto, as
	// netperf's -i caps its iterations.
	maxAutoRounds = 30
)

// roundsValue is -rounds: a number of rounds, or auto.
type roundsValue struct {
	n    int
	auto bool
}

func (r *roundsValue) String() string {
	if r.auto {
		return "auto"
	}
	return strconv.Itoa(r.n)
}

func (r *roundsValue) Set(s string) error {
	if s == "auto" {
		*r = roundsValue{auto: true}
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return errors.New("give a number of rounds of at least 1, or auto")
	}
	*r = roundsValue{n: n}
	return nil
}

// autoRounds sets o up for adaptive rounds: every cell first gets the
// rounds with which its verdict can tell the mechanisms apart at all at the
// adaptive level (verdict.FirstRounds), then, look after look, 1.5 times as
// many for the cells whose verdicts stay unresolved.
func autoRounds(o *harness.Options, budget time.Duration) {
	o.Rounds = verdict.FirstRounds(len(o.Transports))
	o.Auto = &harness.AutoRounds{Budget: budget, MaxRounds: max(maxAutoRounds, o.Rounds), Growth: verdict.Growth,
		Unresolved: verdict.Unresolved}
}
