package grpcx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// ReasonCircuitOpen is the ErrorInfo reason of a call the circuit breaker
// failed fast, without touching the network: errs.Reason(err) ==
// ReasonCircuitOpen. The status is UNAVAILABLE with a RetryInfo saying
// when the breaker lets a trial call through, and ErrorInfo metadata
// "target" and "state" ("open" or "half-open").
const ReasonCircuitOpen = "CIRCUIT_OPEN"

// BreakerSettings configures the circuit breaker NewClient puts in front of
// its target. Zero fields take their defaults.
//
// What counts: a failure is a call that ends UNAVAILABLE, DEADLINE_EXCEEDED,
// INTERNAL, UNKNOWN or DATA_LOSS: the target is down, overloaded, slow or
// broken. Every other code is the target answering properly, about the
// request (INVALID_ARGUMENT, NOT_FOUND, PERMISSION_DENIED,
// RESOURCE_EXHAUSTED, …), and counts as a success. CANCELED is neutral: the
// caller left, which says nothing about the target; so is a call whose
// context had already ended before it started.
//
// DEADLINE_EXCEEDED counts as a failure even when it is the caller's own
// deadline that passed. Every call carries a deadline chosen for it (the
// default, a per-method timeout, or the budget propagated from upstream),
// and an upstream that cannot answer within it is exactly what a breaker
// guards against: callers piling up behind a slow dependency. A caller
// with an unrealistically short deadline fails either way, and since only
// consecutive failures trip the breaker, any success in between resets it.
//
// Retries happen inside the ClientConn, below the breaker: a call retried
// three times and failing is one failure; a call that succeeds on its third
// attempt is a success.
//
// Streams: the breaker guards opening them. A stream is judged once, by
// how it starts: an error from NewStream, else its first RecvMsg (a message
// or a clean end is a success, an error counts by its code). A stream that
// produces nothing for OpenTimeout (a quiet subscription) is judged a
// success then, because a server holding a stream open is up, and a
// half-open breaker must not wait forever on one silent trial stream.
// Errors after a stream's first message do not count.
type BreakerSettings struct {
	// ConsecutiveFailures opens the circuit after this many failures in a
	// row. Default 5.
	ConsecutiveFailures uint32
	// OpenTimeout is how long an open circuit fails calls fast before it
	// turns half-open and lets trial calls through. Default 10 s.
	OpenTimeout time.Duration
	// HalfOpenMaxCalls is how many trial calls a half-open circuit lets
	// through at once. That many successes close it; one failure re-opens
	// it; calls beyond it fail fast. Default 1.
	HalfOpenMaxCalls uint32
	// Interval, when positive, clears the counts every Interval while the
	// circuit is closed. Default 0: counts reset only on a state change
	// (and the consecutive-failure streak on any success).
	Interval time.Duration
}

// breakerDefaultSettings are the defaults documented on BreakerSettings.
func breakerDefaultSettings() BreakerSettings {
	return BreakerSettings{ConsecutiveFailures: 5, OpenTimeout: 10 * time.Second, HalfOpenMaxCalls: 1}
}

func (s BreakerSettings) withDefaults() BreakerSettings {
	d := breakerDefaultSettings()
	if s.ConsecutiveFailures == 0 {
		s.ConsecutiveFailures = d.ConsecutiveFailures
	}
	if s.OpenTimeout == 0 {
		s.OpenTimeout = d.OpenTimeout
	}
	if s.HalfOpenMaxCalls == 0 {
		s.HalfOpenMaxCalls = d.HalfOpenMaxCalls
	}
	return s
}

func (s BreakerSettings) validate() error {
	if s.OpenTimeout < 0 || s.Interval < 0 {
		return fmt.Errorf("breaker settings %+v: negative duration", s)
	}
	return nil
}

// WithBreaker sets the circuit breaker's settings; zero fields keep their
// defaults. Default: on, with the defaults documented on BreakerSettings.
func WithBreaker(s BreakerSettings) ClientOption {
	return clientOptionFunc(func(cfg *clientConfig) { cfg.breaker, cfg.breakerOff = s.withDefaults(), false })
}

// WithoutBreaker removes the circuit breaker, e.g. for a client whose only
// target is a local sidecar. Default: the breaker is on.
func WithoutBreaker() ClientOption {
	return clientOptionFunc(func(cfg *clientConfig) { cfg.breakerOff = true })
}

// WithBreakerStateChange calls fn whenever the breaker changes state; from
// and to are "closed", "half-open" or "open". It is for logs: a breaker
// opening is the moment an operator wants to hear about. fn runs
// synchronously while the breaker holds its lock, so it must be quick and
// must not call the same ClientConn. An open breaker turns half-open
// lazily, at the first call after OpenTimeout. Default: none.
func WithBreakerStateChange(fn func(target, from, to string)) ClientOption {
	return clientOptionFunc(func(cfg *clientConfig) { cfg.breakerStateChange = fn })
}

// WithBreakerMetrics registers, on reg, the gauge
// bazaar_grpc_client_breaker_state{target} (0 closed, 1 half-open, 2 open)
// and the counter bazaar_grpc_client_breaker_rejected_total{target} of
// calls failed fast. Calls the breaker rejects never reach the metrics
// interceptor (WithClientMetrics), so this counter is where they show.
// Several clients may share one registry. Default: none.
func WithBreakerMetrics(reg prometheus.Registerer) ClientOption {
	return clientOptionFunc(func(cfg *clientConfig) { cfg.breakerRegisterer = reg })
}

// breakerCircuit is the breaker of one ClientConn, as a unary and a stream
// interceptor.
type breakerCircuit struct {
	target      string
	openTimeout time.Duration
	cb          *gobreaker.TwoStepCircuitBreaker[struct{}]
	rejected    prometheus.Counter // nil without WithBreakerMetrics

	// openUntil is when the current open state ends, as time since epoch:
	// monotonic, and readable without the breaker's lock.
	epoch     time.Time
	openUntil atomic.Int64
}

func newBreakerCircuit(target string, s BreakerSettings, onChange func(target, from, to string), reg prometheus.Registerer) (*breakerCircuit, error) {
	b := &breakerCircuit{target: target, openTimeout: s.OpenTimeout, epoch: time.Now()}
	var state prometheus.Gauge
	if reg != nil {
		stateVec, err := breakerRegister(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "bazaar_grpc_client_breaker_state",
			Help: "Circuit breaker state per target: 0 closed, 1 half-open, 2 open.",
		}, []string{"target"}))
		if err != nil {
			return nil, err
		}
		rejectedVec, err := breakerRegister(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bazaar_grpc_client_breaker_rejected_total",
			Help: "Calls the circuit breaker failed fast with CIRCUIT_OPEN, per target.",
		}, []string{"target"}))
		if err != nil {
			return nil, err
		}
		state, b.rejected = stateVec.WithLabelValues(target), rejectedVec.WithLabelValues(target)
		state.Set(float64(gobreaker.StateClosed))
	}
	threshold := s.ConsecutiveFailures
	b.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        target,
		MaxRequests: s.HalfOpenMaxCalls,
		Interval:    s.Interval,
		Timeout:     s.OpenTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= threshold },
		OnStateChange: func(name string, from, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				b.openUntil.Store(int64(time.Since(b.epoch) + s.OpenTimeout))
			}
			if state != nil {
				state.Set(float64(to)) // gobreaker's values are the documented 0, 1, 2
			}
			if onChange != nil {
				onChange(name, from.String(), to.String())
			}
		},
		IsSuccessful: func(err error) bool { return !breakerIsFailure(breakerCode(err)) },
		IsExcluded:   func(err error) bool { return breakerCode(err) == codes.Canceled },
	})
	return b, nil
}

// breakerRegister registers c on reg, or returns the equal collector an
// earlier client registered there.
func breakerRegister[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	if err != nil {
		return c, fmt.Errorf("breaker metrics: %w", err)
	}
	return c, nil
}

// breakerCode is the gRPC code of a call's outcome. A raw context error
// (from an interceptor below, not from grpc) reads as its code too.
func breakerCode(err error) codes.Code {
	c := status.Code(err)
	if c == codes.Unknown {
		switch {
		case errors.Is(err, context.Canceled):
			return codes.Canceled
		case errors.Is(err, context.DeadlineExceeded):
			return codes.DeadlineExceeded
		}
	}
	return c
}

// breakerIsFailure reports whether a call ending with c says the target is
// unhealthy (see BreakerSettings).
func breakerIsFailure(c codes.Code) bool {
	switch c {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Internal, codes.Unknown, codes.DataLoss:
		return true
	default:
		return false
	}
}

// reject is the error of a call the breaker refused (err is gobreaker's
// ErrOpenState or ErrTooManyRequests).
func (b *breakerCircuit) reject(err error) error {
	state, retry, why := "half-open", b.openTimeout, "trial calls in flight"
	if errors.Is(err, gobreaker.ErrOpenState) {
		state, why = "open", "failing fast"
		if left := time.Duration(b.openUntil.Load()) - time.Since(b.epoch); left > 0 && left < retry {
			retry = left
		}
	}
	if b.rejected != nil {
		b.rejected.Inc()
	}
	e := errs.New(errs.Unavailable, ReasonCircuitOpen, "circuit breaker "+state+" for "+b.target+": "+why,
		errs.WithRetryAfter(retry), errs.WithMetadata("target", b.target), errs.WithMetadata("state", state))
	return errs.ToStatus(e).Err()
}

func (b *breakerCircuit) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if ctx.Err() != nil { // the call cannot leave; it says nothing about the target
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	done, err := b.cb.Allow()
	if err != nil {
		return b.reject(err)
	}
	reported := false
	defer func() {
		if !reported { // a panic below: release a half-open slot, judge nothing
			done(context.Canceled)
		}
	}()
	err = invoker(ctx, method, req, reply, cc, opts...)
	reported = true
	done(err)
	return err
}

func (b *breakerCircuit) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	if ctx.Err() != nil {
		return streamer(ctx, desc, cc, method, opts...)
	}
	done, err := b.cb.Allow()
	if err != nil {
		return nil, b.reject(err)
	}
	reported := false
	defer func() {
		if !reported {
			done(context.Canceled)
		}
	}()
	cs, err := streamer(ctx, desc, cc, method, opts...)
	reported = true
	if err != nil {
		done(err)
		return nil, err
	}
	return newBreakerStream(ctx, cs, done, b.openTimeout), nil
}

// breakerStream reports its stream's first outcome to the breaker once: the
// first RecvMsg result, or, if none comes within grace, success (or
// neutral if the caller's context ended meanwhile).
type breakerStream struct {
	grpc.ClientStream

	judged atomic.Bool // fast path for every RecvMsg after the first
	mu     sync.Mutex
	done   func(error) // nil once judged
	timer  *time.Timer
}

func newBreakerStream(ctx context.Context, cs grpc.ClientStream, done func(error), grace time.Duration) *breakerStream {
	s := &breakerStream{ClientStream: cs, done: done}
	s.mu.Lock() // the timer's func may run before s.timer is set; judge waits for this lock
	s.timer = time.AfterFunc(grace, func() {
		var err error
		if ctx.Err() != nil {
			err = context.Canceled // abandoned unread: nothing learnt
		}
		s.judge(err)
	})
	s.mu.Unlock()
	return s
}

func (s *breakerStream) judge(err error) {
	s.mu.Lock()
	done := s.done
	s.done = nil
	s.judged.Store(true)
	s.timer.Stop()
	s.mu.Unlock()
	if done != nil {
		done(err)
	}
}

func (s *breakerStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if !s.judged.Load() {
		if errors.Is(err, io.EOF) { // a clean end: the stream succeeded
			s.judge(nil)
		} else {
			s.judge(err)
		}
	}
	return err
}
