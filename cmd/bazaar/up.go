package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	identityv1 "github.com/bazaarhq/bazaar/gen/bazaar/identity/v1"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/ratelimit"

	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
	"github.com/bazaarhq/bazaar/internal/platform/obs"
)

// lockedWriter serialises writes from the servers' goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// running is one started service.
type running struct {
	name string
	srv  *grpcx.Server
	lis  net.Listener
	comp component
}

// up runs every service in this process, each on its own listener, plus
// the admin HTTP listener, until ctx is cancelled; then it drains them all.
func up(ctx context.Context, cfg upConfig, stdout io.Writer) (err error) {
	out := &lockedWriter{w: stdout}
	log, err := obs.NewLogger(out, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	metrics := obs.NewMetrics()
	tracing, err := obs.NewTracing(ctx, obs.TracingConfig{
		ServiceName: "bazaar", OTLPEndpoint: cfg.OTLPEndpoint, Insecure: true, SampleRatio: cfg.SampleRatio,
	})
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err = errors.Join(err, tracing.Shutdown(sctx))
	}()

	transport, err := newTransport(cfg, log)
	if err != nil {
		return err
	}

	limiter, err := ratelimit.New(
		ratelimit.WithRate(cfg.Rate.PerSecond, cfg.Rate.Burst),
		ratelimit.WithAnonymousRate(cfg.AnonymousRate.PerSecond, cfg.AnonymousRate.Burst),
		ratelimit.WithMetrics(metrics.Registry),
	)
	if err != nil {
		return err
	}

	// Listen on everything first: a taken port fails the start before
	// anything serves, and every service's address is known to the others.
	var started []running
	var conns []*grpc.ClientConn
	closeAll := func() {
		for _, r := range started {
			_ = r.lis.Close()
			if r.comp.close != nil {
				err = errors.Join(err, r.comp.close())
			}
		}
		for _, cc := range conns {
			_ = cc.Close()
		}
	}
	defer closeAll()
	addrOf := map[string]string{}
	for i, s := range services {
		lis, err := net.Listen("tcp", cfg.serviceAddr(i, s.name))
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		started = append(started, running{name: s.name, lis: lis})
		addrOf[s.name] = lis.Addr().String()
	}

	env := serviceEnv{cfg: cfg, out: out, process: ctx, shared: &sharedEnv{}}
	for i, s := range services {
		r := &started[i]
		// Each service verifies callers itself: access tokens against the
		// identity service's published keys (fetched over gRPC, cached),
		// API keys by asking identity on every call (revocation is
		// immediate), and, with TLS, the peer's service certificate.
		creds, err := transport.clientCredentials(s.name, "identity")
		if err != nil {
			return err
		}
		idConn, err := grpcx.NewClient(addrOf["identity"],
			grpcx.WithTransportCredentials(creds),
			grpcx.WithClientMetrics(metrics.Client),
			grpcx.WithTracerProvider(tracing.Provider),
			grpcx.WithPropagator(tracing.Propagator),
		)
		if err != nil {
			return fmt.Errorf("%s: identity client: %w", s.name, err)
		}
		conns = append(conns, idConn)
		idClient := identityv1.NewIdentityServiceClient(idConn)
		authn := auth.NewAuthenticator(
			auth.WithKeySet(auth.NewKeySet(auth.IdentityJWKS(idClient))),
			auth.WithAPIKeys(auth.IdentityAPIKeys(idClient)),
			auth.WithPeerIdentities(cfg.TLS),
		)
		tlsOpt, err := transport.serverOption(s.name)
		if err != nil {
			return err
		}
		r.srv, err = grpcx.NewServer(
			grpcx.WithName(s.name),
			grpcx.WithLogger(log.With("service", s.name)),
			grpcx.WithMetrics(metrics),
			grpcx.WithTracing(tracing),
			grpcx.WithShutdownGrace(cfg.ShutdownGrace),
			grpcx.WithAuthorizer(authn),
			grpcx.WithUnaryInterceptors(limiter.UnaryServerInterceptor()),
			grpcx.WithStreamInterceptors(limiter.StreamServerInterceptor()),
			tlsOpt,
		)
		if err != nil {
			return err
		}
		env.log = log.With("service", s.name)
		env.identity = idClient
		env.dial = func(target string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
			creds, err := transport.clientCredentials(s.name, target)
			if err != nil {
				return nil, err
			}
			cc, err := grpcx.NewClient(addrOf[target],
				grpcx.WithTransportCredentials(creds),
				grpcx.WithClientMetrics(metrics.Client),
				grpcx.WithTracerProvider(tracing.Provider),
				grpcx.WithPropagator(tracing.Propagator),
				grpcx.WithDialOptions(opts...),
			)
			if err != nil {
				return nil, fmt.Errorf("%s client: %w", target, err)
			}
			conns = append(conns, cc)
			return cc, nil
		}
		if r.comp, err = s.start(ctx, r.srv, env); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		if err := r.srv.Validate(); err != nil {
			return err
		}
		metrics.Server.InitializeMetrics(r.srv.GRPC())
	}
	adminLis, err := net.Listen("tcp", cfg.AdminAddr)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	admin := &http.Server{
		Handler: obs.AdminHandler(obs.AdminConfig{
			Gatherer: metrics.Registry,
			Ready:    func(ctx context.Context) error { return readiness(ctx, started) },
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}

	printListeners(out, started, adminLis.Addr().String(), cfg.DataDir, transport)

	g, gctx := errgroup.WithContext(ctx)
	for _, r := range started {
		g.Go(func() error { return r.srv.Serve(gctx, r.lis) })
		if r.comp.run != nil {
			g.Go(func() error {
				if err := r.comp.run(gctx); err != nil && gctx.Err() == nil {
					return fmt.Errorf("%s: %w", r.name, err)
				}
				return nil
			})
		}
	}
	g.Go(func() error {
		if err := admin.Serve(adminLis); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("admin: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(gctx), cfg.ShutdownGrace)
		defer cancel()
		return admin.Shutdown(sctx)
	})
	log.InfoContext(ctx, "bazaar is up", "services", len(started))
	err = g.Wait()
	log.InfoContext(ctx, "bazaar stopped", "error", err)
	return err
}

// readiness is nil when every service serves and its dependencies answer,
// else it names those that don't.
func readiness(ctx context.Context, rs []running) error {
	var problems []string
	for _, r := range rs {
		select {
		case <-r.srv.Draining():
			problems = append(problems, r.name+": shutting down")
			continue
		default:
		}
		if r.comp.ready != nil {
			if err := r.comp.ready(ctx); err != nil {
				problems = append(problems, r.name+": "+err.Error())
			}
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// printListeners writes the table of what listens where.
func printListeners(w io.Writer, rs []running, adminAddr, dataDir string, t *transport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tLISTENS ON\tAPI")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.name, r.lis.Addr(), strings.Join(r.srv.Services(), ", "))
	}
	fmt.Fprintf(tw, "admin\thttp://%s\t/metrics /healthz /readyz /debug/pprof\n", adminAddr)
	_ = tw.Flush()
	fmt.Fprintf(w, "transport: %s\n", t)
	fmt.Fprintf(w, "data dir: %s\n", dataDir)
	fmt.Fprintf(w, "try: go tool grpcurl %s %s list\n", t.grpcurlFlags(), rs[0].lis.Addr())
}
