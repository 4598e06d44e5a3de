package grpcx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	channelzsvc "google.golang.org/grpc/channelz/service"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"buf.build/go/protovalidate"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
)

// Server is a gRPC server with Bazaar's defaults. It implements
// grpc.ServiceRegistrar, so generated RegisterXServer functions take it.
type Server struct {
	cfg      serverConfig
	grpc     *grpc.Server
	health   *health.Server
	policies atomic.Pointer[auth.Policies] // set by Serve before it accepts calls

	mu       sync.Mutex
	services []string        // registered application services
	drainCtx context.Context // cancelled when shutdown starts
	drain    context.CancelFunc
}

// NewServer returns a server with the interceptor chain described in the
// package documentation. Register services on it, then call Serve.
func NewServer(opts ...ServerOption) (*Server, error) {
	cfg := defaultServerConfig()
	for _, o := range opts {
		o.applyServer(&cfg)
	}
	v, err := protovalidate.New()
	if err != nil {
		return nil, fmt.Errorf("grpcx: protovalidate: %w", err)
	}
	drainCtx, drain := context.WithCancel(context.Background())
	s := &Server{cfg: cfg, health: health.NewServer(), drainCtx: drainCtx, drain: drain}
	ch := newChain(s, v)
	gopts := cfg.limits.serverOptions()
	gopts = append(gopts, codecServerOption(), grpc.ChainUnaryInterceptor(ch.unary()...), grpc.ChainStreamInterceptor(ch.stream()...))
	if cfg.tracing != nil {
		gopts = append(gopts, grpc.StatsHandler(newTraceHandler(cfg.tracing)))
	}
	gopts = append(gopts, cfg.extra...)
	s.grpc = grpc.NewServer(gopts...)
	healthpb.RegisterHealthServer(s.grpc, s.health)
	if cfg.reflection {
		reflection.Register(s.grpc)
	}
	channelzsvc.RegisterChannelzServiceToServer(s.grpc)
	return s, nil
}

// RegisterService implements grpc.ServiceRegistrar. Call it before Serve.
func (s *Server) RegisterService(desc *grpc.ServiceDesc, impl any) {
	s.mu.Lock()
	s.services = append(s.services, desc.ServiceName)
	s.mu.Unlock()
	s.grpc.RegisterService(desc, impl)
}

// GRPC returns the underlying grpc.Server (for grpc-gateway in-process
// registration and tests).
func (s *Server) GRPC() *grpc.Server { return s.grpc }

// Health returns the server's health service, to report a dependency's
// state per service (SetServingStatus).
func (s *Server) Health() *health.Server { return s.health }

// Services returns the names of the registered application services.
func (s *Server) Services() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.services...)
}

// Draining is closed when shutdown starts. The contexts of server-sending
// streams are cancelled then too (their clients are told UNAVAILABLE
// SERVER_DRAINING); other long-running work can select on it.
func (s *Server) Draining() <-chan struct{} { return s.drainCtx.Done() }

// Validate loads the access policy of every registered method and fails,
// naming each offender, if any method has none or an invalid one. Serve
// calls it first; tests call it to prove every method is covered.
func (s *Server) Validate() error {
	_, err := s.loadPolicies()
	return err
}

func (s *Server) loadPolicies() (auth.Policies, error) {
	names := make([]string, 0, 8)
	for name := range s.grpc.GetServiceInfo() {
		names = append(names, name)
	}
	sort.Strings(names)
	p, err := auth.LoadPolicies(names)
	if err != nil {
		return nil, fmt.Errorf("grpcx: server %q refuses to start: %w", s.cfg.name, err)
	}
	return p, nil
}

// Serve validates the policies, serves on lis until ctx is done, then shuts
// down gracefully: every service NOT_SERVING, long-lived streams told to
// go, in-flight calls given the shutdown grace, then a hard stop. It returns
// nil after a clean shutdown, or the error that stopped it. lis is closed
// in every case.
func (s *Server) Serve(ctx context.Context, lis net.Listener) error {
	p, err := s.loadPolicies()
	if err != nil {
		_ = lis.Close()
		return err
	}
	s.policies.Store(&p)
	errc := make(chan error, 1)
	go func() { errc <- s.grpc.Serve(lis) }()
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	for _, name := range s.Services() {
		s.health.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	select {
	case err := <-errc:
		if err == nil || errors.Is(err, grpc.ErrServerStopped) {
			return nil // Shutdown or Stop was called directly
		}
		s.Stop()
		return fmt.Errorf("grpcx: serve %s: %w", lis.Addr(), err)
	case <-ctx.Done():
	}
	s.Shutdown()
	if err := <-errc; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("grpcx: serve %s: %w", lis.Addr(), err)
	}
	return nil
}

// Shutdown drains the server within the shutdown grace and then stops it.
// It is safe to call more than once.
func (s *Server) Shutdown() {
	s.health.Shutdown() // NOT_SERVING for every service, before anything else
	s.drain()
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	t := time.NewTimer(s.cfg.shutdownGrace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		s.cfg.log.Warn("shutdown grace elapsed; cancelling remaining calls",
			"server", s.cfg.name, "grace", s.cfg.shutdownGrace)
		s.grpc.Stop()
		<-done
	}
}

// Stop stops the server at once, cancelling every call.
func (s *Server) Stop() {
	s.health.Shutdown()
	s.drain()
	s.grpc.Stop()
}
