package harness

import (
	"encoding/json"
	"fmt"
	"math"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/ipcbench/ipcbench/results"
)

// Recording range: 1 ns to one hour, three significant digits (0.1%).
const (
	recLowest  = 1
	recHighest = int64(3600e9)
	recDigits  = 3
)

// A Recorder collects latencies in nanoseconds. It is owned by one measuring
// goroutine and allocated before the timed loop: Record never allocates.
//
// Min, max, mean and standard deviation are kept exactly beside the HDR
// histogram, which provides the percentiles.
type Recorder struct {
	h          *hdrhistogram.Histogram
	n          int64
	min, max   int64
	sum        int64
	sumSquares float64
}

// NewRecorder allocates an empty recorder.
func NewRecorder() *Recorder {
	r := &Recorder{h: hdrhistogram.New(recLowest, recHighest, recDigits)}
	r.Reset()
	return r
}

// Record adds one latency. Values outside the histogram's range are clamped
// (the exact min/max keep the true value).
func (r *Recorder) Record(ns int64) {
	if r.n == 0 || ns < r.min {
		r.min = ns
	}
	if ns > r.max {
		r.max = ns
	}
	r.n++
	r.sum += ns
	r.sumSquares += float64(ns) * float64(ns)
	v := ns
	if v < recLowest {
		v = recLowest
	} else if v > recHighest {
		v = recHighest
	}
	_ = r.h.RecordValue(v) // cannot fail once clamped
}

// Reset forgets everything recorded, such as the warm-up.
func (r *Recorder) Reset() {
	r.h.Reset()
	r.n, r.min, r.max, r.sum, r.sumSquares = 0, 0, 0, 0, 0
}

// Count is the number of latencies recorded.
func (r *Recorder) Count() int64 { return r.n }

// Merge adds everything another recorder holds (pairs run in parallel).
func (r *Recorder) Merge(o *Recorder) {
	if o.n == 0 {
		return
	}
	if r.n == 0 || o.min < r.min {
		r.min = o.min
	}
	if o.max > r.max {
		r.max = o.max
	}
	r.n += o.n
	r.sum += o.sum
	r.sumSquares += o.sumSquares
	r.h.Merge(o.h)
}

// Stats summarises what was recorded; nil when nothing was.
func (r *Recorder) Stats() *results.Stats {
	if r.n == 0 {
		return nil
	}
	mean := float64(r.sum) / float64(r.n)
	variance := r.sumSquares/float64(r.n) - mean*mean
	if variance < 0 { // rounding when every value is the same
		variance = 0
	}
	return &results.Stats{
		N:      r.n,
		Min:    r.min,
		Mean:   mean,
		Stddev: math.Sqrt(variance),
		P50:    r.percentile(50), // hdrhistogram takes percents
		P90:    r.percentile(90),
		P99:    r.percentile(99),
		P999:   r.percentile(99.9),
		Max:    r.max,
	}
}

// percentile is the histogram's value at q percent, clamped to the exact
// min and max: the histogram reports a bucket's highest equivalent value,
// which can lie above the largest value recorded (a p99.9 above max).
func (r *Recorder) percentile(q float64) int64 {
	return min(max(r.h.ValueAtQuantile(q), r.min), r.max)
}

// Encode returns the histogram in HdrHistogram's standard compressed base64
// form, which results keep for percentile plots.
func (r *Recorder) Encode() (string, error) {
	b, err := r.h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	return string(b), err
}

// recorderWire is how a peer sends its recorder to the driver.
type recorderWire struct {
	N          int64   `json:"n"`
	Min        int64   `json:"min"`
	Max        int64   `json:"max"`
	Sum        int64   `json:"sum"`
	SumSquares float64 `json:"sum_squares"`
	Histogram  string  `json:"hdr"`
}

func (r *Recorder) MarshalJSON() ([]byte, error) {
	h, err := r.Encode()
	if err != nil {
		return nil, err
	}
	return json.Marshal(recorderWire{r.n, r.min, r.max, r.sum, r.sumSquares, h})
}

func (r *Recorder) UnmarshalJSON(b []byte) error {
	var w recorderWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	h, err := hdrhistogram.Decode([]byte(w.Histogram))
	if err != nil {
		return fmt.Errorf("decoding a histogram: %w", err)
	}
	r.h, r.n, r.min, r.max, r.sum, r.sumSquares = h, w.N, w.Min, w.Max, w.Sum, w.SumSquares
	return nil
}
