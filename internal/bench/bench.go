// Package bench is the load engine of `bazaar bench`: scenarios driven in a
// closed loop (N workers, each calling again as soon as its call ends) or
// an open loop (a constant arrival rate, latency measured from the moment
// each request was due, so a slow server cannot hide its queue: no
// coordinated omission), with a warm-up, a bound by duration or request
// count, HDR-histogram latencies, errors counted by gRPC status code, a
// progress line, and JSON, text and HTML/SVG results.
package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Scenario is one kind of load. Do makes one request (which may be several
// RPCs: a checkout, a chat round trip) as worker w (0 <= w < the run's
// workers; each worker calls Do from one goroutine at a time, so per-worker
// state needs no lock). It returns the latency to record, or 0 to let the
// engine time the call itself (from its start in a closed loop, from the
// moment it was due in an open loop); an error is counted by its gRPC code.
type Scenario interface {
	Name() string
	Do(ctx context.Context, worker int) (time.Duration, error)
}

// Config bounds and paces a run.
type Config struct {
	// Duration of the measured part; ignored when Requests > 0.
	Duration time.Duration
	// Requests, when positive, ends the measured part after that many
	// requests were issued (and completed).
	Requests int64
	// Warmup runs the same load for this long first, recording nothing.
	Warmup time.Duration
	// Concurrency is the number of workers: the closed loop's callers, the
	// open loop's most requests in flight. Default 16.
	Concurrency int
	// Rate is the open loop's arrivals per second; 0 runs a closed loop.
	Rate float64
	// Timeout bounds each request. Default 10 s.
	Timeout time.Duration
	// Drain bounds how long, once the last request was issued, the run
	// waits for the ones in flight or queued; the rest are cancelled
	// (counted as errors). Default 10 s.
	Drain time.Duration
	// Progress receives a progress line every ProgressEvery (default 1 s);
	// nil prints nothing. With Live, the line is redrawn in place (a
	// terminal) several times a second.
	Progress      *Progress
	ProgressEvery time.Duration
}

func (c Config) withDefaults() Config {
	if c.Concurrency <= 0 {
		c.Concurrency = 16
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Drain <= 0 {
		c.Drain = 10 * time.Second
	}
	if c.Duration <= 0 && c.Requests <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = time.Second
	}
	return c
}

// Validate reports a configuration that cannot run.
func (c Config) Validate() error {
	switch {
	case c.Rate < 0:
		return errors.New("bench: the rate must not be negative")
	case c.Duration < 0 || c.Warmup < 0:
		return errors.New("bench: durations must not be negative")
	case c.Requests < 0:
		return errors.New("bench: the request count must not be negative")
	case c.Concurrency < 0:
		return errors.New("bench: the concurrency must not be negative")
	}
	return nil
}

// recorder collects one phase's outcomes; safe for concurrent use.
type recorder struct {
	mu     sync.Mutex
	hist   *Histogram
	errors map[string]int64
	ok     atomic.Int64
	failed atomic.Int64
}

func newRecorder() *recorder {
	return &recorder{hist: NewHistogram(), errors: map[string]int64{}}
}

func (r *recorder) record(lat time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.failed.Add(1)
		r.errors[CodeOf(err).String()]++
		return
	}
	r.ok.Add(1)
	r.hist.Record(lat)
}

func (r *recorder) recordMissed(n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed.Add(n)
	r.errors[codes.DeadlineExceeded.String()] += n
}

func (r *recorder) snapshot() (ok, failed int64, p99 time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ok.Load(), r.failed.Load(), r.hist.Quantile(0.99)
}

// CodeOf is err's gRPC code; context errors map to DeadlineExceeded and
// Canceled, anything else that is not a status to Unknown.
func CodeOf(err error) codes.Code {
	if s, ok := status.FromError(err); ok {
		return s.Code()
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		return codes.Canceled
	}
	return codes.Unknown
}

// Run warms up, then measures s under cfg. It returns the measured part's
// result; an error only when the run could not be made (bad config, ctx
// ended before anything was measured).
func Run(ctx context.Context, s Scenario, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if cfg.Warmup > 0 {
		w := cfg
		w.Duration, w.Requests = cfg.Warmup, 0
		if _, err := runPhase(ctx, s, w, "warm-up"); err != nil {
			return nil, err
		}
	}
	return runPhase(ctx, s, cfg, "")
}

func runPhase(ctx context.Context, s Scenario, cfg Config, label string) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rec := newRecorder()
	name := s.Name()
	if label != "" {
		name += " (" + label + ")"
	}
	stopProgress := cfg.Progress.start(name, rec, cfg)
	start := time.Now()
	if cfg.Rate > 0 {
		openLoop(ctx, s, cfg, rec, start)
	} else {
		closedLoop(ctx, s, cfg, rec, start)
	}
	elapsed := time.Since(start)
	stopProgress()
	res := newResult(s.Name(), cfg, rec, elapsed)
	return res, nil
}

// callOne makes one request with the per-request timeout.
func callOne(ctx context.Context, s Scenario, w int, timeout time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return s.Do(ctx, w)
}

// issued hands out request tickets: false once the run's bound is reached
// (the count, or the deadline).
type ticket struct {
	max      int64
	n        atomic.Int64
	deadline time.Time
}

func (t *ticket) take(now time.Time) bool {
	if t.max > 0 {
		return t.n.Add(1) <= t.max
	}
	return now.Before(t.deadline)
}

func closedLoop(ctx context.Context, s Scenario, cfg Config, rec *recorder, start time.Time) {
	t := &ticket{max: cfg.Requests, deadline: start.Add(cfg.Duration)}
	// Hard stop: the bound plus the drain, whatever the scenario does.
	limit := cfg.Duration
	if cfg.Requests > 0 {
		limit = 0
	}
	runCtx, cancel := hardStop(ctx, limit, cfg.Drain)
	defer cancel()
	var wg sync.WaitGroup
	for w := range cfg.Concurrency {
		wg.Go(func() {
			for runCtx.Err() == nil {
				t0 := time.Now()
				if !t.take(t0) {
					return
				}
				lat, err := callOne(runCtx, s, w, cfg.Timeout)
				if lat <= 0 {
					lat = time.Since(t0)
				}
				rec.record(lat, err)
			}
		})
	}
	wg.Wait()
}

// hardStop returns a context that ends limit+drain from now (never, when
// limit is 0: a request count is bounded by the per-request timeouts).
func hardStop(ctx context.Context, limit, drain time.Duration) (context.Context, context.CancelFunc) {
	if limit <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, limit+drain)
}

// openLoop issues requests at cfg.Rate whatever the server does: request
// i is due at start + i/rate, and its latency is measured from then, so
// time spent waiting for a free worker (the server being slow) counts.
func openLoop(ctx context.Context, s Scenario, cfg Config, rec *recorder, start time.Time) {
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	total := cfg.Requests
	if total <= 0 {
		total = int64(cfg.Duration / interval)
		if total == 0 {
			total = 1
		}
	}
	runCtx, cancel := hardStop(ctx, time.Duration(total)*interval, cfg.Drain)
	defer cancel()
	due := make(chan time.Time, cfg.Concurrency)
	var wg sync.WaitGroup
	for w := range cfg.Concurrency {
		wg.Go(func() {
			for intended := range due {
				if runCtx.Err() != nil {
					rec.record(0, runCtx.Err())
					continue
				}
				lat, err := callOne(runCtx, s, w, cfg.Timeout)
				if lat <= 0 {
					lat = time.Since(intended)
				}
				rec.record(lat, err)
			}
		})
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	var i int64
schedule:
	for ; i < total; i++ {
		intended := start.Add(time.Duration(i) * interval)
		if d := time.Until(intended); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-runCtx.Done():
				break schedule
			}
		}
		// Blocks while every worker is busy and the queue is full: the
		// request is then late, and its latency (from intended) says so.
		select {
		case due <- intended:
		case <-runCtx.Done():
			break schedule
		}
	}
	close(due)
	wg.Wait()
	// Requests that were due but never issued, because the run hit its hard
	// stop with every worker stuck: they count, as the server's fault.
	if missed := total - i; missed > 0 && ctx.Err() == nil {
		rec.recordMissed(missed)
	}
}

// DescribeMode names the load model of cfg.
func DescribeMode(cfg Config) string {
	cfg = cfg.withDefaults()
	if cfg.Rate > 0 {
		return fmt.Sprintf("open loop, %g/s, up to %d in flight", cfg.Rate, cfg.Concurrency)
	}
	return fmt.Sprintf("closed loop, %d workers", cfg.Concurrency)
}
