package bench

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// funcScenario adapts a func.
type funcScenario struct {
	name string
	do   func(ctx context.Context, w int) (time.Duration, error)
}

func (f funcScenario) Name() string { return f.name }
func (f funcScenario) Do(ctx context.Context, w int) (time.Duration, error) {
	return f.do(ctx, w)
}

func TestHistogramPercentiles(t *testing.T) {
	t.Parallel()
	h := NewHistogram()
	for i := 1; i <= 10_000; i++ {
		h.Record(time.Duration(i) * 100 * time.Microsecond) // 0.1 ms .. 1000 ms
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.9, 900 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {0.999, 999 * time.Millisecond}} {
		got := h.Quantile(c.q)
		if diff := (got - c.want).Abs(); float64(diff) > 0.001*float64(c.want) {
			t.Errorf("Quantile(%v) = %v, want %v within 0.1%%", c.q, got, c.want)
		}
	}
	if h.Count() != 10_000 {
		t.Errorf("Count() = %d", h.Count())
	}
	if got := NewHistogram().Quantile(0.99); got != 0 {
		t.Errorf("empty Quantile = %v, want 0", got)
	}
	// Out of range values are clamped, not lost.
	h2 := NewHistogram()
	h2.Record(0)
	h2.Record(time.Hour)
	if h2.Count() != 2 {
		t.Errorf("clamped Count() = %d, want 2", h2.Count())
	}
}

// TestOpenLoopNoCoordinatedOmission: one worker, 100 arrivals/s, and the
// first call stalls 300 ms. The ~30 requests due during the stall must be
// charged the time they waited, not just their own fast service time.
func TestOpenLoopNoCoordinatedOmission(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	s := funcScenario{"stall", func(ctx context.Context, _ int) (time.Duration, error) {
		if calls.Add(1) == 1 {
			time.Sleep(300 * time.Millisecond)
		}
		return 0, nil
	}}
	start := time.Now()
	res, err := Run(t.Context(), s, Config{Rate: 100, Duration: time.Second, Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if res.Requests < 95 || res.Requests > 101 {
		t.Errorf("requests = %d, want ~100 (1 s at 100/s)", res.Requests)
	}
	if took < 950*time.Millisecond || took > 2*time.Second {
		t.Errorf("run took %v, want ~1 s: the schedule, not the server, paces an open loop", took)
	}
	// Requests 2..30 were due 10..290 ms into the stall: the one due at
	// 10 ms waited ~290 ms. A coordinated-omission engine would report
	// ~0 ms for them and a p90 near 0.
	if res.Latency.P90 < 100 {
		t.Errorf("p90 = %.1f ms, want >= 100 ms: time queued behind the stall must count", res.Latency.P90)
	}
	if res.Latency.Max < 280 {
		t.Errorf("max = %.1f ms, want ~300 ms", res.Latency.Max)
	}
	if res.Latency.P50 > 50 {
		t.Errorf("p50 = %.1f ms, want small: most requests came after the stall", res.Latency.P50)
	}
}

func TestOpenLoopPacing(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	s := funcScenario{"fast", func(context.Context, int) (time.Duration, error) { calls.Add(1); return 0, nil }}
	res, err := Run(t.Context(), s, Config{Rate: 200, Requests: 100, Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 100 || res.Requests != 100 || res.OK != 100 {
		t.Errorf("calls %d, requests %d, ok %d; want 100 each", calls.Load(), res.Requests, res.OK)
	}
	// 100 requests at 200/s: the last one is due at 495 ms.
	if res.Seconds < 0.45 || res.Seconds > 1.5 {
		t.Errorf("run took %.2fs, want ~0.5 s", res.Seconds)
	}
	if res.Mode != "open" {
		t.Errorf("mode = %s", res.Mode)
	}
}

// TestSelfStopping: a scenario that never returns on its own still ends
// the run at duration + drain, its requests counted as errors.
func TestSelfStopping(t *testing.T) {
	t.Parallel()
	hang := funcScenario{"hang", func(ctx context.Context, _ int) (time.Duration, error) {
		<-ctx.Done()
		return 0, ctx.Err()
	}}
	for _, cfg := range []Config{
		{Duration: 100 * time.Millisecond, Drain: 100 * time.Millisecond, Timeout: time.Hour, Concurrency: 3},
		{Rate: 50, Duration: 100 * time.Millisecond, Drain: 100 * time.Millisecond, Timeout: time.Hour, Concurrency: 2},
	} {
		start := time.Now()
		res, err := Run(t.Context(), hang, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("%s: run took %v, want it to stop itself at ~200 ms", DescribeMode(cfg), took)
		}
		if res.OK != 0 || res.Errors[codes.DeadlineExceeded.String()] == 0 {
			t.Errorf("%s: ok %d, errors %v; want only DeadlineExceeded", DescribeMode(cfg), res.OK, res.Errors)
		}
	}
	// And the per-request timeout bounds a count-bound run.
	res, err := Run(t.Context(), hang, Config{Requests: 4, Concurrency: 2, Timeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors[codes.DeadlineExceeded.String()] != 4 {
		t.Errorf("errors = %v, want 4 DeadlineExceeded", res.Errors)
	}
	// A cancelled context stops it too.
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := Run(ctx, hang, Config{Duration: time.Hour, Timeout: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("cancelled run took %v", took)
	}
}

func TestErrorCountingAndRequestBound(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	s := funcScenario{"flaky", func(context.Context, int) (time.Duration, error) {
		switch n.Add(1) % 3 {
		case 0:
			return 0, status.Error(codes.Unavailable, "down")
		case 1:
			return 2 * time.Millisecond, nil // the scenario's own latency
		}
		return 0, status.Error(codes.ResourceExhausted, "slow down")
	}}
	res, err := Run(t.Context(), s, Config{Requests: 300, Concurrency: 4, Warmup: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 300 || res.OK != 100 {
		t.Errorf("requests %d ok %d, want 300 and 100", res.Requests, res.OK)
	}
	want := map[string]int64{"Unavailable": 100, "ResourceExhausted": 100}
	for k, v := range want {
		if res.Errors[k] != v {
			t.Errorf("errors = %v, want %v", res.Errors, want)
		}
	}
	if res.Latency.P50 < 1.99 || res.Latency.P50 > 2.01 {
		t.Errorf("p50 = %v ms, want the scenario's 2 ms", res.Latency.P50)
	}
	if CodeOf(context.DeadlineExceeded) != codes.DeadlineExceeded || CodeOf(os.ErrNotExist) != codes.Unknown {
		t.Error("CodeOf maps context and plain errors wrongly")
	}
}

func TestProgressAndReport(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	s := funcScenario{"sleepy", func(context.Context, int) (time.Duration, error) {
		time.Sleep(time.Millisecond)
		return 0, nil
	}}
	res, err := Run(t.Context(), s, Config{Duration: 250 * time.Millisecond, Concurrency: 2,
		Progress: &Progress{W: &syncWriter{b: &out}}, ProgressEvery: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "sleepy") || !strings.Contains(out.String(), "p99") {
		t.Errorf("progress = %q", out.String())
	}
	base := &Result{Scenario: "echo", Throughput: res.Throughput * 4}
	res.CompareTo(base)
	if res.Baseline == nil || res.Baseline.Ratio < 0.24 || res.Baseline.Ratio > 0.26 {
		t.Errorf("baseline = %+v, want 25%%", res.Baseline)
	}
	var txt strings.Builder
	if err := WriteText(&txt, []*Result{res}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(txt.String(), "25.0% of echo") {
		t.Errorf("text:\n%s", txt.String())
	}
	dir := t.TempDir()
	rep := &Report{Time: time.Now(), Results: []*Result{res}}
	if err := WriteReport(dir, rep); err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil || !strings.Contains(string(html), "<svg") || !strings.Contains(string(html), "<polyline") {
		t.Errorf("report.html lacks the chart: %v", err)
	}
	js, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js, &back); err != nil || len(back.Results) != 1 || back.Results[0].OK != res.OK {
		t.Errorf("results.json does not round-trip: %v", err)
	}
}

func TestParseProcessMetrics(t *testing.T) {
	t.Parallel()
	const text = `# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.5
process_resident_memory_bytes 5.4e+07
go_goroutines 10
`
	s, err := ParseProcessMetrics(strings.NewReader(text))
	if err != nil || s.CPUSeconds != 12.5 || s.RSSBytes != 54e6 {
		t.Errorf("ParseProcessMetrics = %+v, %v", s, err)
	}
	if _, err := ParseProcessMetrics(strings.NewReader("go_goroutines 1\n")); err == nil {
		t.Error("no process metrics: want an error")
	}
	u := Usage(ProcessSample{At: time.Unix(0, 0), CPUSeconds: 1, RSSBytes: 1e6}, ProcessSample{At: time.Unix(2, 0), CPUSeconds: 2, RSSBytes: 2e6})
	if u.CPUCores != 0.5 || u.RSSAfterMB != 2 {
		t.Errorf("Usage = %+v", u)
	}
	for addr, want := range map[string]bool{"127.0.0.1:9090": true, "localhost:1": true, "[::1]:2": true, "10.0.0.1:9090": false, "example.com:80": false} {
		if IsLocal(addr) != want {
			t.Errorf("IsLocal(%s) = %v", addr, !want)
		}
	}
}

func TestLiveProgressBar(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	s := funcScenario{"bar", func(context.Context, int) (time.Duration, error) {
		time.Sleep(time.Millisecond)
		return 0, nil
	}}
	if _, err := Run(t.Context(), s, Config{Duration: 500 * time.Millisecond, Concurrency: 1,
		Progress: &Progress{W: &syncWriter{b: &out}, Live: true}}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if !strings.Contains(got, "\r\033[K") || !strings.Contains(got, "[####################]") || !strings.HasSuffix(got, "\n") {
		t.Errorf("live progress = %q, want lines redrawn in place, a full bar at the end", got)
	}
}
