package main

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ipcbench/ipcbench/harness"
	"github.com/ipcbench/ipcbench/internal/host"
)

// Every option is checked once, where it is parsed: each kind of value is a
// flag.Value whose Set refuses bad input. The flag package then names the
// flag and the value in the error (invalid value "0s" for flag -duration:
// must be positive), which is a usage error: one sentence, exit status 2. What
// depends on several flags at once is checked after parsing (runConfig's
// options).

// wordsValue is a comma-separated list of known words, without repeats,
// in the order given (-mech, -workload).
type wordsValue struct {
	words *[]string
	what  string          // "mechanism", "workload"
	known func() []string // the words allowed
}

func (v *wordsValue) String() string {
	if v.words == nil {
		return ""
	}
	return strings.Join(*v.words, ",")
}

func (v *wordsValue) Set(s string) error {
	var out []string
	known := v.known()
	for _, w := range strings.Split(s, ",") {
		w = strings.TrimSpace(w)
		if !slices.Contains(known, w) {
			return fmt.Errorf("unknown %s %q; choose from %s", v.what, w, strings.Join(known, ", "))
		}
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	*v.words = out
	return nil
}

// choiceValue is one of a few words (-io, -format).
type choiceValue struct {
	v       *string
	choices []string
}

func (c *choiceValue) String() string {
	if c.v == nil {
		return ""
	}
	return *c.v
}

func (c *choiceValue) Set(s string) error {
	if !slices.Contains(c.choices, s) {
		if len(c.choices) > 2 {
			return fmt.Errorf("must be one of %s", orList(c.choices))
		}
		return fmt.Errorf("must be %s", orList(c.choices))
	}
	*c.v = s
	return nil
}

// orList is "a or b", "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// sizesValue is a list of message sizes with K/M suffixes (-sizes), or
// with one set, exactly one size (serve's -max-size).
type sizesValue struct {
	sizes *[]int
	one   bool
}

func (v *sizesValue) String() string {
	if v.sizes == nil {
		return ""
	}
	var s []string
	for _, n := range *v.sizes {
		s = append(s, sizeFlag(n))
	}
	return strings.Join(s, ",")
}

// sizeFlag writes a size as the flag takes it: 64, 4K, 1M.
func sizeFlag(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + "M"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + "K"
	}
	return strconv.Itoa(n)
}

func (v *sizesValue) Set(s string) error {
	sizes, err := harness.ParseSizes(s)
	if err != nil {
		return err
	}
	if v.one && len(sizes) != 1 {
		return errors.New("takes one size, the largest message a client may ask for")
	}
	*v.sizes = sizes
	return nil
}

// cpusValue is the driver's and the peer's CPU, both allowed to this process
// (-cpus).
type cpusValue struct{ cpus *[]int }

func (v *cpusValue) String() string {
	if v.cpus == nil || len(*v.cpus) == 0 {
		return ""
	}
	return fmt.Sprintf("%d,%d", (*v.cpus)[0], (*v.cpus)[1])
}

func (v *cpusValue) Set(s string) error {
	if s == "none" { // the scheduler places both sides
		*v.cpus = nil
		return nil
	}
	parts := strings.Split(s, ",")
	if len(parts) != 2 {
		return errors.New("takes two CPUs, the driver's and the peer's (e.g. 0,1 or 0,0), or none")
	}
	var cpus []int
	for _, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 0 {
			return fmt.Errorf("%q is not a CPU number", p)
		}
		cpus = append(cpus, n)
	}
	if err := host.CheckCPUs(cpus); err != nil {
		return err
	}
	*v.cpus = cpus
	return nil
}

// durationValue is a duration with a lower bound (-duration, -timeout
// positive; -warmup not negative).
type durationValue struct {
	d      *time.Duration
	zeroOK bool // 0 is allowed: the bound is "not negative"
}

func (v *durationValue) String() string {
	if v.d == nil {
		return ""
	}
	return v.d.String()
}

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("not a duration (e.g. 500ms, 2s, 1m)")
	}
	switch {
	case v.zeroOK && d < 0:
		return errors.New("cannot be negative")
	case !v.zeroOK && d <= 0:
		return errors.New("must be positive")
	}
	*v.d = d
	return nil
}

// countValue is a whole number of at least min, at most max if max > 0
// (-count, -rounds, -pairs, -max-sessions).
type countValue struct {
	n        *int64
	min, max int64
}

func (v *countValue) String() string {
	if v.n == nil {
		return ""
	}
	return strconv.FormatInt(*v.n, 10)
}

func (v *countValue) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return errors.New("not a whole number")
	}
	if n < v.min {
		return fmt.Errorf("must be at least %d", v.min)
	}
	if v.max > 0 && n > v.max {
		return fmt.Errorf("must be at most %d", v.max)
	}
	*v.n = n
	return nil
}

// intCount is a countValue for an int.
type intCount struct {
	n        *int
	min, max int
}

func (v *intCount) String() string {
	if v.n == nil {
		return ""
	}
	return strconv.Itoa(*v.n)
}

func (v *intCount) Set(s string) error {
	var n int64
	c := countValue{n: &n, min: int64(v.min), max: int64(v.max)}
	if err := c.Set(s); err != nil {
		return err
	}
	*v.n = int(n)
	return nil
}

// clientsValue is a list of numbers of client processes, 1 to
// harness.MaxClients, without repeats (-clients).
type clientsValue struct{ clients *[]int }

func (v *clientsValue) String() string { return joinInts(v.clients) }

// joinInts writes a list of numbers as a flag takes it: 1,8,32.
func joinInts(list *[]int) string {
	if list == nil {
		return ""
	}
	var s []string
	for _, n := range *list {
		s = append(s, strconv.Itoa(n))
	}
	return strings.Join(s, ",")
}

func (v *clientsValue) Set(s string) error {
	var out []int
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 || n > harness.MaxClients {
			return fmt.Errorf("%q is not a number of clients from 1 to %d", strings.TrimSpace(p), harness.MaxClients)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	*v.clients = out
	return nil
}

// ratesValue is -rate: offered loads, each a positive number of round
// trips per second or a percentage (up to 1000%) of the closed-loop
// maximum, without repeats.
type ratesValue struct{ rates *[]harness.Rate }

func (v *ratesValue) String() string {
	if v.rates == nil {
		return ""
	}
	var s []string
	for _, r := range *v.rates {
		if r.Percent > 0 {
			s = append(s, strconv.FormatFloat(r.Percent, 'g', -1, 64)+"%")
		} else {
			s = append(s, strconv.FormatFloat(r.PerS, 'g', -1, 64))
		}
	}
	return strings.Join(s, ",")
}

func (v *ratesValue) Set(s string) error {
	var rates []harness.Rate
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		var r harness.Rate
		if num, ok := strings.CutSuffix(p, "%"); ok {
			x, err := strconv.ParseFloat(num, 64)
			if err != nil || !(x > 0 && x <= 1000) {
				return fmt.Errorf("%q is not a percentage of the closed-loop maximum above 0 and at most 1000%%", p)
			}
			r.Percent = x
		} else {
			x, err := strconv.ParseFloat(strings.TrimSuffix(p, "/s"), 64)
			if err != nil || !(x >= 1 && x <= 1e8) {
				return fmt.Errorf("%q is not a rate from 1 to 100000000 round trips per second, nor N%%", p)
			}
			r.PerS = x
		}
		if slices.Contains(rates, r) {
			return fmt.Errorf("%s is given twice", p)
		}
		rates = append(rates, r)
	}
	*v.rates = rates
	return nil
}

// offsetsValue is -offset: payload offsets past a page boundary.
type offsetsValue struct{ offsets *[]int }

func (v *offsetsValue) String() string { return joinInts(v.offsets) }

func (v *offsetsValue) Set(s string) error {
	offsets, err := harness.ParseOffsets(s)
	if err != nil {
		return err
	}
	*v.offsets = offsets
	return nil
}

var _ = []flag.Value{&offsetsValue{}, &ratesValue{}, &wordsValue{}, &choiceValue{}, &sizesValue{}, &cpusValue{}, &durationValue{}, &countValue{}, &intCount{}, &clientsValue{}}
