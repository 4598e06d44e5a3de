package scenarios

import (
	"context"
	"errors"
	"net"
	"time"

	"google.golang.org/grpc"

	"github.com/bazaarhq/bazaar/examples/helloworld"
	helloworldv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"
)

// echo serves the foundation's Greeter on a bare grpc.Server (nothing in
// its chain) on a loopback port of this process and calls SayHello: what
// gRPC itself costs on this machine, the baseline of every other scenario.
type echo struct {
	srv    *grpc.Server
	served chan error
	cc     *grpc.ClientConn
	client helloworldv1.GreeterServiceClient
}

func newEcho(env Env) (*echo, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e := &echo{srv: grpc.NewServer(), served: make(chan error, 1)}
	helloworldv1.RegisterGreeterServiceServer(e.srv, helloworld.NewGreeter())
	go func() { e.served <- e.srv.Serve(lis) }()
	e.cc, err = env.DialEcho(lis.Addr().String())
	if err != nil {
		e.srv.Stop()
		return nil, err
	}
	e.client = helloworldv1.NewGreeterServiceClient(e.cc)
	return e, nil
}

func (*echo) Name() string { return "echo" }

func (e *echo) Do(ctx context.Context, _ int) (time.Duration, error) {
	_, err := e.client.SayHello(ctx, &helloworldv1.SayHelloRequest{Name: "bench"})
	return 0, err
}

func (e *echo) Close() error {
	err := e.cc.Close()
	e.srv.Stop()
	if serr := <-e.served; serr != nil && !errors.Is(serr, grpc.ErrServerStopped) {
		err = errors.Join(err, serr)
	}
	return err
}
