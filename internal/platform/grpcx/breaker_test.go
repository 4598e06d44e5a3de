package grpcx_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	hellov1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

// breakerOpenTimeout is short so tests can wait it out.
const breakerOpenTimeout = 150 * time.Millisecond

// breakerOpts are the client options of the breaker tests: three failures
// open the circuit, and retries are off so one call is one attempt.
func breakerOpts(extra ...grpcx.ClientOption) []grpcx.ClientOption {
	return append([]grpcx.ClientOption{
		grpcx.WithRetryPolicy(grpcx.RetryPolicy{MaxAttempts: 1}),
		grpcx.WithBreaker(grpcx.BreakerSettings{ConsecutiveFailures: 3, OpenTimeout: breakerOpenTimeout}),
	}, extra...)
}

// breakerScripted is a hello func answering with whatever code is stored
// in code (codes.OK: success).
func breakerScripted(code *atomic.Uint32) func(context.Context, int64) error {
	return func(context.Context, int64) error {
		if c := codes.Code(code.Load()); c != codes.OK {
			return status.Error(c, "scripted "+c.String())
		}
		return nil
	}
}

// breakerTransitions records state changes.
type breakerTransitions struct {
	mu  sync.Mutex
	got []string
}

func (r *breakerTransitions) record(target, from, to string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, target+": "+from+" -> "+to)
}

func (r *breakerTransitions) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.got
	r.got = nil
	return got
}

// breakerCall calls SayHello and returns the error's details.
func breakerCall(t *testing.T, client hellov1.GreeterServiceClient) errs.Details {
	t.Helper()
	_, err := client.SayHello(t.Context(), &hellov1.SayHelloRequest{Name: "ann"})
	return errs.FromError(err)
}

// breakerWantOpen fails the test unless d is the breaker's fail-fast error.
func breakerWantOpen(t *testing.T, d errs.Details, state string) {
	t.Helper()
	if d.Code != codes.Unavailable || d.Reason != grpcx.ReasonCircuitOpen {
		t.Fatalf("client.SayHello(%q) = %v %q (reason %q), want code Unavailable, reason %s", "ann", d.Code, d.Message, d.Reason, grpcx.ReasonCircuitOpen)
	}
	wantMD := map[string]string{"target": clientTarget, "state": state}
	if diff := cmp.Diff(wantMD, d.Metadata); diff != "" {
		t.Errorf("CIRCUIT_OPEN metadata (-want +got):\n%s", diff)
	}
	if d.RetryDelay <= 0 || d.RetryDelay > breakerOpenTimeout {
		t.Errorf("CIRCUIT_OPEN retry delay = %v, want in (0, %v]", d.RetryDelay, breakerOpenTimeout)
	}
}

// breakerWantFromServer fails the test unless d is code c from the server
// itself (the call was not failed fast).
func breakerWantFromServer(t *testing.T, d errs.Details, c codes.Code) {
	t.Helper()
	if d.Code != c || d.Reason == grpcx.ReasonCircuitOpen {
		t.Fatalf("client.SayHello(%q) = %v (reason %q), want code %v from the server", "ann", d.Code, d.Reason, c)
	}
}

func TestBreakerOpensHalfOpensAndCloses(t *testing.T) {
	t.Parallel()
	var code atomic.Uint32
	code.Store(uint32(codes.Unavailable))
	g := &clientGreeter{hello: breakerScripted(&code)}
	var changes breakerTransitions
	client := clientConnect(t, g, breakerOpts(grpcx.WithBreakerStateChange(changes.record))...)

	// Three failures in a row open the circuit.
	for range 3 {
		breakerWantFromServer(t, breakerCall(t, client), codes.Unavailable)
	}
	// Open: the next call fails fast without reaching the server.
	start := time.Now()
	breakerWantOpen(t, breakerCall(t, client), "open")
	if took := time.Since(start); took > 50*time.Millisecond {
		t.Errorf("rejected call took %v, want it to fail fast", took)
	}
	if got := g.attempts.Load(); got != 3 {
		t.Fatalf("handler ran %d times, want 3 (the open circuit keeps calls off the network)", got)
	}

	// After OpenTimeout one trial call reaches the server; success closes.
	time.Sleep(breakerOpenTimeout + 50*time.Millisecond)
	code.Store(uint32(codes.OK))
	breakerWantFromServer(t, breakerCall(t, client), codes.OK)
	if got := g.attempts.Load(); got != 4 {
		t.Errorf("handler ran %d times, want 4 (one trial call)", got)
	}
	breakerWantFromServer(t, breakerCall(t, client), codes.OK)

	// Open it again; a failed trial re-opens it at once.
	code.Store(uint32(codes.Unavailable))
	for range 3 {
		breakerWantFromServer(t, breakerCall(t, client), codes.Unavailable)
	}
	breakerWantOpen(t, breakerCall(t, client), "open")
	time.Sleep(breakerOpenTimeout + 50*time.Millisecond)
	breakerWantFromServer(t, breakerCall(t, client), codes.Unavailable) // the trial
	breakerWantOpen(t, breakerCall(t, client), "open")
	if got := g.attempts.Load(); got != 9 {
		t.Errorf("handler ran %d times, want 9", got)
	}

	want := []string{
		clientTarget + ": closed -> open",
		clientTarget + ": open -> half-open",
		clientTarget + ": half-open -> closed",
		clientTarget + ": closed -> open",
		clientTarget + ": open -> half-open",
		clientTarget + ": half-open -> open",
	}
	if diff := cmp.Diff(want, changes.take()); diff != "" {
		t.Errorf("breaker state changes (-want +got):\n%s", diff)
	}
}

func TestBreakerCountsOnlyServerFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code     codes.Code
		wantOpen bool
	}{
		{codes.Unavailable, true},
		{codes.DeadlineExceeded, true},
		{codes.Internal, true},
		{codes.Unknown, true},
		{codes.DataLoss, true},
		{codes.InvalidArgument, false},
		{codes.NotFound, false},
		{codes.PermissionDenied, false},
		{codes.Unauthenticated, false},
		{codes.FailedPrecondition, false},
		{codes.ResourceExhausted, false},
		{codes.Unimplemented, false},
		{codes.Canceled, false},
	}
	for _, tt := range tests {
		t.Run(tt.code.String(), func(t *testing.T) {
			t.Parallel()
			g := &clientGreeter{hello: clientFailWith(tt.code)}
			client := clientConnect(t, g, breakerOpts()...)

			for range 3 {
				breakerWantFromServer(t, breakerCall(t, client), tt.code)
			}
			d := breakerCall(t, client)
			if tt.wantOpen {
				breakerWantOpen(t, d, "open")
				return
			}
			breakerWantFromServer(t, d, tt.code)
			if got := g.attempts.Load(); got != 4 {
				t.Errorf("handler ran %d times, want 4", got)
			}
		})
	}
}

// TestBreakerCallerEndsCall covers calls the caller ends: cancelling is
// neutral; a caller deadline passing counts as a failure (see
// BreakerSettings for why).
func TestBreakerCallerEndsCall(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		ctx      func(context.Context) (context.Context, context.CancelFunc)
		wantCode codes.Code
		wantOpen bool
	}{
		{
			name: "caller cancels",
			ctx: func(ctx context.Context) (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(ctx)
				time.AfterFunc(20*time.Millisecond, cancel)
				return ctx, cancel
			},
			wantCode: codes.Canceled,
		},
		{
			name: "caller's deadline passes",
			ctx: func(ctx context.Context) (context.Context, context.CancelFunc) {
				return context.WithTimeout(ctx, 20*time.Millisecond)
			},
			wantCode: codes.DeadlineExceeded, wantOpen: true,
		},
		{
			name: "caller's context already ended",
			ctx: func(ctx context.Context) (context.Context, context.CancelFunc) {
				return context.WithDeadline(ctx, time.Now().Add(-time.Second))
			},
			wantCode: codes.DeadlineExceeded,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client := clientConnect(t, &clientGreeter{hello: clientBlock}, breakerOpts()...)

			for range 3 {
				ctx, cancel := tt.ctx(t.Context())
				_, err := client.SayHello(ctx, &hellov1.SayHelloRequest{Name: "ann"})
				cancel()
				if status.Code(err) != tt.wantCode {
					t.Fatalf("client.SayHello(%q) = %v, want code %v", "ann", err, tt.wantCode)
				}
			}
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
			defer cancel()
			_, err := client.SayHello(ctx, &hellov1.SayHelloRequest{Name: "ann"})
			if open := errs.Reason(err) == grpcx.ReasonCircuitOpen; open != tt.wantOpen {
				t.Errorf("after 3 calls ending %v: client.SayHello(%q) = %v; circuit open: %v, want %v", tt.wantCode, "ann", err, open, tt.wantOpen)
			}
		})
	}
}

// TestBreakerCancelIsNeutral shows a cancelled call is not a success: it
// does not break a run of failures.
func TestBreakerCancelIsNeutral(t *testing.T) {
	t.Parallel()
	g := &clientGreeter{hello: func(ctx context.Context, attempt int64) error {
		if attempt == 3 {
			return clientBlock(ctx, attempt)
		}
		return status.Error(codes.Unavailable, "down")
	}}
	client := clientConnect(t, g, breakerOpts()...)

	for range 2 {
		breakerWantFromServer(t, breakerCall(t, client), codes.Unavailable)
	}
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err := client.SayHello(ctx, &hellov1.SayHelloRequest{Name: "ann"}); status.Code(err) != codes.Canceled {
		t.Fatalf("client.SayHello(%q) = %v, want code Canceled", "ann", err)
	}
	breakerWantFromServer(t, breakerCall(t, client), codes.Unavailable) // the third failure in a row
	breakerWantOpen(t, breakerCall(t, client), "open")
}

// TestBreakerHalfOpenLimit shows a half-open circuit letting one trial
// through and failing the calls beside it fast.
func TestBreakerHalfOpenLimit(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	g := &clientGreeter{hello: func(ctx context.Context, attempt int64) error {
		switch {
		case attempt <= 3:
			return status.Error(codes.Unavailable, "down")
		case attempt == 4: // the trial: hold it until the test has probed
			close(entered)
			select {
			case <-release:
			case <-ctx.Done():
				return status.FromContextError(ctx.Err()).Err()
			}
		}
		return nil
	}}
	client := clientConnect(t, g, breakerOpts()...)
	for range 3 {
		breakerWantFromServer(t, breakerCall(t, client), codes.Unavailable)
	}
	time.Sleep(breakerOpenTimeout + 50*time.Millisecond)

	trial := make(chan error, 1)
	go func() {
		_, err := client.SayHello(t.Context(), &hellov1.SayHelloRequest{Name: "trial"})
		trial <- err
	}()
	<-entered
	breakerWantOpen(t, breakerCall(t, client), "half-open")
	close(release)
	if err := <-trial; err != nil {
		t.Fatalf("client.SayHello(%q) = %v, want nil", "trial", err)
	}
	breakerWantFromServer(t, breakerCall(t, client), codes.OK) // closed again
}

func TestBreakerStreams(t *testing.T) {
	t.Parallel()
	var code atomic.Uint32
	code.Store(uint32(codes.Unavailable))
	g := &clientGreeter{stream: func(_ *hellov1.SayHelloStreamRequest, s grpc.ServerStreamingServer[hellov1.SayHelloStreamResponse]) error {
		if c := codes.Code(code.Load()); c != codes.OK {
			return status.Error(c, "scripted")
		}
		return s.Send(&hellov1.SayHelloStreamResponse{Message: "hello", Sequence: 1})
	}}
	client := clientConnect(t, g, breakerOpts()...)
	// open opens a stream and returns its first Recv's error.
	open := func() error {
		stream, err := client.SayHelloStream(t.Context(), &hellov1.SayHelloStreamRequest{Name: "ann", Count: 1})
		if err != nil {
			return err
		}
		_, err = stream.Recv()
		return err
	}

	// Streams whose first Recv fails count as failures.
	for range 3 {
		if err := open(); status.Code(err) != codes.Unavailable || errs.Reason(err) == grpcx.ReasonCircuitOpen {
			t.Fatalf("stream.Recv() = %v, want code Unavailable from the server", err)
		}
	}
	// Open: opening a stream fails fast.
	_, err := client.SayHelloStream(t.Context(), &hellov1.SayHelloStreamRequest{Name: "ann", Count: 1})
	if errs.Reason(err) != grpcx.ReasonCircuitOpen {
		t.Fatalf("client.SayHelloStream(%q) = %v, want reason %s", "ann", err, grpcx.ReasonCircuitOpen)
	}
	if got := g.attempts.Load(); got != 3 {
		t.Errorf("stream handler ran %d times, want 3", got)
	}

	// A trial stream whose first message arrives closes the circuit.
	time.Sleep(breakerOpenTimeout + 50*time.Millisecond)
	code.Store(uint32(codes.OK))
	for range 2 {
		if err := open(); err != nil {
			t.Fatalf("stream.Recv() = %v, want a message", err)
		}
	}
}

// TestBreakerQuietTrialStream shows that a half-open breaker does not wait
// forever on a trial stream that never sends: after OpenTimeout the stream
// counts as a success and the circuit closes.
func TestBreakerQuietTrialStream(t *testing.T) {
	t.Parallel()
	var failing atomic.Bool
	failing.Store(true)
	g := &clientGreeter{
		hello: func(context.Context, int64) error {
			if failing.Load() {
				return status.Error(codes.Unavailable, "down")
			}
			return nil
		},
		stream: func(_ *hellov1.SayHelloStreamRequest, s grpc.ServerStreamingServer[hellov1.SayHelloStreamResponse]) error {
			<-s.Context().Done() // a subscription with nothing to say
			return nil
		},
	}
	client := clientConnect(t, g, breakerOpts()...)
	for range 3 {
		breakerWantFromServer(t, breakerCall(t, client), codes.Unavailable)
	}
	time.Sleep(breakerOpenTimeout + 50*time.Millisecond)
	failing.Store(false)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if _, err := client.SayHelloStream(ctx, &hellov1.SayHelloStreamRequest{Name: "quiet"}); err != nil {
		t.Fatalf("client.SayHelloStream(%q) = %v, want nil (the trial)", "quiet", err)
	}
	breakerWantOpen(t, breakerCall(t, client), "half-open")

	time.Sleep(breakerOpenTimeout + 50*time.Millisecond)
	breakerWantFromServer(t, breakerCall(t, client), codes.OK)
}

func TestBreakerMetrics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	client := clientConnect(t, &clientGreeter{hello: clientFailWith(codes.Unavailable)}, breakerOpts(grpcx.WithBreakerMetrics(reg))...)
	// A second client on the same registry shares the collectors.
	_ = clientConnect(t, &clientGreeter{}, grpcx.WithBreakerMetrics(reg))

	for range 3 {
		breakerWantFromServer(t, breakerCall(t, client), codes.Unavailable)
	}
	for range 2 {
		breakerWantOpen(t, breakerCall(t, client), "open")
	}
	want := `
# HELP bazaar_grpc_client_breaker_rejected_total Calls the circuit breaker failed fast with CIRCUIT_OPEN, per target.
# TYPE bazaar_grpc_client_breaker_rejected_total counter
bazaar_grpc_client_breaker_rejected_total{target="passthrough:///bufnet"} 2
# HELP bazaar_grpc_client_breaker_state Circuit breaker state per target: 0 closed, 1 half-open, 2 open.
# TYPE bazaar_grpc_client_breaker_state gauge
bazaar_grpc_client_breaker_state{target="passthrough:///bufnet"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

func TestBreakerOff(t *testing.T) {
	t.Parallel()
	g := &clientGreeter{hello: clientFailWith(codes.Unavailable)}
	client := clientConnect(t, g, grpcx.WithRetryPolicy(grpcx.RetryPolicy{MaxAttempts: 1}), grpcx.WithoutBreaker())

	for range 10 {
		breakerWantFromServer(t, breakerCall(t, client), codes.Unavailable)
	}
	if got := g.attempts.Load(); got != 10 {
		t.Errorf("handler ran %d times, want 10", got)
	}
}
