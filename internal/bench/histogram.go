package bench

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram records latencies from 1 µs to 10 minutes with 3 significant
// digits (HDR histogram): percentiles within 0.1 %, whatever the spread.
type Histogram struct {
	h *hdrhistogram.Histogram
}

const (
	histMin = 1                                          // µs
	histMax = int64(10 * time.Minute / time.Microsecond) // µs
)

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{h: hdrhistogram.New(histMin, histMax, 3)}
}

// Record adds one latency, clamped to the histogram's range.
func (h *Histogram) Record(d time.Duration) {
	us := min(max(d.Microseconds(), histMin), histMax)
	_ = h.h.RecordValue(us) // in range: cannot fail
}

// Merge adds o's values.
func (h *Histogram) Merge(o *Histogram) { h.h.Merge(o.h) }

// Count is the number of values recorded.
func (h *Histogram) Count() int64 { return h.h.TotalCount() }

// Quantile returns the latency at q (0.99 is p99); 0 when empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.h.TotalCount() == 0 {
		return 0
	}
	return time.Duration(h.h.ValueAtQuantile(q*100)) * time.Microsecond
}

// Min is the smallest value recorded (at the histogram's precision).
func (h *Histogram) Min() time.Duration { return time.Duration(h.h.Min()) * time.Microsecond }

// Max is the largest value recorded (at the histogram's precision).
func (h *Histogram) Max() time.Duration { return time.Duration(h.h.Max()) * time.Microsecond }

// Mean is the mean of the values recorded.
func (h *Histogram) Mean() time.Duration {
	return time.Duration(h.h.Mean() * float64(time.Microsecond))
}

// Curve returns the latency at the percentiles a percentile plot draws:
// the HDR "9s" scale, 0 % to 99.99 % (as far as the count supports).
func (h *Histogram) Curve() []CurvePoint {
	var out []CurvePoint
	if h.h.TotalCount() == 0 {
		return out
	}
	qs := []float64{0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 92.5, 95, 96.25, 97.5, 98.125, 98.75, 99, 99.375, 99.5, 99.6875, 99.75, 99.84375, 99.9, 99.95, 99.99}
	for _, q := range qs {
		// A percentile needs enough values behind it to mean anything.
		if q > 99 && float64(h.h.TotalCount())*(100-q)/100 < 1 {
			break
		}
		out = append(out, CurvePoint{Percentile: q, Millis: ms(time.Duration(h.h.ValueAtQuantile(q)) * time.Microsecond)})
	}
	return out
}

// CurvePoint is one point of a percentile plot.
type CurvePoint struct {
	Percentile float64 `json:"percentile"`
	Millis     float64 `json:"ms"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
