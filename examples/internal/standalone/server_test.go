package standalone_test

import (
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/bazaarhq/bazaar/examples/internal/standalone"
	"github.com/bazaarhq/bazaar/examples/internal/standalonetest"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

// registered is the health-checked name testServer's Register sets
// SERVING, so that a Check over TCP proves Register ran on the server that
// serves.
const registered = "registered-by-test"

// testServer registers no service of its own: the grpc health service,
// which every grpcx server has, answers the test's calls.
var testServer = standalone.Server{
	Name:        "standalone-test",
	DefaultAddr: "127.0.0.1:0",
	Register: func(srv *grpcx.Server) {
		srv.Health().SetServingStatus(registered, healthpb.HealthCheckResponse_SERVING)
	},
}

// TestServerRun starts Run on its default address (a free loopback port),
// calls it over real TCP, then ends its context as SIGTERM would and
// expects a graceful, error-free exit.
func TestServerRun(t *testing.T) {
	t.Parallel()
	p := standalonetest.Start(t, testServer.Run)
	if out := p.Output(); !strings.HasPrefix(out, "listening on "+p.Addr+"\n") {
		t.Errorf("Run() output = %q, want it to start with the listening line", out)
	}
	client := healthpb.NewHealthClient(p.Dial(t))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	for _, service := range []string{"", registered} {
		resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("client.Check(%q) = %v, %v; want SERVING", service, resp, err)
		}
	}
	// A failed call is logged at Info: the text logger works.
	if _, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: "no.such.Service"}); status.Code(err) != codes.NotFound {
		t.Errorf("client.Check(no.such.Service) = %v, want code NotFound", err)
	}

	p.Stop(t) // what SIGINT or SIGTERM does through signal.NotifyContext
	out := p.Output()
	for _, want := range []string{"level=INFO msg=rpc server=standalone-test", "code=NotFound", "stopped gracefully"} {
		if !strings.Contains(out, want) {
			t.Errorf("Run() output = %q, want it to contain %q", out, want)
		}
	}
}

// TestServerRunHelp checks that -h prints the flags with their defaults
// and returns flag.ErrHelp, which Main does not count as a failure.
func TestServerRunHelp(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	err := testServer.Run(t.Context(), []string{"-h"}, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Errorf("Run(-h) = %v, want flag.ErrHelp", err)
	}
	if want := `-addr string`; !strings.Contains(out.String(), want) || !strings.Contains(out.String(), `(default "127.0.0.1:0")`) {
		t.Errorf("Run(-h) printed %q, want the -addr flag and its default", out.String())
	}
}

func TestServerRunErrors(t *testing.T) {
	t.Parallel()
	var lc net.ListenConfig
	busy, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = busy.Close() }) // not defer: the parallel subtests run after this function returns
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"-port", "1"}, "flag provided but not defined"},
		{"extra argument", []string{"-addr", "127.0.0.1:0", "now"}, "unexpected arguments"},
		{"address in use", []string{"-addr", busy.Addr().String()}, "address already in use"},
		{"bad address", []string{"-addr", "no-port"}, "missing port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// A deadline, so that a run which wrongly starts serving fails
			// the test instead of hanging it.
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			err := testServer.Run(ctx, tt.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run(%q) = %v, want an error containing %q", tt.args, err, tt.want)
			}
		})
	}
}
