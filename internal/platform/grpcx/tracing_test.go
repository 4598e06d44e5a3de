package grpcx_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/metadata"

	hellov1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
	"github.com/bazaarhq/bazaar/internal/platform/obs"
)

// withTraceparent returns ctx carrying a sampled incoming-trace header.
func withTraceparent(ctx context.Context, traceID string) context.Context {
	tid, _ := trace.TraceIDFromHex(traceID)
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, Remote: true})
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(trace.ContextWithSpanContext(ctx, sc), carrier)
	return metadata.AppendToOutgoingContext(ctx, "traceparent", carrier["traceparent"])
}

func TestTracing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		ratio      float64
		withParent bool
		wantSpans  int
	}{
		{"sampling off, no parent: skipped", 0, false, 0},
		{"sampling off, sampled parent: recorded", 0, true, 1},
		{"sampling on, no parent: recorded", 1, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			exp := tracetest.NewInMemoryExporter()
			tr, err := obs.NewTracing(t.Context(), obs.TracingConfig{Exporter: exp, SampleRatio: tc.ratio})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
			f := newFixture(t, grpcx.WithTracing(tr))
			const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
			ctx := t.Context()
			if tc.withParent {
				ctx = withTraceparent(ctx, traceID)
			}
			if _, err := f.client.SayHello(ctx, &hellov1.SayHelloRequest{Name: "panic"}); err == nil {
				t.Fatal("SayHello(panic) = OK")
			}
			// The server ends its span just after the client has its answer, so
			// wait for it; when none is expected, a marker call with a parent
			// must then be the only span.
			const markerID = "11111111111111111111111111111111"
			want := tc.wantSpans
			if want == 0 {
				if _, err := f.client.SayHello(withTraceparent(t.Context(), markerID), &hellov1.SayHelloRequest{Name: "m"}); err != nil {
					t.Fatal(err)
				}
				want = 1
			}
			spans := waitSpans(t, tr, exp, want)
			if len(spans) != want {
				t.Fatalf("recorded %d spans, want %d", len(spans), want)
			}
			if tc.wantSpans == 0 {
				if got := spans[0].SpanContext.TraceID().String(); got != markerID {
					t.Errorf("the only span is of trace %s, want the marker %s", got, markerID)
				}
			}
			if tc.withParent {
				if got := spans[0].SpanContext.TraceID().String(); got != traceID {
					t.Errorf("span trace id = %s, want the caller's %s", got, traceID)
				}
				if !strings.Contains(f.log.String(), `"trace_id":"`+traceID+`"`) {
					t.Errorf("the log does not carry the caller's trace id:\n%s", f.log.String())
				}
			}
		})
	}
}

// waitSpans flushes until at least want spans were exported (or 5 s pass),
// then returns them all.
func waitSpans(t *testing.T, tr *obs.Tracing, exp *tracetest.InMemoryExporter, want int) tracetest.SpanStubs {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := tr.ForceFlush(t.Context()); err != nil {
			t.Fatal(err)
		}
		if s := exp.GetSpans(); len(s) >= want || time.Now().After(deadline) {
			return s
		}
		time.Sleep(5 * time.Millisecond)
	}
}
