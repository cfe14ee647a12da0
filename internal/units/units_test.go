package units

import (
	"math"
	"testing"
)

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		ns   float64
		want string
	}{
		{0, "0 ns"},
		{1, "1.00 ns"},
		{9.996, "10.0 ns"},
		{950, "950 ns"},
		{999.4, "999 ns"},
		{999.5, "1.00 µs"},
		{1000, "1.00 µs"},
		{1870, "1.87 µs"},
		{5214, "5.21 µs"},
		{9996, "10.0 µs"},
		{12345, "12.3 µs"},
		{123456, "123 µs"},
		{999_600, "1.00 ms"},
		{1_230_000, "1.23 ms"},
		{2_500_000_000, "2.50 s"},
		{1_234_000_000_000, "1234 s"},
		{-5214, "-5.21 µs"},
		{math.NaN(), "n/a"},
		{math.Inf(1), "n/a"},
	}
	for _, tt := range tests {
		if got := Duration(tt.ns); got != tt.want {
			t.Errorf("Duration(%v) = %q, want %q", tt.ns, got, tt.want)
		}
	}
}

func TestFormatDurationPair(t *testing.T) {
	tests := []struct {
		a, b float64
		sep  string
		want string
	}{
		{5210, 9870, " / ", "5.21 / 9.87 µs"},
		{950, 1870, " / ", "950 ns / 1.87 µs"},
		{45600, 1_230_000, " / ", "45.6 µs / 1.23 ms"},
		{120, 480, " / ", "120 / 480 ns"},
		{5010, 7800, "–", "5.01–7.80 µs"},
		{999.7, 1500, " / ", "1.00 / 1.50 µs"},
		{math.NaN(), 1500, " / ", "n/a / 1.50 µs"},
	}
	for _, tt := range tests {
		if got := DurationPair(tt.a, tt.b, tt.sep); got != tt.want {
			t.Errorf("DurationPair(%v, %v) = %q, want %q", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestFormatCount(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{0, "0"},
		{3.456, "3.46"},
		{950, "950"},
		{999.5, "1.00k"},
		{12_400, "12.4k"},
		{666_000, "666k"},
		{1_879_687.5, "1.88M"},
		{2.5e9, "2.50G"},
		{4e15, "4000T"},
		{math.NaN(), "n/a"},
	}
	for _, tt := range tests {
		if got := Count(tt.v); got != tt.want {
			t.Errorf("Count(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestFormatMBps(t *testing.T) {
	tests := []struct {
		bytesPerS float64
		want      string
	}{
		{0, "0.0 MB/s"},
		{64_000, "0.064 MB/s"},
		{1_234, "0.00123 MB/s"},
		{1e6, "1.0 MB/s"},
		{812.34e6, "812.3 MB/s"},
		{999.94e6, "999.9 MB/s"},
		{999.96e6, "1000 MB/s"},
		{3_950_200_000, "3950 MB/s"},
		{12_345.6e6, "12346 MB/s"},
		{math.Inf(1), "n/a"},
	}
	for _, tt := range tests {
		if got := MBps(tt.bytesPerS); got != tt.want {
			t.Errorf("MBps(%v) = %q, want %q", tt.bytesPerS, got, tt.want)
		}
	}
}

func TestFormatSize(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{
		{0, "0 B"},
		{1, "1 B"},
		{64, "64 B"},
		{1000, "1000 B"},
		{1024, "1 KiB"},
		{1500, "1500 B"},
		{4096, "4 KiB"},
		{16384, "16 KiB"},
		{65536, "64 KiB"},
		{1 << 20, "1 MiB"},
		{3 << 20, "3 MiB"},
		{1<<20 + 1024, "1025 KiB"},
		{1 << 30, "1 GiB"},
	}
	for _, tt := range tests {
		if got := Size(tt.n); got != tt.want {
			t.Errorf("Size(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
