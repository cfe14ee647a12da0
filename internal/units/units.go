// Package units turns figures into the short strings people read: durations,
// counts, rates and sizes with their units.
package units

import (
	"math"
	"strconv"
)

// The helpers below turn figures into the short strings the table and
// Markdown reporters print. They are pure and deterministic: the same figure
// always gives the same text, whatever the locale or terminal.

var (
	durationUnits = []string{"ns", "µs", "ms", "s"}
	countUnits    = []string{"", "k", "M", "G", "T"}
)

// threeDigits formats v >= 0 with three significant digits (1.23, 12.3, 123),
// and as a whole number from 1000 up. It rounds before choosing the
// precision, so 9.996 gives "10.0", never "10.00".
func threeDigits(v float64) string {
	if v == 0 {
		return "0"
	}
	for d := 2; d > 0; d-- {
		lim := math.Pow10(3 - d) // 10 for two decimals, 100 for one
		if r := math.Round(v*math.Pow10(d)) / math.Pow10(d); r < lim {
			return strconv.FormatFloat(r, 'f', d, 64)
		}
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// scale divides v by 1000 until it prints with at most three digits before
// the point, or the units run out. It returns the scaled value and the index
// of its unit. Negative values scale by their magnitude.
func scale(v float64, units []string) (float64, int) {
	i := 0
	for i < len(units)-1 && math.Abs(v) >= 999.5 {
		v /= 1000
		i++
	}
	return v, i
}

// scaled formats v with three significant digits in the unit scale picks.
// The unit follows after a space unless it is a bare SI prefix (sep "").
func scaled(v float64, units []string, sep string) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	s, i := scale(v, units)
	num := threeDigits(math.Abs(s))
	if s < 0 {
		num = "-" + num
	}
	if units[i] == "" {
		return num
	}
	return num + sep + units[i]
}

// Duration formats nanoseconds with an automatic unit (ns, µs, ms, s)
// and three significant digits: "950 ns", "5.21 µs", "1.23 ms".
func Duration(ns float64) string { return scaled(ns, durationUnits, " ") }

// DurationPair formats two durations joined by sep, sharing the unit
// when both scale to the same one ("5.21 / 9.87 µs") and each with its own
// otherwise ("950 ns / 1.87 µs").
func DurationPair(a, b float64, sep string) string {
	if math.IsNaN(a) || math.IsNaN(b) || math.IsInf(a, 0) || math.IsInf(b, 0) {
		return Duration(a) + sep + Duration(b)
	}
	sa, ia := scale(a, durationUnits)
	sb, ib := scale(b, durationUnits)
	if ia != ib {
		return Duration(a) + sep + Duration(b)
	}
	return signed(sa) + sep + signed(sb) + " " + durationUnits[ia]
}

func signed(v float64) string {
	if v < 0 {
		return "-" + threeDigits(-v)
	}
	return threeDigits(v)
}

// Count formats a count or rate with an SI prefix and three
// significant digits: "950", "12.4k", "1.88M".
func Count(v float64) string { return scaled(v, countUnits, "") }

// MBps formats a payload rate in bytes per second as decimal megabytes
// per second (10^6 B/s), always in MB/s so that cells compare at a glance:
// "812.3 MB/s", "3950 MB/s", "0.064 MB/s".
func MBps(bytesPerS float64) string {
	if math.IsNaN(bytesPerS) || math.IsInf(bytesPerS, 0) {
		return "n/a"
	}
	v := bytesPerS / 1e6
	a := math.Abs(v)
	var s string
	switch {
	case a >= 999.95:
		s = strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 1 || a == 0:
		s = strconv.FormatFloat(v, 'f', 1, 64)
	default:
		s = strconv.FormatFloat(v, 'g', 3, 64)
	}
	return s + " MB/s"
}

// Size formats a message size in bytes with a binary unit when it is a
// whole number of them ("64 B", "16 KiB", "1 MiB") and in bytes otherwise
// ("1500 B"), so that a size is never rounded.
func Size(n int) string {
	const (
		kib = 1 << 10
		mib = 1 << 20
		gib = 1 << 30
	)
	switch {
	case n <= 0:
		return strconv.Itoa(n) + " B"
	case n%gib == 0:
		return strconv.Itoa(n/gib) + " GiB"
	case n%mib == 0:
		return strconv.Itoa(n/mib) + " MiB"
	case n%kib == 0:
		return strconv.Itoa(n/kib) + " KiB"
	}
	return strconv.Itoa(n) + " B"
}
