package grpcserver_test

import (
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	notificationv1 "github.com/bazaarhq/bazaar/gen/bazaar/notification/v1"
	"github.com/bazaarhq/bazaar/internal/notification"
	"github.com/bazaarhq/bazaar/internal/notification/grpcserver"
	"github.com/bazaarhq/bazaar/internal/notification/store"
	"github.com/bazaarhq/bazaar/internal/order"
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

func as(userID string, roles ...string) []string {
	return []string{testPrincipalHeader, "user:" + userID + ":" + strings.Join(roles, ",")}
}

// harness is a real grpcx.Server serving the notification API over
// bufconn, on a SQLite file that outlives restarts.
type harness struct {
	t      testing.TB
	dbPath string
	cfg    notification.Config
	lis    *bufconn.Listener
	stop   func()
	svc    *notification.Service
	opts   []grpcx.ServerOption // the server's, beyond the test authorizer
}

func start(t testing.TB, cfg notification.Config, opts ...grpcx.ServerOption) *harness {
	t.Helper()
	h := &harness{t: t, dbPath: filepath.Join(t.TempDir(), "notification.db"), cfg: cfg, lis: bufconn.Listen(1 << 20), opts: opts}
	h.serve()
	t.Cleanup(func() { h.stop() })
	return h
}

// serve starts a new store, Service and server over the database.
func (h *harness) serve() {
	t := h.t
	st, err := store.Open(context.Background(), "sqlite://"+h.dbPath)
	if err != nil {
		t.Fatalf("store.Open() = %v", err)
	}
	svc, err := notification.New(st, h.cfg)
	if err != nil {
		t.Fatalf("notification.New() = %v", err)
	}
	srv, err := grpcx.NewServer(append([]grpcx.ServerOption{grpcx.WithAuthorizer(headerTestAuthorizer{}), grpcx.WithShutdownGrace(time.Second)}, h.opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	grpcserver.Register(srv, svc)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, h.lis) }()
	h.svc = svc
	h.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve() = %v", err)
		}
		_ = st.Close()
	}
}

// restart drains the server, closes the database and serves again with a
// new Service over it: a process restart.
func (h *harness) restart() {
	h.stop()
	h.lis = bufconn.Listen(1 << 20)
	h.serve()
}

// dial returns a client over the current listener (any later one too: it
// dials h.lis when it connects).
func (h *harness) dial(t testing.TB, opts ...grpc.DialOption) notificationv1.NotificationServiceClient {
	t.Helper()
	opts = append([]grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return h.lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}, opts...)
	cc, err := grpc.NewClient("passthrough:///notification", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return notificationv1.NewNotificationServiceClient(cc)
}

// placed applies an order.placed event for customer, with a title of
// titleLen bytes.
func (h *harness) placed(t testing.TB, customer string, titleLen int) {
	t.Helper()
	if titleLen == 0 {
		titleLen = 10
	}
	id := uuid.NewString()
	p := order.EventPayload{OrderID: id, CustomerID: customer, Status: "PENDING", Time: time.Now(),
		Items: []order.Item{{SKU: "SKU-1", Title: strings.Repeat("x", titleLen), Quantity: 1, UnitPrice: order.Money{Currency: "EUR", Units: 1}}},
		Total: order.Money{Currency: "EUR", Units: 1}}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.svc.Apply(context.Background(), notification.Event{Source: "order", ID: uuid.NewString(), Topic: order.TopicPlaced, AggregateID: id, Time: time.Now(), Payload: b}); err != nil {
		t.Fatalf("Apply() = %v", err)
	}
}

func callCtx(t testing.TB, kv []string) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return metadata.AppendToOutgoingContext(ctx, kv...)
}

// conn returns a raw connection to the server, for calls by method name.
func (h *harness) conn(t testing.TB) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient("passthrough:///notification",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return h.lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// callStream opens a server stream by name, sends req and reads the first
// answer (or the status).
func callStream(ctx context.Context, cc *grpc.ClientConn, method string, req, resp any) error {
	s, err := cc.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, method)
	if err != nil {
		return err
	}
	if err := s.SendMsg(req); err != nil {
		return err
	}
	if err := s.CloseSend(); err != nil {
		return err
	}
	return s.RecvMsg(resp)
}

func metadataCtx(ctx context.Context, kv []string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, kv...)
}
