package grpcx_test

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	hellov1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

// greeter is the test service: SayHello echoes, or panics / fails / blocks
// on magic names.
type greeter struct {
	hellov1.UnimplementedGreeterServiceServer
	calls atomic.Int64
}

func (g *greeter) SayHello(ctx context.Context, r *hellov1.SayHelloRequest) (*hellov1.SayHelloResponse, error) {
	g.calls.Add(1)
	switch r.GetName() {
	case "panic":
		panic("boom: the handler broke")
	case "internal":
		return nil, fmt.Errorf("store: connection to 10.0.0.7 refused")
	case "slow":
		time.Sleep(300 * time.Millisecond)
	case "block":
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return &hellov1.SayHelloResponse{Message: "hello " + r.GetName()}, nil
}

func (g *greeter) SayHelloStream(r *hellov1.SayHelloStreamRequest, s grpc.ServerStreamingServer[hellov1.SayHelloStreamResponse]) error {
	for i := uint32(1); i <= r.GetCount(); i++ {
		if err := s.Send(&hellov1.SayHelloStreamResponse{Message: "hello " + r.GetName(), Sequence: i}); err != nil {
			return err
		}
		if r.GetIntervalMs() > 0 {
			select {
			case <-s.Context().Done():
				return s.Context().Err()
			case <-time.After(time.Duration(r.GetIntervalMs()) * time.Millisecond):
			}
		}
	}
	return nil
}

// startServer serves srv on a loopback port until the test ends and
// returns a client connection to it.
func startServer(tb testing.TB, srv *grpcx.Server) *grpc.ClientConn {
	tb.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis) }()
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = cc.Close()
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("Serve() = %v, want nil", err)
		}
	})
	return cc
}
