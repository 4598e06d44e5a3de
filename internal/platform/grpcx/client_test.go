package grpcx_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	hellov1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
	"github.com/bazaarhq/bazaar/internal/platform/obs"
)

func TestClientRetries(t *testing.T) {
	t.Parallel()
	unavailableTwice := func(_ context.Context, attempt int64) error {
		if attempt <= 2 {
			return status.Error(codes.Unavailable, "warming up")
		}
		return nil
	}
	tests := []struct {
		name         string
		hello        func(context.Context, int64) error
		opts         []grpcx.ClientOption
		wantCode     codes.Code
		wantAttempts int64
		wantEffects  int64
	}{
		{name: "unavailable twice then ok", hello: unavailableTwice, wantCode: codes.OK, wantAttempts: 3, wantEffects: 1},
		{
			name:  "unavailable twice then ok, method with its own timeout",
			hello: unavailableTwice,
			opts:  []grpcx.ClientOption{grpcx.WithMethodTimeout(hellov1.GreeterService_SayHello_FullMethodName, 5*time.Second)},
			// A per-method entry must repeat the retry policy: grpc-go does
			// not merge method configs.
			wantCode: codes.OK, wantAttempts: 3, wantEffects: 1,
		},
		{name: "unavailable always", hello: clientFailWith(codes.Unavailable), wantCode: codes.Unavailable, wantAttempts: 3},
		{name: "invalid argument", hello: clientFailWith(codes.InvalidArgument), wantCode: codes.InvalidArgument, wantAttempts: 1},
		{name: "internal", hello: clientFailWith(codes.Internal), wantCode: codes.Internal, wantAttempts: 1},
		{
			name:     "retries disabled",
			hello:    clientFailWith(codes.Unavailable),
			opts:     []grpcx.ClientOption{grpcx.WithRetryPolicy(grpcx.RetryPolicy{MaxAttempts: 1})},
			wantCode: codes.Unavailable, wantAttempts: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := &clientGreeter{hello: tt.hello}
			client := clientConnect(t, g, tt.opts...)

			_, err := client.SayHello(t.Context(), &hellov1.SayHelloRequest{Name: "ann"})
			if status.Code(err) != tt.wantCode {
				t.Errorf("client.SayHello(%q) = %v, want code %v", "ann", err, tt.wantCode)
			}
			if got := g.attempts.Load(); got != tt.wantAttempts {
				t.Errorf("handler ran %d times, want %d", got, tt.wantAttempts)
			}
			if got := g.effects.Load(); got != tt.wantEffects {
				t.Errorf("effect applied %d times, want %d", got, tt.wantEffects)
			}
		})
	}
}

// TestClientRetryThrottling shows retry throttling keeping a downstream that
// fails every call from seeing three times the load: once the token bucket
// (10 tokens, retries stop at 5 or fewer) has drained, each call makes one
// attempt.
func TestClientRetryThrottling(t *testing.T) {
	t.Parallel()
	g := &clientGreeter{hello: clientFailWith(codes.Unavailable)}
	client := clientConnect(t, g, grpcx.WithoutBreaker()) // the breaker would stop the calls itself

	const calls = 20
	for i := range calls {
		if i == calls-10 {
			g.attempts.Store(0)
		}
		if _, err := client.SayHello(t.Context(), &hellov1.SayHelloRequest{Name: "ann"}); status.Code(err) != codes.Unavailable {
			t.Fatalf("client.SayHello(%q) = %v, want code Unavailable", "ann", err)
		}
	}
	if got := g.attempts.Load(); got != 10 {
		t.Errorf("the last 10 calls made %d attempts, want 10 (no retries once throttled)", got)
	}
}

// TestClientRetryThrottlingTotal bounds the total: 3 + 2 + 1 + 1 + … with
// the default bucket, against 3 per call unthrottled.
func TestClientRetryThrottlingTotal(t *testing.T) {
	t.Parallel()
	g := &clientGreeter{hello: clientFailWith(codes.Unavailable)}
	client := clientConnect(t, g, grpcx.WithoutBreaker())

	const calls = 20
	for range calls {
		_, _ = client.SayHello(t.Context(), &hellov1.SayHelloRequest{Name: "ann"})
	}
	got := g.attempts.Load()
	if got <= calls || got > calls+5 {
		t.Errorf("%d failing calls made %d attempts, want in (%d, %d] (unthrottled: %d)", calls, got, calls, calls+5, 3*calls)
	}
	t.Logf("%d calls to a downstream failing 100%% with UNAVAILABLE: %d attempts", calls, got)
}

func TestClientDefaultDeadline(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		opts           []grpcx.ClientOption
		callerTimeout  time.Duration // 0: the caller sets no deadline
		wantRemainHigh time.Duration
	}{
		{name: "no caller deadline gets the default of 10s", wantRemainHigh: 10 * time.Second},
		{name: "no caller deadline gets WithDefaultTimeout", opts: []grpcx.ClientOption{grpcx.WithDefaultTimeout(3 * time.Second)}, wantRemainHigh: 3 * time.Second},
		{name: "caller's shorter deadline kept", opts: []grpcx.ClientOption{grpcx.WithDefaultTimeout(3 * time.Second)}, callerTimeout: time.Second, wantRemainHigh: time.Second},
		{name: "caller's longer deadline kept", opts: []grpcx.ClientOption{grpcx.WithDefaultTimeout(3 * time.Second)}, callerTimeout: 20 * time.Second, wantRemainHigh: 20 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			deadlines := make(chan clientDeadline, 1)
			g := &clientGreeter{hello: func(ctx context.Context, _ int64) error {
				deadlines <- clientDeadlineOf(ctx)
				return nil
			}}
			client := clientConnect(t, g, tt.opts...)
			ctx := t.Context()
			if tt.callerTimeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.callerTimeout)
				defer cancel()
			}

			if _, err := client.SayHello(ctx, &hellov1.SayHelloRequest{Name: "ann"}); err != nil {
				t.Fatalf("client.SayHello(%q) = %v, want nil", "ann", err)
			}
			d := <-deadlines
			if !d.ok {
				t.Fatal("handler saw no deadline, want one on every unary call")
			}
			if lo := tt.wantRemainHigh - time.Second; !clientWithin(d.remain, lo, tt.wantRemainHigh) {
				t.Errorf("handler saw %v left, want in [%v, %v]", d.remain, lo, tt.wantRemainHigh)
			}
		})
	}
}

func TestClientMethodTimeout(t *testing.T) {
	t.Parallel()
	const sayHello = hellov1.GreeterService_SayHello_FullMethodName
	slow := func(d time.Duration) func(context.Context, int64) error {
		return func(ctx context.Context, _ int64) error {
			select {
			case <-time.After(d):
				return nil
			case <-ctx.Done():
				return status.FromContextError(ctx.Err()).Err()
			}
		}
	}
	tests := []struct {
		name          string
		opts          []grpcx.ClientOption
		callerTimeout time.Duration
		handlerTakes  time.Duration
		wantCode      codes.Code
		wantMin       time.Duration // the call takes at least this
		wantMax       time.Duration // and at most this
	}{
		{
			name:         "method timeout cuts a slow call, not the default",
			opts:         []grpcx.ClientOption{grpcx.WithDefaultTimeout(5 * time.Second), grpcx.WithMethodTimeout(sayHello, 150*time.Millisecond)},
			handlerTakes: time.Minute, wantCode: codes.DeadlineExceeded, wantMin: 150 * time.Millisecond, wantMax: 3 * time.Second,
		},
		{
			name: "service-wide timeout",
			opts: []grpcx.ClientOption{
				grpcx.WithDefaultTimeout(5 * time.Second),
				grpcx.WithMethodTimeout("/bazaar.examples.helloworld.v1.GreeterService/", 150*time.Millisecond),
			},
			handlerTakes: time.Minute, wantCode: codes.DeadlineExceeded, wantMin: 150 * time.Millisecond, wantMax: 3 * time.Second,
		},
		{
			name:          "caller's longer deadline cut to the method timeout",
			opts:          []grpcx.ClientOption{grpcx.WithMethodTimeout(sayHello, 150*time.Millisecond)},
			callerTimeout: 5 * time.Second,
			handlerTakes:  time.Minute, wantCode: codes.DeadlineExceeded, wantMin: 150 * time.Millisecond, wantMax: 3 * time.Second,
		},
		{
			name:         "method timeout longer than the default",
			opts:         []grpcx.ClientOption{grpcx.WithDefaultTimeout(100 * time.Millisecond), grpcx.WithMethodTimeout(sayHello, 5*time.Second)},
			handlerTakes: 300 * time.Millisecond, wantCode: codes.OK, wantMin: 300 * time.Millisecond, wantMax: 5 * time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client := clientConnect(t, &clientGreeter{hello: slow(tt.handlerTakes)}, tt.opts...)
			ctx := t.Context()
			if tt.callerTimeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.callerTimeout)
				defer cancel()
			}

			start := time.Now()
			_, err := client.SayHello(ctx, &hellov1.SayHelloRequest{Name: "ann"})
			took := time.Since(start)
			if status.Code(err) != tt.wantCode {
				t.Errorf("client.SayHello(%q) = %v, want code %v", "ann", err, tt.wantCode)
			}
			if !clientWithin(took, tt.wantMin, tt.wantMax) {
				t.Errorf("client.SayHello(%q) took %v, want in [%v, %v]", "ann", took, tt.wantMin, tt.wantMax)
			}
		})
	}
}

func TestClientRequestID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ctx  func(context.Context) context.Context
		want []string
	}{
		{name: "id in context is sent", ctx: func(ctx context.Context) context.Context { return obs.WithRequestID(ctx, "abc") }, want: []string{"abc"}},
		{name: "no id, no header", ctx: func(ctx context.Context) context.Context { return ctx }},
		{
			name: "caller's own header wins",
			ctx: func(ctx context.Context) context.Context {
				ctx = metadata.AppendToOutgoingContext(ctx, obs.RequestIDHeader, "explicit")
				return obs.WithRequestID(ctx, "abc")
			},
			want: []string{"explicit"},
		},
		{name: "invalid id dropped", ctx: func(ctx context.Context) context.Context { return obs.WithRequestID(ctx, "a b\n") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ids := make(chan []string, 1)
			g := &clientGreeter{hello: func(ctx context.Context, _ int64) error {
				md, _ := metadata.FromIncomingContext(ctx)
				ids <- md.Get(obs.RequestIDHeader)
				return nil
			}}
			client := clientConnect(t, g)

			if _, err := client.SayHello(tt.ctx(t.Context()), &hellov1.SayHelloRequest{Name: "ann"}); err != nil {
				t.Fatalf("client.SayHello(%q) = %v, want nil", "ann", err)
			}
			if diff := cmp.Diff(tt.want, <-ids); diff != "" {
				t.Errorf("x-request-id the server saw (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClientStream(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		opts          []grpcx.ClientOption
		callerTimeout time.Duration
		wantDeadline  time.Duration // 0: none
	}{
		{name: "no deadline by default: streams may be long-lived"},
		{name: "WithDefaultStreamTimeout", opts: []grpcx.ClientOption{grpcx.WithDefaultStreamTimeout(2 * time.Second)}, wantDeadline: 2 * time.Second},
		{name: "caller's deadline kept", opts: []grpcx.ClientOption{grpcx.WithDefaultStreamTimeout(2 * time.Second)}, callerTimeout: 5 * time.Second, wantDeadline: 5 * time.Second},
		{
			name:         "per-method timeout applies to streams",
			opts:         []grpcx.ClientOption{grpcx.WithMethodTimeout(hellov1.GreeterService_SayHelloStream_FullMethodName, 3*time.Second)},
			wantDeadline: 3 * time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			deadlines, ids := make(chan clientDeadline, 1), make(chan []string, 1)
			g := &clientGreeter{stream: func(r *hellov1.SayHelloStreamRequest, s grpc.ServerStreamingServer[hellov1.SayHelloStreamResponse]) error {
				deadlines <- clientDeadlineOf(s.Context())
				md, _ := metadata.FromIncomingContext(s.Context())
				ids <- md.Get(obs.RequestIDHeader)
				for i := uint32(1); i <= r.GetCount(); i++ {
					if err := s.Send(&hellov1.SayHelloStreamResponse{Message: "hello", Sequence: i}); err != nil {
						return err
					}
				}
				return nil
			}}
			client := clientConnect(t, g, tt.opts...)
			ctx := obs.WithRequestID(t.Context(), "stream-1")
			if tt.callerTimeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.callerTimeout)
				defer cancel()
			}

			stream, err := client.SayHelloStream(ctx, &hellov1.SayHelloStreamRequest{Name: "ann", Count: 3})
			if err != nil {
				t.Fatalf("client.SayHelloStream(%q) = %v, want nil", "ann", err)
			}
			var seqs []uint32
			for {
				m, err := stream.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("stream.Recv() = %v, want a message or io.EOF", err)
				}
				seqs = append(seqs, m.GetSequence())
			}
			if diff := cmp.Diff([]uint32{1, 2, 3}, seqs); diff != "" {
				t.Errorf("sequences received (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"stream-1"}, <-ids); diff != "" {
				t.Errorf("x-request-id the server saw (-want +got):\n%s", diff)
			}
			switch d := <-deadlines; {
			case tt.wantDeadline == 0 && d.ok:
				t.Errorf("handler saw a deadline %v away, want none", d.remain)
			case tt.wantDeadline > 0 && !d.ok:
				t.Errorf("handler saw no deadline, want one %v away", tt.wantDeadline)
			case tt.wantDeadline > 0 && !clientWithin(d.remain, tt.wantDeadline-time.Second, tt.wantDeadline):
				t.Errorf("handler saw %v left, want in [%v, %v]", d.remain, tt.wantDeadline-time.Second, tt.wantDeadline)
			}
		})
	}
}

func TestClientTracing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		opts            func(*sdktrace.TracerProvider) []grpcx.ClientOption
		wantClientSpans int
		wantPropagated  bool
	}{
		{name: "default: no tracing handler", opts: func(*sdktrace.TracerProvider) []grpcx.ClientOption { return nil }},
		{
			name: "WithTracerProvider records a client span and propagates it",
			opts: func(tp *sdktrace.TracerProvider) []grpcx.ClientOption {
				return []grpcx.ClientOption{grpcx.WithTracerProvider(tp)}
			},
			wantClientSpans: 1, wantPropagated: true,
		},
		{
			name: "WithPropagator alone propagates the caller's span",
			opts: func(*sdktrace.TracerProvider) []grpcx.ClientOption {
				return []grpcx.ClientOption{grpcx.WithPropagator(propagation.TraceContext{})}
			},
			wantPropagated: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			traceparents := make(chan []string, 1)
			g := &clientGreeter{hello: func(ctx context.Context, _ int64) error {
				md, _ := metadata.FromIncomingContext(ctx)
				traceparents <- md.Get("traceparent")
				return nil
			}}
			client := clientConnect(t, g, tt.opts(tp)...)

			ctx, span := tp.Tracer("test").Start(t.Context(), "caller")
			_, err := client.SayHello(ctx, &hellov1.SayHelloRequest{Name: "ann"})
			span.End()
			if err != nil {
				t.Fatalf("client.SayHello(%q) = %v, want nil", "ann", err)
			}
			if got := len(rec.Ended()) - 1; got != tt.wantClientSpans { // minus the caller's span
				t.Errorf("client spans recorded = %d, want %d", got, tt.wantClientSpans)
			}
			traceID, traceparent := span.SpanContext().TraceID().String(), <-traceparents
			propagated := len(traceparent) == 1 && strings.Contains(traceparent[0], traceID)
			if propagated != tt.wantPropagated {
				t.Errorf("traceparent the server saw = %q; carries trace %s: %v, want %v", traceparent, traceID, propagated, tt.wantPropagated)
			}
		})
	}
}

func TestClientMetrics(t *testing.T) {
	t.Parallel()
	m := grpcprom.NewClientMetrics()
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	client := clientConnect(t, &clientGreeter{}, grpcx.WithClientMetrics(m))

	if _, err := client.SayHello(t.Context(), &hellov1.SayHelloRequest{Name: "ann"}); err != nil {
		t.Fatalf("client.SayHello(%q) = %v, want nil", "ann", err)
	}
	want := `
# HELP grpc_client_handled_total Total number of RPCs completed by the client, regardless of success or failure.
# TYPE grpc_client_handled_total counter
grpc_client_handled_total{grpc_code="OK",grpc_method="SayHello",grpc_service="bazaar.examples.helloworld.v1.GreeterService",grpc_type="unary"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "grpc_client_handled_total"); err != nil {
		t.Error(err)
	}
}

func TestClientMessageSize(t *testing.T) {
	t.Parallel()
	client := clientConnect(t, &clientGreeter{}, grpcx.WithMaxMessageSize(1024))

	_, err := client.SayHello(t.Context(), &hellov1.SayHelloRequest{Name: strings.Repeat("x", 2048)})
	if status.Code(err) != codes.ResourceExhausted {
		t.Errorf("client.SayHello(<2 KiB name>) = %v, want code ResourceExhausted", err)
	}
	if _, err := client.SayHello(t.Context(), &hellov1.SayHelloRequest{Name: "ann"}); err != nil {
		t.Errorf("client.SayHello(%q) = %v, want nil", "ann", err)
	}
}

func TestClientInterceptorsInnermost(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		saw []string
	)
	record := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		_, hasDeadline := ctx.Deadline()
		md, _ := metadata.FromOutgoingContext(ctx)
		mu.Lock()
		saw = append(saw, method)
		mu.Unlock()
		if !hasDeadline || len(md.Get(obs.RequestIDHeader)) != 1 {
			t.Errorf("caller interceptor saw deadline %v, metadata %v; want a deadline and x-request-id (it runs inside Bazaar's)", hasDeadline, md)
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	client := clientConnect(t, &clientGreeter{}, grpcx.WithClientUnaryInterceptors(record))

	if _, err := client.SayHello(obs.WithRequestID(t.Context(), "abc"), &hellov1.SayHelloRequest{Name: "ann"}); err != nil {
		t.Fatalf("client.SayHello(%q) = %v, want nil", "ann", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]string{hellov1.GreeterService_SayHello_FullMethodName}, saw); diff != "" {
		t.Errorf("calls the caller interceptor saw (-want +got):\n%s", diff)
	}
}

func TestNewClientRejectsInvalidOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opt  grpcx.ClientOption
	}{
		{"zero max attempts", grpcx.WithRetryPolicy(grpcx.RetryPolicy{})},
		{"max attempts above grpc's cap", grpcx.WithRetryPolicy(grpcx.RetryPolicy{MaxAttempts: 6, InitialBackoff: time.Millisecond, MaxBackoff: time.Second, Multiplier: 2})},
		{"no backoff", grpcx.WithRetryPolicy(grpcx.RetryPolicy{MaxAttempts: 3, MaxBackoff: time.Second, Multiplier: 2})},
		{"max backoff below initial", grpcx.WithRetryPolicy(grpcx.RetryPolicy{MaxAttempts: 3, InitialBackoff: time.Second, MaxBackoff: time.Millisecond, Multiplier: 2})},
		{"no multiplier", grpcx.WithRetryPolicy(grpcx.RetryPolicy{MaxAttempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: time.Second})},
		{"throttling without ratio", grpcx.WithRetryThrottling(10, 0)},
		{"throttling above 1000 tokens", grpcx.WithRetryThrottling(1001, 0.1)},
		{"no default timeout", grpcx.WithDefaultTimeout(0)},
		{"negative stream timeout", grpcx.WithDefaultStreamTimeout(-time.Second)},
		{"empty method name", grpcx.WithMethodTimeout("", time.Second)},
		{"method name with three parts", grpcx.WithMethodTimeout("/a.B/C/D", time.Second)},
		{"zero method timeout", grpcx.WithMethodTimeout(hellov1.GreeterService_SayHello_FullMethodName, 0)},
		{"zero message size", grpcx.WithMaxMessageSize(0)},
		{"nil credentials", grpcx.WithTransportCredentials(nil)},
		{"negative open timeout", grpcx.WithBreaker(grpcx.BreakerSettings{OpenTimeout: -time.Second})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cc, err := grpcx.NewClient(clientTarget, tt.opt)
			if err == nil {
				_ = cc.Close()
				t.Errorf("grpcx.NewClient(%q, <%s>) = nil error, want one", clientTarget, tt.name)
			}
		})
	}
}

func TestNewClientAcceptsValidOptions(t *testing.T) {
	t.Parallel()
	cc, err := grpcx.NewClient("dns:///catalog.bazaar.svc:8443",
		grpcx.WithTransportCredentials(insecure.NewCredentials()),
		grpcx.WithRetryPolicy(grpcx.RetryPolicy{MaxAttempts: 5, InitialBackoff: 50 * time.Millisecond, MaxBackoff: 2 * time.Second, Multiplier: 1.5}),
		grpcx.WithRetryThrottling(100, 0.5),
		grpcx.WithMethodTimeout(hellov1.GreeterService_SayHello_FullMethodName, 1500*time.Millisecond),
		grpcx.WithMethodTimeout("bazaar.examples.helloworld.v1.GreeterService", 3*time.Second),
		grpcx.WithDefaultTimeout(2*time.Second),
		grpcx.WithDefaultStreamTimeout(time.Minute),
		grpcx.WithBreaker(grpcx.BreakerSettings{ConsecutiveFailures: 10, Interval: time.Minute}),
		grpcx.WithMaxMessageSize(1<<20),
	)
	if err != nil {
		t.Fatalf("grpcx.NewClient(dns target, valid options) = %v, want nil", err)
	}
	if err := cc.Close(); err != nil {
		t.Errorf("cc.Close() = %v, want nil", err)
	}
}

func ExampleNewClient() {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer()
	hellov1.RegisterGreeterServiceServer(srv, &clientGreeter{})
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	// One ClientConn per target, created at startup and shared.
	cc, err := grpcx.NewClient(lis.Addr().String(),
		grpcx.WithDefaultTimeout(2*time.Second),
		grpcx.WithMethodTimeout(hellov1.GreeterService_SayHello_FullMethodName, time.Second),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = cc.Close() }()

	// No deadline here: the client gives the call SayHello's 1 s.
	resp, err := hellov1.NewGreeterServiceClient(cc).SayHello(context.Background(), &hellov1.SayHelloRequest{Name: "ann"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.GetMessage())
	// Output: hello ann
}

func ExampleWithBreaker() {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer()
	hellov1.RegisterGreeterServiceServer(srv, &clientGreeter{hello: clientFailWith(codes.Unavailable)})
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	cc, err := grpcx.NewClient(lis.Addr().String(),
		grpcx.WithBreaker(grpcx.BreakerSettings{ConsecutiveFailures: 2, OpenTimeout: time.Minute}),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = cc.Close() }()
	client := hellov1.NewGreeterServiceClient(cc)

	for range 3 {
		_, err := client.SayHello(context.Background(), &hellov1.SayHelloRequest{Name: "ann"})
		d := errs.FromError(err)
		fmt.Printf("%v reason=%q retry in <= 1m: %v\n", d.Code, d.Reason, d.RetryDelay > 0 && d.RetryDelay <= time.Minute)
	}
	// Output:
	// Unavailable reason="" retry in <= 1m: false
	// Unavailable reason="" retry in <= 1m: false
	// Unavailable reason="CIRCUIT_OPEN" retry in <= 1m: true
}

// BenchmarkClientUnary compares one unary call through NewClient's full
// stack (default deadline, request id, breaker, service config with
// retries) with a bare grpc.NewClient, against the same in-process server.
func BenchmarkClientUnary(b *testing.B) {
	dialer := clientServe(b, &clientGreeter{})
	bare, err := grpc.NewClient(clientTarget, dialer, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = bare.Close() })
	stack, err := grpcx.NewClient(clientTarget, grpcx.WithDialOptions(dialer))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = stack.Close() })

	for _, bc := range []struct {
		name      string
		cc        *grpc.ClientConn
		requestID string
	}{
		{"bare", bare, ""},
		{"grpcx", stack, ""},
		{"grpcx+request-id", stack, "0123456789abcdef"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			client := hellov1.NewGreeterServiceClient(bc.cc)
			req := &hellov1.SayHelloRequest{Name: "ann"}
			ctx := b.Context()
			if bc.requestID != "" {
				ctx = obs.WithRequestID(ctx, bc.requestID)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := client.SayHello(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
