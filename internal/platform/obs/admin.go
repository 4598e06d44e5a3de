package obs

import (
	"context"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// AdminConfig configures the admin HTTP handler.
type AdminConfig struct {
	// Gatherer serves /metrics. Required.
	Gatherer prometheus.Gatherer
	// Ready answers /readyz: nil means ready. Default: always ready.
	Ready func(ctx context.Context) error
	// ReadyTimeout bounds one readiness check. Default 2 s.
	ReadyTimeout time.Duration
}

// AdminHandler returns the per-process admin HTTP handler:
//   - /metrics      Prometheus exposition
//   - /healthz      liveness: 200 while the process can answer HTTP at all
//   - /readyz       readiness: 200 when cfg.Ready returns nil, else 503 and why
//   - /debug/pprof/ the Go profiler
//
// It belongs on a port of its own, never exposed to the public internet.
func AdminHandler(cfg AdminConfig) http.Handler {
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 2 * time.Second
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if cfg.Ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), cfg.ReadyTimeout)
			defer cancel()
			if err := cfg.Ready(ctx); err != nil {
				http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
