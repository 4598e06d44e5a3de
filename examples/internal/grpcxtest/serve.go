// Package grpcxtest serves a grpcx.Server in memory, over bufconn, for the
// tests of the examples' services: the platform's interceptors run (so
// validation and error mapping are tested too) without a TCP port.
package grpcxtest

import (
	"context"
	"net"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/test/bufconn"

	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

// Serve runs srv on a bufconn listener and returns a connection to it,
// built by grpcx.NewClient, and a function that shuts the server down the
// way a process does, by ending Serve's context, and returns Serve's
// result. The test's cleanup closes the connection and calls stop too (it
// runs once), failing the test unless Serve returned nil.
func Serve(t *testing.T, srv *grpcx.Server) (cc *grpc.ClientConn, stop func() error) {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis) }()
	stop = sync.OnceValue(func() error {
		cancel()
		return <-done
	})

	cc, err := grpcx.NewClient("passthrough:///bufconn", grpcx.WithDialOptions(
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
	))
	if err != nil {
		_ = stop()
		t.Fatalf("grpcx.NewClient() = %v", err)
	}
	t.Cleanup(func() {
		if err := cc.Close(); err != nil {
			t.Errorf("ClientConn.Close() = %v", err)
		}
		if err := stop(); err != nil {
			t.Errorf("Server.Serve() = %v, want nil after a graceful stop", err)
		}
	})
	return cc, stop
}
