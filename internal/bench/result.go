package bench

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is one scenario's measured run.
type Result struct {
	Scenario    string           `json:"scenario"`
	Mode        string           `json:"mode"` // "closed" or "open"
	Concurrency int              `json:"concurrency"`
	Rate        float64          `json:"rate_per_s,omitempty"`
	Seconds     float64          `json:"seconds"`
	Requests    int64            `json:"requests"`
	OK          int64            `json:"ok"`
	Errors      map[string]int64 `json:"errors"`           // by gRPC code
	Throughput  float64          `json:"throughput_per_s"` // successful requests per second
	Latency     Latency          `json:"latency_ms"`
	Curve       []CurvePoint     `json:"percentile_curve"`
	// Note says what the latency measures when it is not the request's
	// own time (notify: from the order's state change to delivery).
	Note string `json:"note,omitempty"`
	// Server is the target process's CPU and memory over the run, when it
	// is local and publishes them.
	Server *ServerUsage `json:"server,omitempty"`
	// Machine is the bench process's own CPU and the whole machine's over
	// the run (Linux).
	Machine *MachineUsage `json:"machine,omitempty"`
	// Baseline is the throughput as a fraction of the baseline scenario's
	// in the same invocation (--baseline echo).
	Baseline *BaselineRatio `json:"baseline,omitempty"`

	hist *Histogram
}

// Latency is the distribution's summary, in milliseconds.
type Latency struct {
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
}

// BaselineRatio compares a result with the baseline's.
type BaselineRatio struct {
	Scenario   string  `json:"scenario"`
	Throughput float64 `json:"throughput_per_s"`
	Ratio      float64 `json:"ratio"`
}

// Histogram returns the run's latencies.
func (r *Result) Histogram() *Histogram { return r.hist }

// ErrorCount is the number of failed requests.
func (r *Result) ErrorCount() int64 {
	var n int64
	for _, v := range r.Errors {
		n += v
	}
	return n
}

// CompareTo sets r's ratio to base's throughput.
func (r *Result) CompareTo(base *Result) {
	if base == nil || base.Throughput == 0 {
		return
	}
	r.Baseline = &BaselineRatio{Scenario: base.Scenario, Throughput: base.Throughput, Ratio: r.Throughput / base.Throughput}
}

func newResult(name string, cfg Config, rec *recorder, elapsed time.Duration) *Result {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	h := rec.hist
	r := &Result{
		Scenario: name, Mode: "closed", Concurrency: cfg.Concurrency, Seconds: elapsed.Seconds(),
		OK: rec.ok.Load(), Errors: maps.Clone(rec.errors), hist: h,
		Latency: Latency{
			Min: ms(h.Min()), Mean: ms(h.Mean()), P50: ms(h.Quantile(0.5)), P90: ms(h.Quantile(0.9)),
			P99: ms(h.Quantile(0.99)), P999: ms(h.Quantile(0.999)), Max: ms(h.Max()),
		},
		Curve: h.Curve(),
	}
	if cfg.Rate > 0 {
		r.Mode, r.Rate = "open", cfg.Rate
	}
	r.Requests = r.OK + r.ErrorCount()
	if elapsed > 0 {
		r.Throughput = float64(r.OK) / elapsed.Seconds()
	}
	return r
}

// WriteText prints results as a table, then their errors and server usage.
func WriteText(w io.Writer, results []*Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "SCENARIO\tMODE\tREQUESTS\tERRORS\tRATE/s\tP50 ms\tP90 ms\tP99 ms\tP99.9 ms\tMAX ms\tVS BASELINE\t")
	for _, r := range results {
		mode := fmt.Sprintf("closed×%d", r.Concurrency)
		if r.Mode == "open" {
			mode = fmt.Sprintf("open %g/s", r.Rate)
		}
		ratio := "-"
		if r.Baseline != nil {
			ratio = fmt.Sprintf("%.1f%% of %s", r.Baseline.Ratio*100, r.Baseline.Scenario)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.1f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%s\t\n", r.Scenario, mode, r.Requests, r.ErrorCount(),
			r.Throughput, r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.P999, r.Latency.Max, ratio)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range results {
		if len(r.Errors) > 0 {
			var parts []string
			for _, code := range slices.Sorted(maps.Keys(r.Errors)) {
				parts = append(parts, fmt.Sprintf("%s %d", code, r.Errors[code]))
			}
			fmt.Fprintf(w, "%s errors: %s\n", r.Scenario, strings.Join(parts, ", "))
		}
		if r.Note != "" {
			fmt.Fprintf(w, "%s: %s\n", r.Scenario, r.Note)
		}
		if s := r.Server; s != nil {
			fmt.Fprintf(w, "%s server: %.2f CPU cores on average (%.2f CPU-s over %.1f s), RSS %.1f MB before, %.1f MB after\n",
				r.Scenario, s.CPUCores, s.CPUSeconds, r.Seconds, s.RSSBeforeMB, s.RSSAfterMB)
		}
		if m := r.Machine; m != nil {
			m.print(w, r.Scenario, r.Server)
		}
	}
	return nil
}
