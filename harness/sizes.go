package harness

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// ParseSizes reads a comma-separated list of message sizes in bytes, each
// a number with an optional binary suffix: K or KiB (1024), M or MiB, G or
// GiB (case does not matter). The result is sorted and without repeats.
func ParseSizes(list string) ([]int, error) {
	var sizes []int
	for _, field := range strings.Split(list, ",") {
		field = strings.TrimSpace(field)
		if field == "" {
			return nil, fmt.Errorf("empty size in %q", list)
		}
		n, err := parseSize(field)
		if err != nil {
			return nil, err
		}
		if err := checkSize(n); err != nil {
			return nil, err
		}
		sizes = append(sizes, int(n))
	}
	slices.Sort(sizes)
	return slices.Compact(sizes), nil
}

var sizeSuffixes = []struct {
	suffix string
	shift  uint
}{
	{"kib", 10}, {"mib", 20}, {"gib", 30},
	{"k", 10}, {"m", 20}, {"g", 30},
	{"b", 0},
}

func parseSize(s string) (int64, error) {
	lower := strings.ToLower(s)
	num, shift := lower, uint(0)
	for _, sf := range sizeSuffixes {
		if strings.HasSuffix(lower, sf.suffix) {
			num, shift = strings.TrimSpace(strings.TrimSuffix(lower, sf.suffix)), sf.shift
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size: use a whole number of bytes with an optional K, M or G (e.g. 64, 4K, 1M)", s)
	}
	if n > math.MaxInt64>>shift || n < math.MinInt64>>shift {
		return 0, fmt.Errorf("size %q is far larger than the maximum %s", s, sizeString(MaxSize))
	}
	return n << shift, nil
}

func checkSize(n int64) error {
	switch {
	case n <= 0:
		return fmt.Errorf("size %d is not positive", n)
	case n < MinSize:
		return fmt.Errorf("size %d B is below the minimum of %d B: every message carries a %d-byte header (sequence number and send time)", n, MinSize, HeaderSize)
	case n > MaxSize:
		return fmt.Errorf("size %s is above the maximum of %s", sizeString(n), sizeString(MaxSize))
	}
	return nil
}

// sizeString writes a size the way people say it: 64 B, 4 KiB, 1 MiB.
func sizeString[T int | int64](n T) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// ParseOffsets reads a comma-separated list of payload offsets, each a
// whole number of bytes past a page boundary, 0 to the page size - 1. The
// result is sorted and without repeats, as ParseSizes's.
func ParseOffsets(list string) ([]int, error) {
	var offsets []int
	for _, field := range strings.Split(list, ",") {
		field = strings.TrimSpace(field)
		if field == "" {
			return nil, fmt.Errorf("empty offset in %q", list)
		}
		n, err := strconv.Atoi(field)
		if err != nil {
			return nil, fmt.Errorf("%q is not an offset: use a whole number of bytes past a page boundary, 0 to %d (e.g. 0,8,64)", field, os.Getpagesize()-1)
		}
		if err := CheckOffset(n); err != nil {
			return nil, err
		}
		offsets = append(offsets, n)
	}
	slices.Sort(offsets)
	return slices.Compact(offsets), nil
}

// CheckOffset says why a payload offset cannot be used, or nil.
func CheckOffset(n int) error {
	if n < 0 || n >= os.Getpagesize() {
		return fmt.Errorf("offset %d is outside a page: give 0 to %d bytes past a page boundary", n, os.Getpagesize()-1)
	}
	return nil
}
