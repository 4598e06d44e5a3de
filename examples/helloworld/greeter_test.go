package helloworld_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	helloworldv1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

func TestSayHello(t *testing.T) {
	t.Parallel()
	client, _ := startGreeter(t)
	long := strings.Repeat("é", 100) // 100 characters, 200 bytes: the limit counts characters
	tests := []struct {
		name      string
		want      string
		wantField string // a validation failure on this field, when set
	}{
		{name: "Ada", want: "Hello, Ada!"},
		{name: "Zoë", want: "Hello, Zoë!"},
		{name: "a", want: "Hello, a!"},
		{name: long, want: "Hello, " + long + "!"},
		{name: "", wantField: "name"},
		{name: long + "x", wantField: "name"},
	}
	for _, tt := range tests {
		call := fmt.Sprintf("client.SayHello(%.20q)", tt.name)
		t.Run(call, func(t *testing.T) {
			t.Parallel()
			resp, err := client.SayHello(callContext(t), &helloworldv1.SayHelloRequest{Name: tt.name})
			if tt.wantField != "" {
				checkError(t, call, err, codes.InvalidArgument, "INVALID_REQUEST", tt.wantField)
				return
			}
			if err != nil || resp.GetMessage() != tt.want {
				t.Errorf("%s = %q, %v; want %q", call, resp.GetMessage(), err, tt.want)
			}
		})
	}
}

func TestSayHelloStream(t *testing.T) {
	t.Parallel()
	client, _ := startGreeter(t)
	tests := []struct {
		req       *helloworldv1.SayHelloStreamRequest
		wantField string
	}{
		{req: &helloworldv1.SayHelloStreamRequest{Name: "Ada", Count: 1}},
		{req: &helloworldv1.SayHelloStreamRequest{Name: "Ada", Count: 5}},
		{req: &helloworldv1.SayHelloStreamRequest{Name: "Ada", Count: 1000}},
		{req: &helloworldv1.SayHelloStreamRequest{Name: "Ada", Count: 3, IntervalMs: 30}},
		{req: &helloworldv1.SayHelloStreamRequest{Name: "Ada", Count: 0}, wantField: "count"},
		{req: &helloworldv1.SayHelloStreamRequest{Name: "Ada", Count: 1001}, wantField: "count"},
		{req: &helloworldv1.SayHelloStreamRequest{Name: "Ada", Count: 1, IntervalMs: 10001}, wantField: "interval_ms"},
		{req: &helloworldv1.SayHelloStreamRequest{Name: "", Count: 1}, wantField: "name"},
	}
	for _, tt := range tests {
		call := fmt.Sprintf("client.SayHelloStream(%v)", tt.req)
		t.Run(call, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			got, err := collect(callContext(t), client, tt.req)
			elapsed := time.Since(start)
			if tt.wantField != "" {
				checkError(t, call, err, codes.InvalidArgument, "INVALID_REQUEST", tt.wantField)
				return
			}
			if err != nil {
				t.Fatalf("%s = %v after %d greetings, want %d greetings", call, err, len(got), tt.req.GetCount())
			}
			if len(got) != int(tt.req.GetCount()) {
				t.Fatalf("%s sent %d greetings, want %d", call, len(got), tt.req.GetCount())
			}
			for i, g := range got {
				if g.GetSequence() != uint32(i+1) || g.GetMessage() != "Hello, Ada!" {
					t.Errorf("%s greeting %d = %v, want sequence %d message %q", call, i, g, i+1, "Hello, Ada!")
				}
			}
			// count greetings have count-1 pauses between them.
			if minimum := time.Duration(tt.req.GetCount()-1) * time.Duration(tt.req.GetIntervalMs()) * time.Millisecond; elapsed < minimum {
				t.Errorf("%s took %v, want at least %v of pauses", call, elapsed, minimum)
			}
		})
	}
}

// collect reads a whole SayHelloStream.
func collect(ctx context.Context, client helloworldv1.GreeterServiceClient, req *helloworldv1.SayHelloStreamRequest) ([]*helloworldv1.SayHelloStreamResponse, error) {
	stream, err := client.SayHelloStream(ctx, req)
	if err != nil {
		return nil, err
	}
	var got []*helloworldv1.SayHelloStreamResponse
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		got = append(got, resp)
	}
}

// TestSayHelloStreamClientCancel proves the handler returns as soon as its
// client goes away, although it was asked for 1000 greetings 10 s apart: a
// handler that slept through the cancellation would hold its goroutine for
// hours. The stream interceptor sees the handler itself return.
func TestSayHelloStreamClientCancel(t *testing.T) {
	t.Parallel()
	ends := make(handlerEnds, 1)
	client, _ := startGreeter(t, grpcx.WithStreamInterceptors(ends.interceptor))

	ctx, cancel := context.WithCancel(callContext(t))
	defer cancel()
	stream, err := client.SayHelloStream(ctx, &helloworldv1.SayHelloStreamRequest{Name: "Ada", Count: 1000, IntervalMs: 10000})
	if err != nil {
		t.Fatalf("client.SayHelloStream() = %v", err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatalf("SayHelloStream Recv() = %v, want the first greeting", err)
	}
	start := time.Now()
	cancel() // the handler now waits out its 10 s pause
	if err := ends.wait(t, 5*time.Second); !errors.Is(err, context.Canceled) {
		t.Errorf("SayHelloStream handler returned %v after the client cancelled, want context.Canceled", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("SayHelloStream handler returned %v after the client cancelled, want promptly", elapsed)
	}
}

// TestSayHelloStreamDrain proves a paced stream does not hold a graceful
// shutdown for its grace period: the drain ends the handler at once and
// the client is told UNAVAILABLE SERVER_DRAINING, so it can reconnect.
func TestSayHelloStreamDrain(t *testing.T) {
	t.Parallel()
	client, stop := startGreeter(t, grpcx.WithShutdownGrace(time.Minute))
	stream, err := client.SayHelloStream(callContext(t), &helloworldv1.SayHelloStreamRequest{Name: "Ada", Count: 1000, IntervalMs: 10000})
	if err != nil {
		t.Fatalf("client.SayHelloStream() = %v", err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatalf("SayHelloStream Recv() = %v, want the first greeting", err)
	}

	start := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	_, err = stream.Recv()
	checkError(t, "SayHelloStream Recv() during shutdown", err, codes.Unavailable, "SERVER_DRAINING", "")
	if err := <-stopped; err != nil {
		t.Errorf("Server.Serve() = %v, want nil after a graceful stop", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("shutdown took %v during a paced stream, want far less than the 1m grace", elapsed)
	}
}
