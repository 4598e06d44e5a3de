package remote_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	catalogv1 "github.com/bazaarhq/bazaar/gen/bazaar/catalog/v1"
	paymentv1 "github.com/bazaarhq/bazaar/gen/bazaar/payment/v1"
	"github.com/bazaarhq/bazaar/internal/order"
	"github.com/bazaarhq/bazaar/internal/order/remote"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

// serviceAuthorizer is TEST SUPPORT: every caller is the order service.
type serviceAuthorizer struct{}

func (serviceAuthorizer) Authorize(ctx context.Context, _ string, policy *auth.Policy) (context.Context, error) {
	p := &auth.Principal{Kind: auth.Service, Subject: "order"}
	if !p.Admits(policy) {
		return ctx, errs.New(errs.PermissionDenied, "POLICY_DENIED", "denied")
	}
	return auth.WithPrincipal(ctx, p), nil
}

// serve runs a real grpcx.Server with register's services over bufconn
// and returns a connection to it.
func serve(t testing.TB, register func(grpc.ServiceRegistrar)) *grpc.ClientConn {
	t.Helper()
	srv, err := grpcx.NewServer(grpcx.WithAuthorizer(serviceAuthorizer{}), grpcx.WithShutdownGrace(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	register(srv)
	lis := bufconn.Listen(1 << 20)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis) }()
	cc, err := grpc.NewClient("passthrough:///remote",
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
	return cc
}

// catalogServer answers with err when set, else with state.
type catalogServer struct {
	catalogv1.UnimplementedCatalogServiceServer
	err   error
	state catalogv1.ReservationState
	got   *catalogv1.ReserveStockRequest
}

func (s *catalogServer) BatchGetProducts(_ context.Context, req *catalogv1.BatchGetProductsRequest) (*catalogv1.BatchGetProductsResponse, error) {
	if s.err != nil {
		return nil, s.err
	}
	out := &catalogv1.BatchGetProductsResponse{}
	for _, id := range req.GetIds() {
		status := catalogv1.ProductStatus_PRODUCT_STATUS_ACTIVE
		if id == "archived" {
			status = catalogv1.ProductStatus_PRODUCT_STATUS_ARCHIVED
		}
		out.Products = append(out.Products, &catalogv1.Product{
			Id: id, Sku: "SKU-" + id, Title: "T " + id, Status: status,
			Price: &money.Money{CurrencyCode: "EUR", Units: 12, Nanos: 500_000_000},
		})
	}
	return out, nil
}

func (s *catalogServer) reservation(id string) (*catalogv1.Reservation, error) {
	if s.err != nil {
		return nil, s.err
	}
	return &catalogv1.Reservation{Id: id, State: s.state}, nil
}

func (s *catalogServer) ReserveStock(_ context.Context, req *catalogv1.ReserveStockRequest) (*catalogv1.ReserveStockResponse, error) {
	s.got = req
	r, err := s.reservation(req.GetReservationId())
	return &catalogv1.ReserveStockResponse{Reservation: r}, err
}

func (s *catalogServer) CommitReservation(_ context.Context, req *catalogv1.CommitReservationRequest) (*catalogv1.CommitReservationResponse, error) {
	r, err := s.reservation(req.GetReservationId())
	return &catalogv1.CommitReservationResponse{Reservation: r}, err
}

func (s *catalogServer) ReleaseReservation(_ context.Context, req *catalogv1.ReleaseReservationRequest) (*catalogv1.ReleaseReservationResponse, error) {
	r, err := s.reservation(req.GetReservationId())
	return &catalogv1.ReleaseReservationResponse{Reservation: r}, err
}

func (s *catalogServer) ReturnReservation(_ context.Context, req *catalogv1.ReturnReservationRequest) (*catalogv1.ReturnReservationResponse, error) {
	r, err := s.reservation(req.GetReservationId())
	return &catalogv1.ReturnReservationResponse{Reservation: r}, err
}

// wantFailure fails t unless err is nil (reason "") or a RemoteError of
// that permanence and reason.
func wantFailure(t *testing.T, call string, err error, permanent bool, reason string) {
	t.Helper()
	if reason == "" {
		if err != nil {
			t.Errorf("%s = %v, want nil", call, err)
		}
		return
	}
	var re *order.RemoteError
	if !errors.As(err, &re) || re.Permanent != permanent || re.Reason != reason {
		t.Errorf("%s = %v, want a RemoteError permanent=%v %s", call, err, permanent, reason)
	}
}

func TestCatalog(t *testing.T) {
	t.Parallel()
	srv := &catalogServer{}
	cat := remote.NewCatalog(catalogv1.NewCatalogServiceClient(serve(t, func(r grpc.ServiceRegistrar) {
		catalogv1.RegisterCatalogServiceServer(r, srv)
	})))
	ctx := t.Context()

	ps, err := cat.Products(ctx, []string{"p1", "archived"})
	if err != nil || len(ps) != 2 || !ps[0].Active || ps[1].Active || ps[0].Price != (order.Money{Currency: "EUR", Units: 12, Nanos: 500_000_000}) {
		t.Errorf("Products() = %+v, %v", ps, err)
	}
	many := make([]string, 150)
	for i := range many {
		many[i] = "p" + string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	if ps, err := cat.Products(ctx, many); err != nil || len(ps) != 150 {
		t.Errorf("Products(150 ids) = %d, %v; want 150 in two batches", len(ps), err)
	}

	insufficient := errs.New(errs.FailedPrecondition, "INSUFFICIENT_STOCK", "short", errs.WithPrecondition("STOCK", "SKU-1", "short"))
	closed := errs.New(errs.FailedPrecondition, "RESERVATION_CLOSED", "closed")
	notFound := errs.New(errs.NotFound, "RESERVATION_NOT_FOUND", "no")
	for _, tt := range []struct {
		name      string
		err       error
		state     catalogv1.ReservationState
		call      func() error
		permanent bool
		reason    string
	}{
		{"reserve ok", nil, catalogv1.ReservationState_RESERVATION_STATE_RESERVED, func() error {
			return cat.Reserve(ctx, "o1", []order.StockItem{{SKU: "SKU-1", Quantity: 2}})
		}, false, ""},
		{"reserve replayed closed", nil, catalogv1.ReservationState_RESERVATION_STATE_EXPIRED, func() error {
			return cat.Reserve(ctx, "o1", []order.StockItem{{SKU: "SKU-1", Quantity: 2}})
		}, true, order.ReasonReservationClosed},
		{"reserve short", insufficient, 0, func() error {
			return cat.Reserve(ctx, "o1", []order.StockItem{{SKU: "SKU-1", Quantity: 2}})
		}, true, order.ReasonInsufficientStock},
		{"reserve unavailable", errs.New(errs.Unavailable, "", "down"), 0, func() error {
			return cat.Reserve(ctx, "o1", []order.StockItem{{SKU: "SKU-1", Quantity: 2}})
		}, false, "UNAVAILABLE"},
		{"commit closed", closed, 0, func() error { return cat.Commit(ctx, "o1") }, true, order.ReasonReservationClosed},
		{"commit deadline", errs.New(errs.DeadlineExceeded, "", "slow"), 0, func() error { return cat.Commit(ctx, "o1") }, false, "DEADLINE_EXCEEDED"},
		{"release unknown", notFound, 0, func() error { return cat.Release(ctx, "o1") }, false, ""},
		{"release committed", closed, 0, func() error { return cat.Release(ctx, "o1") }, true, order.ReasonReservationClosed},
		{"return ok", nil, catalogv1.ReservationState_RESERVATION_STATE_COMMITTED, func() error { return cat.Return(ctx, "o1") }, false, ""},
		{"return not committed", errs.New(errs.FailedPrecondition, "RESERVATION_CLOSED", "never committed"), 0, func() error { return cat.Return(ctx, "o1") }, true, order.ReasonReservationClosed},
		{"rate limited", errs.RateLimited("principal", "slow down", time.Second), 0, func() error { return cat.Commit(ctx, "o1") }, false, "RATE_LIMITED"},
	} {
		srv.err, srv.state = tt.err, tt.state
		wantFailure(t, tt.name, tt.call(), tt.permanent, tt.reason)
	}
	if got := srv.got; got.GetReservationId() != "o1" || len(got.GetItems()) != 1 || got.GetItems()[0].GetQuantity() != 2 {
		t.Errorf("ReserveStock got %v", got)
	}
}

// paymentServer answers with err when set, else with a payment of status.
type paymentServer struct {
	paymentv1.UnimplementedPaymentServiceServer
	err    error
	status paymentv1.PaymentStatus
}

func (s *paymentServer) payment() (*paymentv1.Payment, error) {
	if s.err != nil {
		return nil, s.err
	}
	return &paymentv1.Payment{Id: "pay-1", Status: s.status}, nil
}

func (s *paymentServer) Authorize(context.Context, *paymentv1.AuthorizeRequest) (*paymentv1.AuthorizeResponse, error) {
	p, err := s.payment()
	return &paymentv1.AuthorizeResponse{Payment: p}, err
}

func (s *paymentServer) Capture(context.Context, *paymentv1.CaptureRequest) (*paymentv1.CaptureResponse, error) {
	p, err := s.payment()
	return &paymentv1.CaptureResponse{Payment: p}, err
}

func (s *paymentServer) Void(context.Context, *paymentv1.VoidRequest) (*paymentv1.VoidResponse, error) {
	p, err := s.payment()
	return &paymentv1.VoidResponse{Payment: p}, err
}

func (s *paymentServer) Refund(context.Context, *paymentv1.RefundRequest) (*paymentv1.RefundResponse, error) {
	p, err := s.payment()
	return &paymentv1.RefundResponse{Payment: p}, err
}

func TestPayments(t *testing.T) {
	t.Parallel()
	srv := &paymentServer{}
	pay := remote.NewPayments(paymentv1.NewPaymentServiceClient(serve(t, func(r grpc.ServiceRegistrar) {
		paymentv1.RegisterPaymentServiceServer(r, srv)
	})))
	ctx := t.Context()
	eur := order.Money{Currency: "EUR", Units: 10}
	authorize := func() error {
		_, err := pay.Authorize(ctx, order.AuthorizeRequest{Key: "o1:authorize", OrderID: "o1", CustomerID: "c", Amount: eur, CardNumber: "4242424242424242"})
		return err
	}
	state := errs.New(errs.FailedPrecondition, "PAYMENT_STATE", "wrong state")
	for _, tt := range []struct {
		name      string
		err       error
		status    paymentv1.PaymentStatus
		call      func() error
		permanent bool
		reason    string
	}{
		{"authorize ok", nil, paymentv1.PaymentStatus_PAYMENT_STATUS_AUTHORIZED, authorize, false, ""},
		{"authorize answered pending", nil, paymentv1.PaymentStatus_PAYMENT_STATUS_PENDING, authorize, false, "PAYMENT_PENDING"},
		{"declined", errs.New(errs.FailedPrecondition, "PAYMENT_DECLINED", "no", errs.WithMetadata("payment_id", "pay-9")), 0, authorize, true, order.ReasonPaymentDeclined},
		{"pending", errs.New(errs.Unavailable, "PAYMENT_PENDING", "later", errs.WithRetryAfter(time.Second)), 0, authorize, false, "PAYMENT_PENDING"},
		{"processor down", errs.New(errs.Unavailable, "PROCESSOR_UNAVAILABLE", "down"), 0, authorize, false, "PROCESSOR_UNAVAILABLE"},
		{"card invalid", errs.New(errs.InvalidArgument, "CARD_INVALID", "luhn"), 0, authorize, true, order.ReasonCardInvalid},
		{"busy", errs.New(errs.Aborted, "PAYMENT_BUSY", "busy"), 0, func() error { return pay.Capture(ctx, "k", "pay-1", eur) }, false, "PAYMENT_BUSY"},
		{"capture ok", nil, paymentv1.PaymentStatus_PAYMENT_STATUS_CAPTURED, func() error { return pay.Capture(ctx, "k", "pay-1", eur) }, false, ""},
		{"capture wrong state", state, 0, func() error { return pay.Capture(ctx, "k", "pay-1", eur) }, true, order.ReasonPaymentRejected},
		{"void captured", state, 0, func() error { return pay.Void(ctx, "k", "pay-1") }, true, order.ReasonPaymentCaptured},
		{"void unknown", errs.New(errs.NotFound, "PAYMENT_NOT_FOUND", "no"), 0, func() error { return pay.Void(ctx, "k", "pay-1") }, true, order.ReasonPaymentNotFound},
		{"refund uncaptured", state, 0, func() error { return pay.Refund(ctx, "k", "pay-1", eur) }, true, order.ReasonPaymentNotCaptured},
		{"refund exceeded", errs.New(errs.FailedPrecondition, "REFUND_EXCEEDS_CAPTURE", "no"), 0, func() error { return pay.Refund(ctx, "k", "pay-1", eur) }, true, order.ReasonPaymentRefunded},
		{"refund internal", errs.New(errs.Internal, "", "bug"), 0, func() error { return pay.Refund(ctx, "k", "pay-1", eur) }, false, "INTERNAL"},
	} {
		srv.err, srv.status = tt.err, tt.status
		wantFailure(t, tt.name, tt.call(), tt.permanent, tt.reason)
	}
	srv.err = errs.New(errs.FailedPrecondition, "PAYMENT_DECLINED", "no", errs.WithMetadata("payment_id", "pay-9"))
	_, err := pay.Authorize(ctx, order.AuthorizeRequest{Key: "k", OrderID: "o", CustomerID: "c", Amount: eur, CardNumber: "4000000000000002"})
	var re *order.RemoteError
	if !errors.As(err, &re) || re.PaymentID != "pay-9" {
		t.Errorf("Authorize(declined) = %v, want the declined payment's id", err)
	}
}
