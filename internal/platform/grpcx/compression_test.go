package grpcx_test

import (
	"context"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/stats"

	hellov1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

// TestServerAcceptsGzip: a client that compresses with gzip is served (the
// compressor is registered by grpcx itself), and the server sees the
// request's grpc-encoding.
func TestServerAcceptsGzip(t *testing.T) {
	t.Parallel()
	var seen encodingRecorder
	srv, err := grpcx.NewServer(grpcx.WithServerOptions(grpc.StatsHandler(&seen)))
	if err != nil {
		t.Fatal(err)
	}
	hellov1.RegisterGreeterServiceServer(srv, &greeter{})
	target := startServer(t, srv).Target()
	cc, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.UseCompressor("gzip")))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cc.Close() }()
	resp, err := hellov1.NewGreeterServiceClient(cc).SayHello(t.Context(), &hellov1.SayHelloRequest{Name: "gzip"})
	if err != nil || resp.GetMessage() != "hello gzip" {
		t.Fatalf("SayHello(gzip) = %v, %v; want hello gzip", resp, err)
	}
	if got := seen.get(); got != "gzip" {
		t.Errorf("the server saw grpc-encoding %q, want gzip", got)
	}
}

type encodingRecorder struct {
	mu  sync.Mutex
	enc string
}

func (r *encodingRecorder) get() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.enc
}

func (*encodingRecorder) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }

func (r *encodingRecorder) HandleRPC(_ context.Context, s stats.RPCStats) {
	if h, ok := s.(*stats.InHeader); ok && h.FullMethod == hellov1.GreeterService_SayHello_FullMethodName {
		r.mu.Lock()
		r.enc = h.Compression
		r.mu.Unlock()
	}
}

func (*encodingRecorder) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}
func (*encodingRecorder) HandleConn(context.Context, stats.ConnStats) {}
