// Package obs holds Bazaar's observability building blocks: structured
// logging with slog (trace and request ids on every record), Prometheus
// metrics, OpenTelemetry tracing, request ids, and the per-process admin HTTP
// handler (/metrics, /healthz, /readyz, /debug/pprof).
//
// Nothing here reads the environment or keeps global state: cmd/bazaar builds
// one of each per process and passes them down.
package obs
