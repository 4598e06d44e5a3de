package grpcserver_test

import (
	"context"

	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	orderv1 "github.com/bazaarhq/bazaar/gen/bazaar/order/v1"
	"github.com/bazaarhq/bazaar/internal/order"
	"github.com/bazaarhq/bazaar/internal/order/grpcserver"
	"github.com/bazaarhq/bazaar/internal/order/store"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

// testPrincipalHeader carries the caller in tests: "user:ID:role,role".
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
	alice = []string{testPrincipalHeader, "user:u-alice:customer"}
	bob   = []string{testPrincipalHeader, "user:u-bob:customer"}
	admin = []string{testPrincipalHeader, "user:u-admin:admin"}
)

// The test cards of the fake payment service.
const (
	cardOK       = "4242424242424242"
	cardDeclined = "4000000000000002"
)

// inventory is a small in-memory catalog: products with unlimited stock.
type inventory struct {
	products map[string]order.Product
}

func (f *inventory) Products(_ context.Context, ids []string) ([]order.Product, error) {
	var out []order.Product
	for _, id := range ids {
		if p, ok := f.products[id]; ok {
			out = append(out, p)
		}
	}
	return out, nil
}

func (*inventory) Reserve(context.Context, string, []order.StockItem) error { return nil }
func (*inventory) Commit(context.Context, string) error                     { return nil }
func (*inventory) Release(context.Context, string) error                    { return nil }
func (*inventory) Return(context.Context, string) error                     { return nil }

// payments is a small payment service: cardDeclined is declined, and a
// capture waits while gate is closed.
type payments struct {
	mu   sync.Mutex
	gate chan struct{} // captures wait until it is closed; nil: no wait
	n    int
}

func (f *payments) Authorize(_ context.Context, r order.AuthorizeRequest) (string, error) {
	if r.CardNumber == cardDeclined {
		return "", order.Permanent(order.ReasonPaymentDeclined, "declined", nil)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	return fmt.Sprintf("pay-%d", f.n), nil
}

func (f *payments) Capture(ctx context.Context, _, _ string, _ order.Money) error {
	f.mu.Lock()
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return order.Transient("DEADLINE_EXCEEDED", ctx.Err())
		}
	}
	return nil
}

func (*payments) Void(context.Context, string, string) error                { return nil }
func (*payments) Refund(context.Context, string, string, order.Money) error { return nil }

// harness is a real grpcx.Server serving the order API over bufconn.
type harness struct {
	svc    *order.Service
	pay    *payments
	client orderv1.OrderServiceClient
}

func start(t testing.TB, cfg order.Config) *harness {
	t.Helper()
	st, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "order.db"))
	if err != nil {
		t.Fatalf("store.Open() = %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	eur := func(u int64) order.Money { return order.Money{Currency: "EUR", Units: u} }
	inv := &inventory{products: map[string]order.Product{
		"p1": {ID: "p1", SKU: "SKU-1", Title: "Knife", Price: eur(10), Active: true},
		"p2": {ID: "p2", SKU: "SKU-2", Title: "Fork", Price: eur(5), Active: true},
		"p3": {ID: "p3", SKU: "SKU-3", Title: "Spoon", Price: eur(3), Active: false},
		"p4": {ID: "p4", SKU: "SKU-4", Title: "Cup", Price: order.Money{Currency: "USD", Units: 2}, Active: true},
	}}
	pay := &payments{}
	if cfg.RetryBase == 0 {
		cfg.RetryBase, cfg.RetryMax = time.Millisecond, 10*time.Millisecond
	}
	svc, err := order.New(st, inv, pay, cfg)
	if err != nil {
		t.Fatalf("order.New() = %v", err)
	}
	srv, err := grpcx.NewServer(grpcx.WithAuthorizer(headerTestAuthorizer{}), grpcx.WithShutdownGrace(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	grpcserver.Register(srv, svc, grpcserver.WithWatchPoll(20*time.Millisecond))

	lis := bufconn.Listen(1 << 20)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis) }()
	cc, err := grpc.NewClient("passthrough:///order",
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
		svc.Close()
	})
	return &harness{svc: svc, pay: pay, client: orderv1.NewOrderServiceClient(cc)}
}

// callCtx returns a call context with a deadline and, optionally, the
// caller's header.
func callCtx(t testing.TB, kv ...string) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	if len(kv) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, kv...)
	}
	return ctx
}

// wantStatus fails the test unless err is a status with code and reason
// and, when fields are given, a BadRequest naming exactly them.
func wantStatus(t *testing.T, call string, err error, code codes.Code, reason string, fields ...string) errs.Details {
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
