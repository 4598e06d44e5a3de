package grpcx

import (
	"log/slog"
	"time"

	"google.golang.org/grpc"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/obs"
)

// ServerOption configures NewServer.
type ServerOption interface{ applyServer(*serverConfig) }

type serverOptionFunc func(*serverConfig)

func (f serverOptionFunc) applyServer(c *serverConfig) { f(c) }

type serverConfig struct {
	name          string
	log           *slog.Logger
	metrics       *obs.Metrics
	tracing       *obs.Tracing
	authorizer    auth.Authorizer
	limits        Limits
	unary         []grpc.UnaryServerInterceptor
	stream        []grpc.StreamServerInterceptor
	reflection    bool
	shutdownGrace time.Duration
	successLevel  slog.Level
	extra         []grpc.ServerOption
}

func defaultServerConfig() serverConfig {
	return serverConfig{
		name:          "bazaar",
		log:           obs.DiscardLogger(),
		authorizer:    auth.PublicOnly{},
		limits:        DefaultLimits(),
		reflection:    true,
		shutdownGrace: 15 * time.Second,
		successLevel:  slog.LevelDebug,
	}
}

// WithName names the server in logs. Default "bazaar".
func WithName(name string) ServerOption {
	return serverOptionFunc(func(c *serverConfig) { c.name = name })
}

// WithLogger sets the logger for access logs, panics and internal errors.
// Default: a logger that discards everything.
func WithLogger(l *slog.Logger) ServerOption {
	return serverOptionFunc(func(c *serverConfig) { c.log = l })
}

// WithMetrics records grpc_server_* Prometheus metrics into m. Default: no
// metrics interceptor at all.
func WithMetrics(m *obs.Metrics) ServerOption {
	return serverOptionFunc(func(c *serverConfig) { c.metrics = m })
}

// WithTracing traces calls with t: the otelgrpc stats handler extracts
// incoming trace context and records spans as t's provider samples them.
// When t records no root spans (sampling off), a call that carries no trace
// context skips tracing entirely, since nothing of it could be exported.
// Default: no tracing (no cost).
func WithTracing(t *obs.Tracing) ServerOption {
	return serverOptionFunc(func(c *serverConfig) { c.tracing = t })
}

// WithAuthorizer sets who decides each call under its method policy.
// Default auth.PublicOnly: public methods only.
func WithAuthorizer(a auth.Authorizer) ServerOption {
	return serverOptionFunc(func(c *serverConfig) { c.authorizer = a })
}

// WithLimits replaces the transport limits. Default DefaultLimits().
func WithLimits(l Limits) ServerOption {
	return serverOptionFunc(func(c *serverConfig) { c.limits = l })
}

// WithUnaryInterceptors adds interceptors after authorization and before
// validation (where rate limiting belongs). Default none.
func WithUnaryInterceptors(i ...grpc.UnaryServerInterceptor) ServerOption {
	return serverOptionFunc(func(c *serverConfig) { c.unary = append(c.unary, i...) })
}

// WithStreamInterceptors is WithUnaryInterceptors for streams. Default none.
func WithStreamInterceptors(i ...grpc.StreamServerInterceptor) ServerOption {
	return serverOptionFunc(func(c *serverConfig) { c.stream = append(c.stream, i...) })
}

// WithReflection turns server reflection on or off. Default on: grpcurl and
// the guide depend on it, and the descriptors are public anyway.
func WithReflection(on bool) ServerOption {
	return serverOptionFunc(func(c *serverConfig) { c.reflection = on })
}

// WithShutdownGrace bounds the graceful drain; calls still running after it
// are cancelled. Default 15 s.
func WithShutdownGrace(d time.Duration) ServerOption {
	return serverOptionFunc(func(c *serverConfig) { c.shutdownGrace = d })
}

// WithSuccessLogLevel sets the level at which successful calls are logged.
// Default slog.LevelDebug, so an Info logger logs only failures: logging
// every success costs more than the rest of the chain together.
func WithSuccessLogLevel(l slog.Level) ServerOption {
	return serverOptionFunc(func(c *serverConfig) { c.successLevel = l })
}

// WithServerOptions appends raw grpc.ServerOptions (transport credentials,
// for instance). Default none.
func WithServerOptions(o ...grpc.ServerOption) ServerOption {
	return serverOptionFunc(func(c *serverConfig) { c.extra = append(c.extra, o...) })
}
