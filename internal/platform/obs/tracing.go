package obs

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// TracingConfig configures OpenTelemetry tracing.
type TracingConfig struct {
	// ServiceName names the process in traces. Default "bazaar".
	ServiceName string
	// OTLPEndpoint is the host:port of an OTLP/gRPC collector. Empty (the
	// default) exports nothing: spans are not recorded, but incoming trace
	// context still flows through to logs and downstream calls.
	OTLPEndpoint string
	// Insecure sends OTLP without TLS (a collector on loopback or a sidecar).
	Insecure bool
	// SampleRatio is the fraction of new traces recorded, 0 to 1. A caller's
	// sampling decision is honoured (parent-based). Default 0 means 0: set it.
	SampleRatio float64
	// Exporter, when set, receives the spans instead of an OTLP collector
	// (tests and benchmarks use an in-memory one). Default none.
	Exporter sdktrace.SpanExporter
}

// Tracing is a process's tracer provider and propagator.
type Tracing struct {
	Provider   trace.TracerProvider
	Propagator propagation.TextMapPropagator
	// RecordsRoots says whether any trace that starts here (with no
	// incoming trace context) can be recorded. When it is false, servers skip
	// tracing work for such calls entirely: nothing would be exported.
	RecordsRoots bool
	shutdown     func(context.Context) error
	flush        func(context.Context) error
}

// NewTracing builds the tracer provider for cfg. With no OTLP endpoint it is
// a no-op provider (zero cost per call); otherwise a batching SDK provider
// sampling ParentBased(TraceIDRatioBased(SampleRatio)).
func NewTracing(ctx context.Context, cfg TracingConfig) (*Tracing, error) {
	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	if cfg.OTLPEndpoint == "" && cfg.Exporter == nil {
		nop := func(context.Context) error { return nil }
		return &Tracing{Provider: noop.NewTracerProvider(), Propagator: prop, shutdown: nop, flush: nop}, nil
	}
	if cfg.SampleRatio < 0 || cfg.SampleRatio > 1 {
		return nil, fmt.Errorf("obs: trace sample ratio %v is outside [0, 1]", cfg.SampleRatio)
	}
	name := cfg.ServiceName
	if name == "" {
		name = "bazaar"
	}
	exp := cfg.Exporter
	if exp == nil {
		opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(cfg.OTLPEndpoint)}
		if cfg.Insecure {
			opts = append(opts, otlptracegrpc.WithInsecure())
		}
		var err error
		if exp, err = otlptracegrpc.New(ctx, opts...); err != nil {
			return nil, fmt.Errorf("obs: otlp exporter: %w", err)
		}
	}
	res := resource.NewSchemaless(semconv.ServiceName(name))
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(2*time.Second)),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.SampleRatio))),
	)
	return &Tracing{Provider: tp, Propagator: prop, RecordsRoots: cfg.SampleRatio > 0, shutdown: tp.Shutdown, flush: tp.ForceFlush}, nil
}

// ForceFlush exports the spans ended so far.
func (t *Tracing) ForceFlush(ctx context.Context) error { return t.flush(ctx) }

// Shutdown flushes buffered spans; call it once, last, with a deadline.
func (t *Tracing) Shutdown(ctx context.Context) error { return t.shutdown(ctx) }
