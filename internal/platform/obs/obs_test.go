package obs_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/bazaarhq/bazaar/internal/platform/obs"
)

func TestLoggerAddsIDs(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := obs.NewLogger(&buf, slog.LevelInfo, obs.LogJSON)
	if err != nil {
		t.Fatal(err)
	}
	tid, _ := trace.TraceIDFromHex("0af7651916cd43dd8448eb211c80319c")
	sid, _ := trace.SpanIDFromHex("b7ad6b7169203331")
	ctx := trace.ContextWithSpanContext(t.Context(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid}))
	ctx = obs.WithRequestID(ctx, "r-1")
	log.With("service", "x").InfoContext(ctx, "hello")
	for _, want := range []string{`"trace_id":"0af7651916cd43dd8448eb211c80319c"`, `"span_id":"b7ad6b7169203331"`, `"request_id":"r-1"`, `"service":"x"`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log line lacks %s: %s", want, buf.String())
		}
	}
	if _, err := obs.NewLogger(io.Discard, slog.LevelInfo, "xml"); err == nil {
		t.Errorf("NewLogger(xml) = nil error")
	}
}

func BenchmarkRequestIDs(b *testing.B) {
	g := obs.NewRequestIDs()
	b.ReportAllocs()
	for b.Loop() {
		_ = g.Next()
	}
}

func TestRequestIDs(t *testing.T) {
	t.Parallel()
	g1, g2 := obs.NewRequestIDs(), obs.NewRequestIDs()
	seen := map[string]bool{}
	for range 1000 {
		for _, id := range []string{g1.Next(), g2.Next()} {
			if seen[id] || !obs.ValidRequestID(id) || len(id) != 32 {
				t.Fatalf("Next() = %q: a duplicate or invalid id", id)
			}
			seen[id] = true
		}
	}
	if obs.RequestID(t.Context()) != "" {
		t.Errorf("RequestID of a bare context is not empty")
	}
}

func TestAdminHandler(t *testing.T) {
	t.Parallel()
	m := obs.NewMetrics()
	ready := errors.New("database unreachable")
	h := obs.AdminHandler(obs.AdminConfig{Gatherer: m.Registry, Ready: func(context.Context) error { return ready }})
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "go_goroutines") {
		t.Errorf("GET /metrics = %d, want 200 with go_goroutines", code)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("GET /healthz = %d, want 200", code)
	}
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "database unreachable") {
		t.Errorf("GET /readyz = %d %q, want 503 naming the cause", code, body)
	}
	if code, _ := get("/debug/pprof/"); code != 200 {
		t.Errorf("GET /debug/pprof/ = %d, want 200", code)
	}
}

func TestTracing(t *testing.T) {
	t.Parallel()
	tr, err := obs.NewTracing(t.Context(), obs.TracingConfig{})
	if err != nil {
		t.Fatal(err)
	}
	_, span := tr.Provider.Tracer("t").Start(t.Context(), "x")
	if span.IsRecording() {
		t.Errorf("with no endpoint, spans are recorded")
	}
	span.End()
	if err := tr.Shutdown(t.Context()); err != nil {
		t.Errorf("Shutdown() = %v", err)
	}
	if _, err := obs.NewTracing(t.Context(), obs.TracingConfig{OTLPEndpoint: "127.0.0.1:4317", SampleRatio: 2}); err == nil {
		t.Errorf("NewTracing(ratio 2) = nil error")
	}
}
