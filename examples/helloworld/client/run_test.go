package main

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/examples/helloworld"
	"github.com/bazaarhq/bazaar/examples/internal/standalone"
	"github.com/bazaarhq/bazaar/examples/internal/standalonetest"
	helloworldv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

// TestRun drives the program's run against a real Greeter server over TCP
// and checks what it prints, and how it reports failures.
func TestRun(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	standalonetest.RunCases(t, run, []string{"-addr", addr, "-timeout", "10s"}, []standalonetest.Case{
		{Name: "hello", Args: []string{"hello", "Ada"}, Want: "Hello, Ada!\n"},
		{Name: "stream", Args: []string{"stream", "Ada", "-count", "3", "-interval", "1ms"},
			Want: "1: Hello, Ada!\n2: Hello, Ada!\n3: Hello, Ada!\n"},
		{Name: "stream flags first", Args: []string{"stream", "-count", "2", "-interval", "0s", "Ada"},
			Want: "1: Hello, Ada!\n2: Hello, Ada!\n"},
		{Name: "stream dash name", Args: []string{"stream", "-count=1", "-interval=0s", "--", "-Ada-"},
			Want: "1: Hello, -Ada-!\n"},
		{Name: "empty name", Args: []string{"hello", ""}, WantErr: []string{
			"SayHello failed: InvalidArgument: name: ",
			"\n  reason: INVALID_REQUEST (bazaar.dev)",
			"\n  request_id: ",
			"\n  field name: must be at least 1 characters",
		}},
		{Name: "count out of range", Args: []string{"stream", "Ada", "-count", "0"}, WantErr: []string{
			"SayHelloStream failed: InvalidArgument:", "\n  field count: ",
		}},
		{Name: "interval out of range", Args: []string{"stream", "Ada", "-interval", "11s"}, WantErr: []string{
			"SayHelloStream failed: InvalidArgument:", "\n  field interval_ms: ",
		}},
		{Name: "unknown command", Args: []string{"greet", "Ada"}, WantErr: []string{`unknown command "greet": want hello or stream`}},
		{Name: "two names", Args: []string{"hello", "Ada", "Bob"}, WantErr: []string{"hello wants one NAME, got 2"}},
		{Name: "no name", Args: []string{"stream", "-count", "2"}, WantErr: []string{"stream wants one NAME, got 0"}},
		{Name: "count too big", Args: []string{"stream", "Ada", "-count", "4294967296"}, WantErr: []string{"does not fit in 32 bits"}},
		{Name: "negative interval", Args: []string{"stream", "Ada", "-interval", "-1s"}, WantErr: []string{"-interval -1s"}},
	})
}

// TestRunUnreachable checks that a server that is not there is reported as
// UNAVAILABLE, within the deadline, after the client's retries.
func TestRunUnreachable(t *testing.T) {
	t.Parallel()
	var lc net.ListenConfig
	lis, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close() // nothing listens there now

	start := time.Now()
	var out strings.Builder
	err = run(t.Context(), []string{"-addr", addr, "-timeout", "5s", "hello", "Ada"}, &out)
	if err == nil || !strings.Contains(err.Error(), "SayHello failed: Unavailable") {
		t.Errorf("run(hello) against a closed port = %v, want a SayHello Unavailable error", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("run(hello) against a closed port took %v, want at most the 5s timeout", elapsed)
	}
}

// startServer serves a Greeter the way the server program does, with
// standalone.Server on a free loopback port, until the test ends, and
// returns its address.
func startServer(t *testing.T) string {
	t.Helper()
	s := standalone.Server{Name: "helloworld-client-test", Register: func(srv *grpcx.Server) {
		helloworldv1.RegisterGreeterServiceServer(srv, helloworld.NewGreeter())
	}}
	return standalonetest.Start(t, s.Run, "-addr", "127.0.0.1:0").Addr
}
