package obs

import (
	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// DefaultLatencyBuckets are the latency histogram buckets (seconds) of RPC
// metrics: fine-grained below 10 ms, where Bazaar's calls live, up to 10 s.
var DefaultLatencyBuckets = []float64{
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
}

// Metrics is a process's Prometheus registry and the gRPC metrics every
// server and client of the process shares. Build one per process: the
// collectors register once.
type Metrics struct {
	Registry *prometheus.Registry
	// Server holds grpc_server_started_total, grpc_server_handled_total,
	// grpc_server_msg_{received,sent}_total and the
	// grpc_server_handling_seconds histogram.
	Server *grpcprom.ServerMetrics
	// Client holds the grpc_client_* equivalents.
	Client *grpcprom.ClientMetrics
	// Panics counts handler panics turned into INTERNAL, by method.
	Panics *prometheus.CounterVec
}

// NewMetrics returns a fresh registry holding the Go runtime and process
// collectors and Bazaar's gRPC metrics.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		Server: grpcprom.NewServerMetrics(
			grpcprom.WithServerHandlingTimeHistogram(grpcprom.WithHistogramBuckets(DefaultLatencyBuckets)),
		),
		Client: grpcprom.NewClientMetrics(
			grpcprom.WithClientHandlingTimeHistogram(grpcprom.WithHistogramBuckets(DefaultLatencyBuckets)),
		),
		Panics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bazaar_grpc_server_panics_total",
			Help: "Handler panics recovered and answered with INTERNAL, by full method.",
		}, []string{"grpc_method"}),
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.Server, m.Client, m.Panics,
	)
	return m
}
