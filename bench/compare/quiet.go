package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// waitLoad waits until the 1-minute load average is below max, at most for
// limit; it reports how long it waited and whether the load came down.
func waitLoad(max float64, limit time.Duration, log io.Writer) (time.Duration, bool) {
	start := time.Now()
	said := false
	for {
		l, err := loadAvg()
		if err != nil || l < max {
			return time.Since(start), true
		}
		if time.Since(start) > limit {
			return time.Since(start), false
		}
		if !said {
			fmt.Fprintf(log, "compare: load average %.2f, waiting for it to fall below %.2f\n", l, max)
			said = true
		}
		time.Sleep(5 * time.Second)
	}
}

func loadAvg() (float64, error) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, errors.New("empty /proc/loadavg")
	}
	return strconv.ParseFloat(f[0], 64)
}

// waitQuiet waits until other processes use less than maxBusy of the
// machine's CPU time over a short sample, at most for limit, and returns
// the last sample and whether it was quiet. It runs between turns, when
// this program runs nothing, so whatever is busy is someone else; the load
// average cannot tell, as it still counts the turns just finished for a
// minute.
func waitQuiet(maxBusy float64, limit time.Duration) (float64, bool) {
	start := time.Now()
	for {
		b, err := busy(300 * time.Millisecond)
		if err != nil || b < maxBusy {
			return b, true
		}
		if time.Since(start) > limit {
			return b, false
		}
		time.Sleep(time.Second)
	}
}

// busy is the fraction of CPU time not idle over d, from /proc/stat.
func busy(d time.Duration) (float64, error) {
	idle0, total0, err := cpuTimes()
	if err != nil {
		return 0, err
	}
	time.Sleep(d)
	idle1, total1, err := cpuTimes()
	if err != nil {
		return 0, err
	}
	if total1 <= total0 {
		return 0, nil
	}
	return 1 - float64(idle1-idle0)/float64(total1-total0), nil
}

// cpuTimes reads the idle (idle + iowait) and total jiffies of all CPUs.
func cpuTimes() (idle, total uint64, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0, 0, errors.New("unexpected /proc/stat")
	}
	for i, s := range f[1:] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, 0, err
		}
		if i >= 8 { // guest time is already counted in user
			break
		}
		total += v
		if i == 3 || i == 4 {
			idle += v
		}
	}
	return idle, total, nil
}
