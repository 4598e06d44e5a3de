package ratelimit_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/reflect/protoreflect"

	hellov1 "github.com/bazaarhq/bazaar/gen/bazaar/examples/helloworld/v1"
	identityv1 "github.com/bazaarhq/bazaar/gen/bazaar/identity/v1"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/ratelimit"
)

const (
	sayHello       = "/bazaar.examples.helloworld.v1.GreeterService/SayHello"
	sayHelloStream = "/bazaar.examples.helloworld.v1.GreeterService/SayHelloStream"
	login          = "/bazaar.identity.v1.IdentityService/Login"
	getMe          = "/bazaar.identity.v1.IdentityService/GetMe"
)

// newLimiter returns a limiter on a stopped clock: budgets of 1 token a
// second and bursts of 10, so that each caller has exactly 10 calls.
func newLimiter(t *testing.T, opts ...ratelimit.Option) *ratelimit.Limiter {
	t.Helper()
	l, err := ratelimit.New(append([]ratelimit.Option{
		ratelimit.WithRate(1, 10), ratelimit.WithAnonymousRate(1, 10), ratelimit.WithClock(newFakeClock().Now),
	}, opts...)...)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	return l
}

// sayHelloN calls SayHello n times in ctx and returns how many calls were
// refused RESOURCE_EXHAUSTED; any other failure fails the test.
func sayHelloN(t *testing.T, ctx context.Context, c hellov1.GreeterServiceClient, n int) (refused int) {
	t.Helper()
	for range n {
		_, err := c.SayHello(ctx, &hellov1.SayHelloRequest{Name: "ada"})
		switch code := errs.FromError(err).Code; code {
		case codes.OK:
		case codes.ResourceExhausted:
			refused++
		default:
			t.Fatalf("SayHello() = %v, want OK or ResourceExhausted", err)
		}
	}
	return refused
}

// TestIsolation: a caller that spends its budget is refused; nobody else
// notices.
func TestIsolation(t *testing.T) {
	t.Parallel()
	s := startServer(t, newLimiter(t))
	ctx := rpcContext(t)

	if refused := sayHelloN(t, as(ctx, "a"), s.hello, 15); refused != 5 {
		t.Errorf("user a: %d of 15 calls refused, want 5 (burst 10)", refused)
	}
	if refused := sayHelloN(t, as(ctx, "b"), s.hello, 10); refused != 0 {
		t.Errorf("user b: %d of 10 calls refused after user a spent its budget, want 0", refused)
	}
	if refused := sayHelloN(t, ctx, s.hello, 10); refused != 0 {
		t.Errorf("anonymous: %d of 10 calls refused after user a spent its budget, want 0", refused)
	}
	if refused := sayHelloN(t, as(ctx, "a"), s.hello, 1); refused != 1 {
		t.Errorf("user a: a call after the others was admitted, want refused")
	}
	if got := s.greeter.calls.Load(); got != 30 {
		t.Errorf("the handler ran %d times, want 30: a refused call must not reach it", got)
	}
}

func TestRefusal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		user        string // "" for anonymous
		stream      bool
		wantSubject string
	}{
		{"unary, principal", "a", false, "principal"},
		{"unary, anonymous", "", false, "anonymous"},
		{"stream, principal", "a", true, "principal"},
		{"stream, anonymous", "", true, "anonymous"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// 4 tokens a second: a refused call waits 250 ms.
			l, err := ratelimit.New(ratelimit.WithRate(4, 10), ratelimit.WithAnonymousRate(4, 10),
				ratelimit.WithClock(newFakeClock().Now))
			if err != nil {
				t.Fatalf("New() = %v", err)
			}
			s := startServer(t, l)
			ctx := rpcContext(t)
			if tc.user != "" {
				ctx = as(ctx, tc.user)
			}
			sayHelloN(t, ctx, s.hello, 10)

			var trailer metadata.MD
			var err2 error
			if tc.stream {
				stream, err := s.hello.SayHelloStream(ctx, &hellov1.SayHelloStreamRequest{Name: "ada", Count: 1})
				if err != nil {
					t.Fatalf("SayHelloStream() = %v", err)
				}
				_, err2 = stream.Recv()
				trailer = stream.Trailer()
			} else {
				_, err2 = s.hello.SayHello(ctx, &hellov1.SayHelloRequest{Name: "ada"}, grpc.Trailer(&trailer))
			}

			d := errs.FromError(err2)
			if d.Code != codes.ResourceExhausted || d.Reason != "RATE_LIMITED" || d.Domain != errs.Domain {
				t.Fatalf("11th call = %v, want ResourceExhausted RATE_LIMITED (%s)", d, errs.Domain)
			}
			if d.RetryDelay != 250*time.Millisecond {
				t.Errorf("RetryInfo delay = %v, want 250ms", d.RetryDelay)
			}
			if len(d.Quota) != 1 {
				t.Fatalf("QuotaFailure violations = %v, want one", d.Quota)
			}
			if got := d.Quota[0].GetSubject(); got != tc.wantSubject {
				t.Errorf("QuotaFailure subject = %q, want %q", got, tc.wantSubject)
			}
			if got, want := d.Quota[0].GetDescription(), "4 calls per second per caller, bursts of 10; this method costs 1"; !strings.Contains(got, want) {
				t.Errorf("QuotaFailure description = %q, want it to contain %q", got, want)
			}
			if got := trailer.Get(ratelimit.PushbackTrailer); len(got) != 1 || got[0] != "250" {
				t.Errorf("trailer %s = %q, want [\"250\"]", ratelimit.PushbackTrailer, got)
			}
		})
	}
}

// TestCost reads the costs the identity contract declares.
func TestCost(t *testing.T) {
	t.Parallel()
	l, err := ratelimit.New()
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	for _, tc := range []struct {
		method string
		want   int
	}{
		{login, 10},
		{"/bazaar.identity.v1.IdentityService/Register", 10},
		{"/bazaar.identity.v1.IdentityService/Refresh", 5},
		{"/bazaar.identity.v1.IdentityService/Token", 5},
		{"/bazaar.identity.v1.IdentityService/GetJwks", 0}, // exempt
		{getMe, 1},    // no option
		{sayHello, 1}, // no option
		{"/no.such.Service/Method", 1},
		{"", 1},
	} {
		if got := l.Cost(tc.method); got != tc.want {
			t.Errorf("Cost(%q) = %d, want %d", tc.method, got, tc.want)
		}
	}
	methods := identityv1.File_bazaar_identity_v1_identity_proto.Services().ByName("IdentityService").Methods()
	for name, want := range map[string]int{"Login": 10, "GetMe": 1} {
		if got := ratelimit.MethodCost(methods.ByName(protoreflect.Name(name))); got != want {
			t.Errorf("MethodCost(%s) = %d, want %d", name, got, want)
		}
	}
}

// TestCostCharged: through the server, Login takes 10 tokens, GetMe one.
func TestCostCharged(t *testing.T) {
	t.Parallel()
	s := startServer(t, newLimiter(t))
	ctx := rpcContext(t)
	loginReq := &identityv1.LoginRequest{Email: "ada@example.com", Password: "correct horse"}

	// Admitted calls reach the handler, which is UNIMPLEMENTED.
	if _, err := s.id.Login(ctx, loginReq); errs.FromError(err).Code != codes.Unimplemented {
		t.Fatalf("first Login() = %v, want Unimplemented (admitted)", err)
	}
	_, err := s.id.Login(ctx, loginReq)
	if d := errs.FromError(err); d.Code != codes.ResourceExhausted || d.RetryDelay != 10*time.Second {
		t.Errorf("second Login() = %v, want ResourceExhausted retrying after 10s (a cost of 10 at 1/s)", d)
	}

	for i := range 10 {
		if _, err := s.id.GetMe(as(ctx, "a"), &identityv1.GetMeRequest{}); errs.FromError(err).Code != codes.Unimplemented {
			t.Fatalf("GetMe() #%d = %v, want Unimplemented (admitted)", i+1, err)
		}
	}
	_, err = s.id.GetMe(as(ctx, "a"), &identityv1.GetMeRequest{})
	if d := errs.FromError(err); d.Code != codes.ResourceExhausted || d.RetryDelay != time.Second {
		t.Errorf("11th GetMe() = %v, want ResourceExhausted retrying after 1s", d)
	}
}

// TestStreamChargedOnce: a stream costs its opening call, however many
// messages it carries.
func TestStreamChargedOnce(t *testing.T) {
	t.Parallel()
	s := startServer(t, newLimiter(t))
	ctx := as(rpcContext(t), "a")

	stream, err := s.hello.SayHelloStream(ctx, &hellov1.SayHelloStreamRequest{Name: "ada", Count: 50})
	if err != nil {
		t.Fatalf("SayHelloStream() = %v", err)
	}
	received := 0
	for {
		_, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SayHelloStream().Recv() = %v after %d messages", err, received)
		}
		received++
	}
	if received != 50 {
		t.Fatalf("SayHelloStream(count 50) delivered %d messages, want 50", received)
	}
	if refused := sayHelloN(t, ctx, s.hello, 10); refused != 1 {
		t.Errorf("after one stream, %d of 10 calls refused, want 1 (the stream took one token of 10)", refused)
	}
}

// TestPushbackHonoured: a grpc-go client whose retry policy covers
// RESOURCE_EXHAUSTED waits as the pushback trailer says, not its own
// backoff (30 s here, beyond the test's rpcTimeout).
func TestPushbackHonoured(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	// The real clock: the retry has to find a token.
	l, err := ratelimit.New(ratelimit.WithRate(1, 10), ratelimit.WithMetrics(reg))
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	const serviceConfig = `{"methodConfig": [{
		"name": [{"service": "bazaar.examples.helloworld.v1.GreeterService"}],
		"retryPolicy": {
			"maxAttempts": 2, "initialBackoff": "30s", "maxBackoff": "30s", "backoffMultiplier": 1,
			"retryableStatusCodes": ["RESOURCE_EXHAUSTED"]
		}
	}]}`
	s := startServer(t, l)
	retryingConn := dial(t, s.addr, grpc.WithDefaultServiceConfig(serviceConfig))
	retrying := hellov1.NewGreeterServiceClient(retryingConn)
	ctx := as(rpcContext(t), "a")
	// Connect first (an anonymous health check, another bucket), so that
	// the refusal below is still in force when the retried call arrives.
	if _, err := healthpb.NewHealthClient(retryingConn).Check(rpcContext(t), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("Health.Check() = %v", err)
	}

	// Spend the budget without retries, until the first refusal.
	for i := 0; ; i++ {
		_, err := s.hello.SayHello(ctx, &hellov1.SayHelloRequest{Name: "ada"})
		if errs.FromError(err).Code == codes.ResourceExhausted {
			break
		}
		if err != nil || i > 100 {
			t.Fatalf("SayHello() #%d = %v, want OK until the budget is spent", i+1, err)
		}
	}

	start := time.Now()
	if _, err := retrying.SayHello(ctx, &hellov1.SayHelloRequest{Name: "ada"}); err != nil {
		t.Fatalf("SayHello() with retries = %v, want OK after the pushback", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("SayHello() with retries took %v, want about the pushback (at most 1s)", waited)
	}
	if got := rejected(t, reg, sayHello); got != 2 {
		t.Errorf("rejected SayHello calls = %v, want 2 (the spending loop's last and the retried call's first attempt)", got)
	}
}

// rejected reads bazaar_ratelimit_rejected_total{grpc_method=method}.
func rejected(t *testing.T, reg *prometheus.Registry, method string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather() = %v", err)
	}
	for _, f := range families {
		if f.GetName() != "bazaar_ratelimit_rejected_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, label := range m.GetLabel() {
				if label.GetName() == "grpc_method" && label.GetValue() == method {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func TestRejectedMetric(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	l := newLimiter(t, ratelimit.WithMetrics(reg))
	s := startServer(t, l)
	ctx := as(rpcContext(t), "a")

	sayHelloN(t, ctx, s.hello, 12)
	stream, err := s.hello.SayHelloStream(ctx, &hellov1.SayHelloStreamRequest{Name: "ada", Count: 1})
	if err != nil {
		t.Fatalf("SayHelloStream() = %v", err)
	}
	if _, err := stream.Recv(); errs.FromError(err).Code != codes.ResourceExhausted {
		t.Fatalf("SayHelloStream().Recv() = %v, want ResourceExhausted", err)
	}
	for method, want := range map[string]float64{sayHello: 2, sayHelloStream: 1, getMe: 0} {
		if got := rejected(t, reg, method); got != want {
			t.Errorf("bazaar_ratelimit_rejected_total{grpc_method=%q} = %v, want %v", method, got, want)
		}
	}
	if _, err := ratelimit.New(ratelimit.WithMetrics(reg)); err == nil {
		t.Errorf("New(WithMetrics(reg)) registered its counter twice on one registry, want an error")
	}
}

// TestInterceptorsDirect calls the interceptors without a server: a
// refusal still answers, with nowhere to put its trailer.
func TestInterceptorsDirect(t *testing.T) {
	t.Parallel()
	l := newLimiter(t)
	ctx := callContext(tcp("192.0.2.1:1234"), nil)
	calls := 0
	handler := func(context.Context, any) (any, error) { calls++; return "ok", nil }
	unary := l.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: login}

	if resp, err := unary(ctx, nil, info, handler); err != nil || resp != "ok" {
		t.Fatalf("interceptor(Login) = %v, %v; want ok, nil", resp, err)
	}
	resp, err := unary(ctx, nil, info, handler)
	var e *errs.Error
	if resp != nil || !errors.As(err, &e) || e.Kind != errs.ResourceExhausted {
		t.Fatalf("second interceptor(Login) = %v, %v; want a ResourceExhausted *errs.Error", resp, err)
	}
	if calls != 1 {
		t.Errorf("handler ran %d times, want 1", calls)
	}
	// The caller's bucket is empty; an exempt method still runs.
	jwks := &grpc.UnaryServerInfo{FullMethod: "/bazaar.identity.v1.IdentityService/GetJwks"}
	for range 5 {
		if _, err := unary(ctx, nil, jwks, handler); err != nil {
			t.Fatalf("interceptor(GetJwks) with an empty bucket = %v, want it exempt", err)
		}
	}
}
