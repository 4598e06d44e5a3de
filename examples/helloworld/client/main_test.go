package main

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bazaarhq/bazaar/examples/helloworld"
	helloworldv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestRun drives the program's run against a real Greeter server over TCP
// and checks what it prints, and how it reports failures.
func TestRun(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	tests := []struct {
		name    string
		args    []string
		want    string   // the whole stdout, when the command succeeds
		wantErr []string // substrings of the error, when it fails
	}{
		{name: "hello", args: []string{"hello", "Ada"}, want: "Hello, Ada!\n"},
		{name: "stream", args: []string{"stream", "Ada", "-count", "3", "-interval", "1ms"},
			want: "1: Hello, Ada!\n2: Hello, Ada!\n3: Hello, Ada!\n"},
		{name: "stream flags first", args: []string{"stream", "-count", "2", "-interval", "0s", "Ada"},
			want: "1: Hello, Ada!\n2: Hello, Ada!\n"},
		{name: "stream dash name", args: []string{"stream", "-count=1", "-interval=0s", "--", "-Ada-"},
			want: "1: Hello, -Ada-!\n"},
		{name: "empty name", args: []string{"hello", ""}, wantErr: []string{
			"SayHello failed: InvalidArgument: name: ",
			"\n  reason: INVALID_REQUEST (bazaar.dev)",
			"\n  request_id: ",
			"\n  field name: must be at least 1 characters",
		}},
		{name: "count out of range", args: []string{"stream", "Ada", "-count", "0"}, wantErr: []string{
			"SayHelloStream failed: InvalidArgument:", "\n  field count: ",
		}},
		{name: "interval out of range", args: []string{"stream", "Ada", "-interval", "11s"}, wantErr: []string{
			"SayHelloStream failed: InvalidArgument:", "\n  field interval_ms: ",
		}},
		{name: "no command", args: nil, wantErr: []string{"missing command"}},
		{name: "unknown command", args: []string{"greet", "Ada"}, wantErr: []string{`unknown command "greet"`}},
		{name: "two names", args: []string{"hello", "Ada", "Bob"}, wantErr: []string{"hello wants one NAME, got 2"}},
		{name: "no name", args: []string{"stream", "-count", "2"}, wantErr: []string{"stream wants one NAME, got 0"}},
		{name: "count too big", args: []string{"stream", "Ada", "-count", "4294967296"}, wantErr: []string{"does not fit in 32 bits"}},
		{name: "negative interval", args: []string{"stream", "Ada", "-interval", "-1s"}, wantErr: []string{"-interval -1s"}},
		{name: "bad timeout", args: []string{"-timeout", "0s", "hello", "Ada"}, wantErr: []string{"-timeout 0s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out strings.Builder
			err := run(t.Context(), append([]string{"-addr", addr, "-timeout", "10s"}, tt.args...), &out)
			if tt.wantErr == nil {
				if err != nil || out.String() != tt.want {
					t.Errorf("run(%q) = %v, printing %q; want nil, printing %q", tt.args, err, out.String(), tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("run(%q) = nil, printing %q; want an error", tt.args, out.String())
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("run(%q) = %q, want it to contain %q", tt.args, err, want)
				}
			}
		})
	}
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

// startServer serves a Greeter on a real grpcx server on a free loopback
// port, the way the server program does, until the test ends.
func startServer(t *testing.T) string {
	t.Helper()
	srv, err := grpcx.NewServer(grpcx.WithName("helloworld-client-test"))
	if err != nil {
		t.Fatalf("grpcx.NewServer() = %v", err)
	}
	helloworldv1.RegisterGreeterServiceServer(srv, helloworld.NewGreeter())
	var lc net.ListenConfig
	lis, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Server.Serve() = %v, want nil after a graceful stop", err)
		}
	})
	return lis.Addr().String()
}
