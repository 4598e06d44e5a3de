package grpcserver_test

import (
	"context"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	paymentv1 "github.com/bazaarhq/bazaar/gen/bazaar/payment/v1"
	"github.com/bazaarhq/bazaar/internal/payment"
	"github.com/bazaarhq/bazaar/internal/payment/grpcserver"
	"github.com/bazaarhq/bazaar/internal/payment/processor"
	"github.com/bazaarhq/bazaar/internal/payment/store"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

// testPrincipalHeader carries the caller in tests: "user:ID:role,role",
// "service:NAME" or "client:ID::scope,scope".
const testPrincipalHeader = "x-test-principal"

// headerTestAuthorizer is TEST SUPPORT, not the production authenticator:
// it trusts whatever principal the x-test-principal header names (no
// token, no signature) and admits the call when that principal satisfies
// the method's policy, as the real one does.
type headerTestAuthorizer struct{}

func (headerTestAuthorizer) Authorize(ctx context.Context, method string, policy *auth.Policy) (context.Context, error) {
	var p *auth.Principal
	if v := metadata.ValueFromIncomingContext(ctx, testPrincipalHeader); len(v) > 0 {
		parts := strings.SplitN(v[0]+"::", ":", 4)
		kinds := map[string]auth.PrincipalKind{"user": auth.User, "service": auth.Service, "client": auth.Client}
		p = &auth.Principal{Kind: kinds[parts[0]], Subject: parts[1]}
		if parts[2] != "" {
			p.Roles = strings.Split(parts[2], ",")
		}
		if parts[3] != "" {
			p.Scopes = strings.Split(strings.TrimSuffix(parts[3], "::"), ",")
		}
	}
	if !p.Admits(policy) {
		if p == nil {
			return ctx, errs.New(errs.Unauthenticated, "CREDENTIALS_REQUIRED", "this method needs credentials")
		}
		return ctx, errs.New(errs.PermissionDenied, "POLICY_DENIED", "the caller may not call "+method)
	}
	if p != nil {
		ctx = auth.WithPrincipal(ctx, p)
	}
	return ctx, nil
}

// The callers of the tests.
var (
	admin    = []string{testPrincipalHeader, "user:u-admin:admin"}
	customer = []string{testPrincipalHeader, "user:u-alice:customer"}
	orderSvc = []string{testPrincipalHeader, "service:order"}
	writer   = []string{testPrincipalHeader, "client:ops::payments:write"}
	reader   = []string{testPrincipalHeader, "client:ops::payments:read"}
)

// harness is a real grpcx.Server serving the payment API over bufconn.
type harness struct {
	svc    *payment.Service
	store  *store.Store
	client paymentv1.PaymentServiceClient
}

func start(t testing.TB) *harness {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "payment.db"))
	if err != nil {
		t.Fatalf("store.Open() = %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	proc, err := processor.New(st.DB(), processor.Config{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := payment.New(st, proc, payment.Config{ProcessorBackoff: time.Millisecond})
	if err != nil {
		t.Fatalf("payment.New() = %v", err)
	}
	srv, err := grpcx.NewServer(grpcx.WithAuthorizer(headerTestAuthorizer{}), grpcx.WithShutdownGrace(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	grpcserver.Register(srv, svc)

	lis := bufconn.Listen(1 << 20)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis) }()
	cc, err := grpc.NewClient("passthrough:///payment",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cc.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve() = %v", err)
		}
	})
	return &harness{svc: svc, store: st, client: paymentv1.NewPaymentServiceClient(cc)}
}

// callCtx returns a call context with a deadline and, optionally, the
// caller's header.
func callCtx(t testing.TB, kv ...string) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	if len(kv) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, kv...)
	}
	return ctx
}

// wantStatus fails the test unless err is a status with code and reason
// and, when fields are given, a BadRequest naming exactly them.
func wantStatus(t testing.TB, call string, err error, code codes.Code, reason string, fields ...string) errs.Details {
	t.Helper()
	d := errs.FromError(err)
	if d.Code != code || (reason != "" && d.Reason != reason) {
		t.Errorf("%s = %v (reason %q), want %v %s", call, err, d.Reason, code, reason)
		return d
	}
	if len(fields) == 0 {
		return d
	}
	var got []string
	for _, f := range d.FieldViolations {
		got = append(got, f.Field)
	}
	if !slices.Equal(got, fields) {
		t.Errorf("%s BadRequest fields = %v, want %v", call, got, fields)
	}
	return d
}

func eur(units int64, nanos int32) *money.Money {
	return &money.Money{CurrencyCode: "EUR", Units: units, Nanos: nanos}
}

func authorizeReq(key, card string) *paymentv1.AuthorizeRequest {
	return &paymentv1.AuthorizeRequest{
		IdempotencyKey: key, OrderId: "order-" + key, CustomerId: "cust-1", Amount: eur(19, 990000000), CardNumber: card,
	}
}

type contextT = context.Context
