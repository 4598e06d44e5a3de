package obs

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// LogFormat selects the log encoding.
type LogFormat string

// The log formats.
const (
	LogJSON LogFormat = "json" // one JSON object per line, for machines
	LogText LogFormat = "text" // key=value, for people at a terminal
)

// NewLogger returns a slog.Logger writing to w at level in format. Every
// record logged with a context gains trace_id and span_id (when the context
// carries a valid span) and request_id (when it carries one).
func NewLogger(w io.Writer, level slog.Leveler, format LogFormat) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch format {
	case LogJSON, "":
		h = slog.NewJSONHandler(w, opts)
	case LogText:
		h = slog.NewTextHandler(w, opts)
	default:
		return nil, fmt.Errorf("obs: unknown log format %q (want json or text)", format)
	}
	return slog.New(contextHandler{h}), nil
}

// contextHandler adds the ids found in a record's context.
type contextHandler struct{ slog.Handler }

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil {
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
		}
		if id := RequestID(ctx); id != "" {
			r.AddAttrs(slog.String("request_id", id))
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}

// DiscardLogger returns a logger that drops everything (tests, benchmarks).
func DiscardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
