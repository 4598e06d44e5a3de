package grpcx_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	channelzpb "google.golang.org/grpc/channelz/grpc_channelz_v1"

	hellov1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
	"github.com/bazaarhq/bazaar/internal/platform/obs"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type fixture struct {
	g       *greeter
	srv     *grpcx.Server
	cc      *grpc.ClientConn
	client  hellov1.GreeterServiceClient
	log     *syncBuffer
	metrics *obs.Metrics
}

func newFixture(t *testing.T, opts ...grpcx.ServerOption) *fixture {
	t.Helper()
	f := &fixture{g: &greeter{}, log: &syncBuffer{}, metrics: obs.NewMetrics()}
	log, err := obs.NewLogger(f.log, slog.LevelDebug, obs.LogJSON)
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]grpcx.ServerOption{grpcx.WithLogger(log), grpcx.WithMetrics(f.metrics), grpcx.WithName("test")}, opts...)
	f.srv, err = grpcx.NewServer(opts...)
	if err != nil {
		t.Fatalf("NewServer() = %v", err)
	}
	hellov1.RegisterGreeterServiceServer(f.srv, f.g)
	f.cc = startServer(t, f.srv)
	f.client = hellov1.NewGreeterServiceClient(f.cc)
	return f
}

func TestServerRefusesMethodsWithoutPolicy(t *testing.T) {
	t.Parallel()
	srv, err := grpcx.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	hellov1.RegisterGreeterServiceServer(srv, &greeter{})
	// grpc.testing.TestService's proto declares no Bazaar policy.
	testgrpc.RegisterTestServiceServer(srv, testgrpc.UnimplementedTestServiceServer{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	err = srv.Serve(t.Context(), lis)
	if err == nil || !strings.Contains(err.Error(), "/grpc.testing.TestService/UnaryCall") {
		t.Fatalf("Serve() with an unpoliced service = %v, want an error naming /grpc.testing.TestService/UnaryCall", err)
	}
	if _, err := net.Dial("tcp", lis.Addr().String()); err == nil {
		t.Errorf("listener still accepts after a refused start")
	}
}

// TestEveryRegisteredMethodHasPolicy walks every method the server exposes
// (ours and the infrastructure services) and proves each has a policy.
func TestEveryRegisteredMethodHasPolicy(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if err := f.srv.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	if got := len(f.srv.GRPC().GetServiceInfo()); got < 5 {
		t.Errorf("registered services = %d, want greeter, health, reflection v1 and v1alpha, channelz", got)
	}
}

func TestServerErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, tc := range []struct {
		name, reason, msg string
		code              codes.Code
	}{
		{"panic", "INTERNAL", errs.InternalMessage, codes.Internal},
		{"internal", "INTERNAL", errs.InternalMessage, codes.Internal},
	} {
		_, err := f.client.SayHello(t.Context(), &hellov1.SayHelloRequest{Name: tc.name})
		d := errs.FromError(err)
		if d.Code != tc.code || d.Message != tc.msg {
			t.Errorf("SayHello(%q) = %v, want code %v message %q", tc.name, err, tc.code, tc.msg)
		}
	}
	// The server survived the panic and still serves.
	if _, err := f.client.SayHello(t.Context(), &hellov1.SayHelloRequest{Name: "after"}); err != nil {
		t.Fatalf("SayHello after a panic = %v, want OK", err)
	}
	logs := f.log.String()
	for _, want := range []string{"panic in gRPC handler", "boom: the handler broke", "connection to 10.0.0.7 refused", `"request_id"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

func TestValidationGivesBadRequest(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, err := f.client.SayHello(t.Context(), &hellov1.SayHelloRequest{Name: ""})
	d := errs.FromError(err)
	if d.Code != codes.InvalidArgument || d.Reason != "INVALID_REQUEST" || d.Domain != errs.Domain {
		t.Fatalf("SayHello(\"\") = %v (reason %q domain %q), want InvalidArgument INVALID_REQUEST bazaar.dev", err, d.Reason, d.Domain)
	}
	if len(d.FieldViolations) != 1 || d.FieldViolations[0].Field != "name" {
		t.Errorf("field violations = %+v, want one on \"name\"", d.FieldViolations)
	}
	if n := f.g.calls.Load(); n != 0 {
		t.Errorf("handler ran %d times for an invalid request, want 0", n)
	}
	// Streams validate each received message too.
	st, err := f.client.SayHelloStream(t.Context(), &hellov1.SayHelloStreamRequest{Name: "x", Count: 0})
	if err == nil {
		_, err = st.Recv()
	}
	if got := status.Code(err); got != codes.InvalidArgument {
		t.Errorf("SayHelloStream(count 0) = %v, want InvalidArgument", err)
	}
}

func TestOversizedMessageRejectedBeforeHandler(t *testing.T) {
	t.Parallel()
	lim := grpcx.DefaultLimits()
	lim.MaxRecvMsgSize = 1024
	f := newFixture(t, grpcx.WithLimits(lim))
	_, err := f.client.SayHello(t.Context(), &hellov1.SayHelloRequest{Name: strings.Repeat("x", 2000)})
	if got := status.Code(err); got != codes.ResourceExhausted {
		t.Fatalf("SayHello(2000 bytes) = %v, want ResourceExhausted", err)
	}
	if n := f.g.calls.Load(); n != 0 {
		t.Errorf("handler ran %d times, want 0", n)
	}
}

func TestOversizedMetadataRejectedConnectionLives(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := metadata.AppendToOutgoingContext(t.Context(), "x-big", strings.Repeat("y", 32<<10))
	_, err := f.client.SayHello(ctx, &hellov1.SayHelloRequest{Name: "big"})
	if err == nil {
		t.Fatalf("SayHello with 32 KiB of metadata = OK, want an error")
	}
	if _, err := f.client.SayHello(t.Context(), &hellov1.SayHelloRequest{Name: "small"}); err != nil {
		t.Fatalf("SayHello after oversized metadata = %v, want OK on the same connection", err)
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// A minted id comes back in the ErrorInfo of a failed call.
	_, err := f.client.SayHello(t.Context(), &hellov1.SayHelloRequest{Name: "internal"})
	if id := errs.FromError(err).Metadata["request_id"]; !obs.ValidRequestID(id) {
		t.Errorf("SayHello(internal) = %v: ErrorInfo request_id %q, want a minted id", err, id)
	}
	// A caller's id is kept: in the log and in the error.
	for _, bad := range []string{"", "has space", strings.Repeat("x", obs.MaxRequestIDLen+1)} {
		if obs.ValidRequestID(bad) {
			t.Errorf("ValidRequestID(%q) = true, want false", bad)
		}
	}
	ctx := metadata.AppendToOutgoingContext(t.Context(), obs.RequestIDHeader, "req-from-caller-42")
	_, err = f.client.SayHello(ctx, &hellov1.SayHelloRequest{Name: "panic"})
	if id := errs.FromError(err).Metadata["request_id"]; status.Code(err) != codes.Internal || id != "req-from-caller-42" {
		t.Errorf("SayHello(panic) = %v with request_id %q, want Internal with req-from-caller-42", err, id)
	}
	if !strings.Contains(f.log.String(), `"request_id":"req-from-caller-42"`) {
		t.Errorf("log does not carry the caller's request id:\n%s", f.log.String())
	}
}

func TestHealthAndReflection(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	hc := healthpb.NewHealthClient(f.cc)
	for _, svc := range []string{"", "bazaar.examples.helloworld.v1.GreeterService"} {
		resp, err := hc.Check(t.Context(), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health.Check(%q) = %v, %v, want SERVING", svc, resp, err)
		}
	}
	rc, err := reflectionpb.NewServerReflectionClient(f.cc).ServerReflectionInfo(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := rc.Recv()
	if err != nil {
		t.Fatal(err)
	}
	_ = rc.CloseSend()
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	if !strings.Contains(strings.Join(names, ","), "bazaar.examples.helloworld.v1.GreeterService") {
		t.Errorf("reflection lists %v, want the greeter", names)
	}
}

func TestNonPublicMethodNeedsCredentials(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, err := channelzpb.NewChannelzClient(f.cc).GetTopChannels(t.Context(), &channelzpb.GetTopChannelsRequest{})
	if d := errs.FromError(err); d.Code != codes.Unauthenticated || d.Reason != "CREDENTIALS_REQUIRED" {
		t.Errorf("channelz.GetTopChannels() = %v (reason %q), want Unauthenticated CREDENTIALS_REQUIRED", err, d.Reason)
	}
}

func TestMetricsRecorded(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if _, err := f.client.SayHello(t.Context(), &hellov1.SayHelloRequest{Name: "m"}); err != nil {
		t.Fatal(err)
	}
	_, _ = f.client.SayHello(t.Context(), &hellov1.SayHelloRequest{Name: "panic"})
	mfs, err := f.metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, mf := range mfs {
		found[mf.GetName()] = true
	}
	for _, want := range []string{"grpc_server_handled_total", "grpc_server_handling_seconds", "bazaar_grpc_server_panics_total"} {
		if !found[want] {
			t.Errorf("metric %s not gathered", want)
		}
	}
}

func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	f := &fixture{g: &greeter{}}
	srv, err := grpcx.NewServer(grpcx.WithShutdownGrace(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	hellov1.RegisterGreeterServiceServer(srv, f.g)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, lis) }()
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	client := hellov1.NewGreeterServiceClient(cc)

	// A long-lived stream, and a health watcher.
	stream, err := client.SayHelloStream(t.Context(), &hellov1.SayHelloStreamRequest{Name: "s", Count: 1000, IntervalMs: 50})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	watch, err := healthpb.NewHealthClient(cc).Watch(t.Context(), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := watch.Recv(); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health.Watch first = %v, %v, want SERVING", r, err)
	}

	// An in-flight unary call when SIGTERM arrives.
	slow := make(chan error, 1)
	go func() {
		_, err := client.SayHello(t.Context(), &hellov1.SayHelloRequest{Name: "slow"})
		slow <- err
	}()
	for f.g.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}

	start := time.Now()
	stop()
	if r, err := watch.Recv(); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("health.Watch after SIGTERM = %v, %v, want NOT_SERVING first", r, err)
	}
	var streamErr error
	for streamErr == nil {
		_, streamErr = stream.Recv()
	}
	if d := errs.FromError(streamErr); d.Code != codes.Unavailable || d.Reason != "SERVER_DRAINING" {
		t.Errorf("stream.Recv() during shutdown = %v (reason %q), want Unavailable SERVER_DRAINING", streamErr, d.Reason)
	}
	if err := <-slow; err != nil {
		t.Errorf("in-flight SayHello(slow) during shutdown = %v, want OK", err)
	}
	if err := <-served; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Serve() = %v, want nil", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("shutdown took %v; streams were not told to go", took)
	}
}

// TestServeReturnsNilAfterDirectShutdown: Shutdown or Stop called while
// Serve runs is a clean stop, not an error.
func TestServeReturnsNilAfterDirectShutdown(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"Shutdown", "Stop"} {
		srv, err := grpcx.NewServer()
		if err != nil {
			t.Fatal(err)
		}
		hellov1.RegisterGreeterServiceServer(srv, &greeter{})
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(t.Context(), lis) }()
		cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := hellov1.NewGreeterServiceClient(cc).SayHello(t.Context(), &hellov1.SayHelloRequest{Name: "x"}); err != nil {
			t.Fatal(err)
		}
		if name == "Shutdown" {
			srv.Shutdown()
		} else {
			srv.Stop()
		}
		if err := <-served; err != nil {
			t.Errorf("Serve() after %s() = %v, want nil", name, err)
		}
		_ = cc.Close()
	}
}

// expiringAuthorizer admits everyone until a fixed expiry, like a token.
type expiringAuthorizer struct{ ttl time.Duration }

func (a expiringAuthorizer) Authorize(ctx context.Context, _ string, _ *auth.Policy) (context.Context, error) {
	expired := errs.New(errs.Unauthenticated, "TOKEN_EXPIRED", "the access token expired")
	ctx, cancel := context.WithDeadlineCause(ctx, time.Now().Add(a.ttl), expired)
	context.AfterFunc(ctx, cancel) // released when the call (the parent) ends
	return ctx, nil
}

// TestStreamEndsWhenCredentialExpires: an Authorizer bounding the call by
// its credential turns the stream's end into UNAUTHENTICATED.
func TestStreamEndsWhenCredentialExpires(t *testing.T) {
	t.Parallel()
	f := newFixture(t, grpcx.WithAuthorizer(expiringAuthorizer{ttl: 150 * time.Millisecond}))
	st, err := f.client.SayHelloStream(t.Context(), &hellov1.SayHelloStreamRequest{Name: "s", Count: 1000, IntervalMs: 20})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for err == nil {
		_, err = st.Recv()
		n++
	}
	if d := errs.FromError(err); d.Code != codes.Unauthenticated || d.Reason != "TOKEN_EXPIRED" {
		t.Errorf("stream.Recv() after expiry = %v (reason %q), want Unauthenticated TOKEN_EXPIRED", err, d.Reason)
	}
	if n < 2 {
		t.Errorf("stream ended after %d messages, want it to run until expiry", n)
	}
}
