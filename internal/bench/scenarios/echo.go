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
// Its workers spread over Env.Conns connections, like the services'.
type echo struct {
	srv     *grpc.Server
	served  chan error
	ccs     []*grpc.ClientConn
	clients []helloworldv1.GreeterServiceClient
}

func newEcho(env Env) (*echo, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e := &echo{srv: grpc.NewServer(), served: make(chan error, 1)}
	helloworldv1.RegisterGreeterServiceServer(e.srv, helloworld.NewGreeter())
	go func() { e.served <- e.srv.Serve(lis) }()
	if e.ccs, err = dialLocal(env, lis.Addr().String()); err != nil {
		_ = e.Close()
		return nil, err
	}
	for _, cc := range e.ccs {
		e.clients = append(e.clients, helloworldv1.NewGreeterServiceClient(cc))
	}
	return e, nil
}

func (*echo) Name() string { return "echo" }

func (e *echo) Do(ctx context.Context, w int) (time.Duration, error) {
	_, err := e.clients[w%len(e.clients)].SayHello(ctx, &helloworldv1.SayHelloRequest{Name: "bench"})
	return 0, err
}

func (e *echo) Close() error {
	err := closeAll(e.ccs)
	e.srv.Stop()
	if serr := <-e.served; serr != nil && !errors.Is(serr, grpc.ErrServerStopped) {
		err = errors.Join(err, serr)
	}
	return err
}

// dialLocal dials an in-process server env.Conns times.
func dialLocal(env Env, addr string) ([]*grpc.ClientConn, error) {
	var ccs []*grpc.ClientConn
	for range max(env.Conns, 1) {
		cc, err := env.DialEcho(addr)
		if err != nil {
			return nil, errors.Join(err, closeAll(ccs))
		}
		ccs = append(ccs, cc)
	}
	return ccs, nil
}

func closeAll(ccs []*grpc.ClientConn) error {
	var err error
	for _, cc := range ccs {
		err = errors.Join(err, cc.Close())
	}
	return err
}
