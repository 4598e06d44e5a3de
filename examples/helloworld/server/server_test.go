package main

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/examples/internal/standalonetest"
	helloworldv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"
)

// TestServer runs this program's server on a free loopback port and calls
// the Greeter over real TCP, so what is this program's own is tested: the
// service it registers and the name it logs under. What every example
// server does (flags, the listening line, the text log, the graceful stop)
// is standalone.Server's, tested in its package.
func TestServer(t *testing.T) {
	t.Parallel()
	p := standalonetest.Start(t, server.Run, "-addr", "127.0.0.1:0")
	client := helloworldv1.NewGreeterServiceClient(p.Dial(t))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	resp, err := client.SayHello(ctx, &helloworldv1.SayHelloRequest{Name: "Ada"})
	if err != nil || resp.GetMessage() != "Hello, Ada!" {
		t.Errorf("client.SayHello(Ada) = %q, %v; want %q", resp.GetMessage(), err, "Hello, Ada!")
	}
	stream, err := client.SayHelloStream(ctx, &helloworldv1.SayHelloStreamRequest{Name: "Ada", Count: 3})
	if err != nil {
		t.Fatalf("client.SayHelloStream() = %v", err)
	}
	var got int
	for {
		if _, err := stream.Recv(); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Errorf("SayHelloStream Recv() = %v", err)
			}
			break
		}
		got++
	}
	if got != 3 {
		t.Errorf("client.SayHelloStream(count 3) sent %d greetings, want 3", got)
	}
	if _, err := client.SayHello(ctx, &helloworldv1.SayHelloRequest{}); err == nil {
		t.Errorf("client.SayHello(empty name) = nil error, want InvalidArgument")
	}

	p.Stop(t)
	if out, want := p.Output(), "server=helloworld method=/bazaar.examples.helloworld.v1.GreeterService/SayHello code=InvalidArgument"; !strings.Contains(out, want) {
		t.Errorf("server.Run() output = %q, want it to log the failed call %q", out, want)
	}
}
