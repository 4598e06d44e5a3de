package ratelimit_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	hellov1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"
	identityv1 "github.com/bazaarhq/bazaar/gen/bazaar/identity/v1"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
	"github.com/bazaarhq/bazaar/internal/platform/ratelimit"
)

// principalHeader names the caller for headerAuthenticator.
const principalHeader = "x-test-principal"

// headerAuthenticator is a test double of authentication: it believes
// whoever the x-test-principal header names, which the real Authorizer
// (verifying access tokens and API keys, written for the identity service)
// never would. Public methods admit anonymous callers; others need the
// header.
type headerAuthenticator struct{}

func (headerAuthenticator) Authorize(ctx context.Context, _ string, p *auth.Policy) (context.Context, error) {
	if v := metadata.ValueFromIncomingContext(ctx, principalHeader); len(v) == 1 {
		return auth.WithPrincipal(ctx, &auth.Principal{Kind: auth.User, Subject: v[0]}), nil
	}
	if p.GetPublic() {
		return ctx, nil
	}
	return ctx, errs.New(errs.Unauthenticated, "", "the test principal header is missing")
}

// rpcTimeout bounds every test call, so that a hang fails the test.
const rpcTimeout = 10 * time.Second

// rpcContext is the test's context, bounded by rpcTimeout.
func rpcContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), rpcTimeout)
	t.Cleanup(cancel)
	return ctx
}

// as returns ctx calling as the user named id.
func as(ctx context.Context, id string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, principalHeader, id)
}

// greeter is the GreeterService of the tests; it counts the calls that
// reach it.
type greeter struct {
	hellov1.UnimplementedGreeterServiceServer
	calls atomic.Int64
}

func (g *greeter) SayHello(_ context.Context, r *hellov1.SayHelloRequest) (*hellov1.SayHelloResponse, error) {
	g.calls.Add(1)
	return &hellov1.SayHelloResponse{Message: "hello " + r.GetName()}, nil
}

func (g *greeter) SayHelloStream(r *hellov1.SayHelloStreamRequest, s grpc.ServerStreamingServer[hellov1.SayHelloStreamResponse]) error {
	g.calls.Add(1)
	for i := uint32(1); i <= r.GetCount(); i++ {
		if err := s.Send(&hellov1.SayHelloStreamResponse{Message: "hello " + r.GetName(), Sequence: i}); err != nil {
			return err
		}
	}
	return nil
}

// identityServer answers every identity call UNIMPLEMENTED: the tests only
// need its methods' costs, and a call that reaches it was admitted.
type identityServer struct {
	identityv1.UnimplementedIdentityServiceServer
}

// testServer is a grpcx server with l's interceptors, the test
// authenticator, a greeter and the identity service, on a loopback port.
type testServer struct {
	greeter *greeter
	hello   hellov1.GreeterServiceClient
	id      identityv1.IdentityServiceClient
	addr    string
}

func startServer(t *testing.T, l *ratelimit.Limiter) *testServer {
	t.Helper()
	srv, err := grpcx.NewServer(
		grpcx.WithAuthorizer(headerAuthenticator{}),
		grpcx.WithUnaryInterceptors(l.UnaryServerInterceptor()),
		grpcx.WithStreamInterceptors(l.StreamServerInterceptor()),
	)
	if err != nil {
		t.Fatalf("grpcx.NewServer() = %v", err)
	}
	g := &greeter{}
	hellov1.RegisterGreeterServiceServer(srv, g)
	identityv1.RegisterIdentityServiceServer(srv, identityServer{})

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve() = %v, want nil", err)
		}
	})
	cc := dial(t, lis.Addr().String())
	return &testServer{
		greeter: g,
		hello:   hellov1.NewGreeterServiceClient(cc),
		id:      identityv1.NewIdentityServiceClient(cc),
		addr:    lis.Addr().String(),
	}
}

// dial returns a client connection to addr, closed when the test ends
// (before the server stops).
func dial(t *testing.T, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	if err != nil {
		t.Fatalf("grpc.NewClient(%q) = %v", addr, err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}
