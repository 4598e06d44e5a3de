package grpcx_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	hellov1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

// clientTarget is the target every client test dials; the bufconn dialer
// ignores it, but it names the breaker in CIRCUIT_OPEN errors.
const clientTarget = "passthrough:///bufnet"

// clientGreeter is the GreeterService of the client tests. Every handler
// run counts as an attempt; SayHello runs hello (if set) with the 1-based
// attempt number and, when it returns nil, applies its "effect" and
// answers. SayHelloStream runs stream (if set), else sends Count greetings.
type clientGreeter struct {
	hellov1.UnimplementedGreeterServiceServer
	hello  func(ctx context.Context, attempt int64) error
	stream func(r *hellov1.SayHelloStreamRequest, s grpc.ServerStreamingServer[hellov1.SayHelloStreamResponse]) error

	attempts atomic.Int64
	effects  atomic.Int64
}

func (g *clientGreeter) SayHello(ctx context.Context, r *hellov1.SayHelloRequest) (*hellov1.SayHelloResponse, error) {
	n := g.attempts.Add(1)
	if g.hello != nil {
		if err := g.hello(ctx, n); err != nil {
			return nil, err
		}
	}
	g.effects.Add(1)
	return &hellov1.SayHelloResponse{Message: "hello " + r.GetName()}, nil
}

func (g *clientGreeter) SayHelloStream(r *hellov1.SayHelloStreamRequest, s grpc.ServerStreamingServer[hellov1.SayHelloStreamResponse]) error {
	g.attempts.Add(1)
	if g.stream != nil {
		return g.stream(r, s)
	}
	for i := uint32(1); i <= r.GetCount(); i++ {
		if err := s.Send(&hellov1.SayHelloStreamResponse{Message: "hello " + r.GetName(), Sequence: i}); err != nil {
			return err
		}
	}
	return nil
}

// clientFailWith returns a hello func that always fails with code c.
func clientFailWith(c codes.Code) func(context.Context, int64) error {
	return func(context.Context, int64) error { return status.Error(c, "scripted "+c.String()) }
}

// clientBlock is a hello func that waits for the call's end.
func clientBlock(ctx context.Context, _ int64) error {
	<-ctx.Done()
	return status.FromContextError(ctx.Err()).Err()
}

// clientServe serves g with a plain grpc.Server on an in-process bufconn
// listener until the test ends, and returns a dial option reaching it.
func clientServe(tb testing.TB, g hellov1.GreeterServiceServer) grpc.DialOption {
	tb.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	hellov1.RegisterGreeterServiceServer(srv, g)
	go func() { _ = srv.Serve(lis) }() // returns once Stop has run
	tb.Cleanup(srv.Stop)
	return grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) })
}

// clientConnect serves g and returns a client for it built by
// grpcx.NewClient with opts. Both are closed when the test ends.
func clientConnect(tb testing.TB, g hellov1.GreeterServiceServer, opts ...grpcx.ClientOption) hellov1.GreeterServiceClient {
	tb.Helper()
	dialer := clientServe(tb, g)
	all := append([]grpcx.ClientOption{grpcx.WithDialOptions(dialer)}, opts...)
	cc, err := grpcx.NewClient(clientTarget, all...)
	if err != nil {
		tb.Fatalf("grpcx.NewClient(%q) = %v, want nil", clientTarget, err)
	}
	tb.Cleanup(func() { _ = cc.Close() })
	return hellov1.NewGreeterServiceClient(cc)
}

// clientDeadline is the deadline a handler saw.
type clientDeadline struct {
	ok     bool
	remain time.Duration
}

func clientDeadlineOf(ctx context.Context) clientDeadline {
	d, ok := ctx.Deadline()
	return clientDeadline{ok: ok, remain: time.Until(d)}
}

// clientWithin reports whether got is in [lo, hi].
func clientWithin(got, lo, hi time.Duration) bool { return got >= lo && got <= hi }
