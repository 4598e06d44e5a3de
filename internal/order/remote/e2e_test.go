package remote_test

import (
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"

	catalogv1 "github.com/bazaarhq/bazaar/gen/bazaar/catalog/v1"
	paymentv1 "github.com/bazaarhq/bazaar/gen/bazaar/payment/v1"
	"github.com/bazaarhq/bazaar/internal/catalog"
	cataloggrpc "github.com/bazaarhq/bazaar/internal/catalog/grpcserver"
	catalogstore "github.com/bazaarhq/bazaar/internal/catalog/store"
	"github.com/bazaarhq/bazaar/internal/order"
	"github.com/bazaarhq/bazaar/internal/order/remote"
	orderstore "github.com/bazaarhq/bazaar/internal/order/store"
	"github.com/bazaarhq/bazaar/internal/payment"
	paymentgrpc "github.com/bazaarhq/bazaar/internal/payment/grpcserver"
	"github.com/bazaarhq/bazaar/internal/payment/processor"
	paymentstore "github.com/bazaarhq/bazaar/internal/payment/store"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
)

// system is the order service wired through the adapters to the real
// catalog and payment services, each over gRPC on a real grpcx server.
type system struct {
	orders  *order.Service
	catalog *catalog.Service
	pays    paymentv1.PaymentServiceClient
}

func startSystem(t testing.TB) *system {
	t.Helper()
	dir := t.TempDir()
	cst, err := catalogstore.Open(t.Context(), "sqlite://"+filepath.Join(dir, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cst.Close() })
	csvc, err := catalog.New(cst, catalog.Config{})
	if err != nil {
		t.Fatal(err)
	}
	pst, err := paymentstore.Open(t.Context(), "sqlite://"+filepath.Join(dir, "payment.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pst.Close() })
	proc, err := processor.New(pst.DB(), processor.Config{})
	if err != nil {
		t.Fatal(err)
	}
	psvc, err := payment.New(pst, proc, payment.Config{ProcessorBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	cc := serve(t, func(r grpc.ServiceRegistrar) {
		cataloggrpc.Register(r, csvc)
		paymentgrpc.Register(r, psvc)
	})
	ost, err := orderstore.Open(t.Context(), "sqlite://"+filepath.Join(dir, "order.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ost.Close() })
	pays := paymentv1.NewPaymentServiceClient(cc)
	osvc, err := order.New(ost, remote.NewCatalog(catalogv1.NewCatalogServiceClient(cc)), remote.NewPayments(pays), order.Config{
		RetryBase: 5 * time.Millisecond, RetryMax: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(osvc.Close)
	return &system{orders: osvc, catalog: csvc, pays: pays}
}

func (s *system) addProduct(t testing.TB, sku string, units int64) string {
	t.Helper()
	p, err := s.catalog.CreateProduct(t.Context(), &catalog.Product{
		SKU: sku, Title: "Knife " + sku, Category: "kitchen/knives", Price: catalog.Money{Currency: "EUR", Units: 20},
		Status: catalog.StatusActive, Kind: catalog.Kind{Type: catalog.KindPhysical, WeightGrams: 100},
	}, "req-"+sku)
	if err != nil {
		t.Fatalf("CreateProduct() = %v", err)
	}
	if _, err := s.catalog.AdjustStock(t.Context(), catalog.AdjustRequest{SKU: sku, Delta: units, Reason: "delivery", RequestID: "adj-" + sku}); err != nil {
		t.Fatalf("AdjustStock() = %v", err)
	}
	return p.ID
}

func (s *system) stock(t *testing.T, sku string) catalog.Stock {
	t.Helper()
	st, err := s.catalog.GetStock(t.Context(), []string{sku})
	if err != nil {
		t.Fatal(err)
	}
	return st[0]
}

func (s *system) paymentStatus(t *testing.T, id string) paymentv1.PaymentStatus {
	t.Helper()
	resp, err := s.pays.GetPayment(t.Context(), &paymentv1.GetPaymentRequest{Id: id})
	if err != nil {
		t.Fatalf("GetPayment(%s) = %v", id, err)
	}
	return resp.GetPayment().GetStatus()
}

// TestEndToEnd runs checkouts through the adapters against the real
// catalog and payment services, with the payment processor's test cards.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	s := startSystem(t)
	buyer := &auth.Principal{Kind: auth.User, Subject: "u-alice"}
	for _, tt := range []struct {
		card     string
		units    int64
		want     order.Status
		wantCode string
		wantPay  paymentv1.PaymentStatus
		wantSold int64
	}{
		{"4242424242424242", 5, order.StatusCompleted, "", paymentv1.PaymentStatus_PAYMENT_STATUS_CAPTURED, 2},
		{"4000000000000002", 5, order.StatusCancelled, order.ReasonPaymentDeclined, paymentv1.PaymentStatus_PAYMENT_STATUS_DECLINED, 0},
		{"4000000000009995", 5, order.StatusCancelled, order.ReasonPaymentDeclined, paymentv1.PaymentStatus_PAYMENT_STATUS_DECLINED, 0},
		{"4000000000000259", 5, order.StatusCompleted, "", paymentv1.PaymentStatus_PAYMENT_STATUS_CAPTURED, 2},
		{"4000000000000341", 5, order.StatusCompleted, "", paymentv1.PaymentStatus_PAYMENT_STATUS_CAPTURED, 2},
		{"4242424242424242", 1, order.StatusCancelled, order.ReasonInsufficientStock, 0, 0},
	} {
		sku := "SKU-" + tt.card[12:] + "-" + string(rune('0'+tt.units))
		id := s.addProduct(t, sku, tt.units)
		o, err := s.orders.PlaceOrder(t.Context(), buyer, order.PlaceRequest{
			IdempotencyKey: "k-" + sku, CardNumber: tt.card, Items: []order.CartLine{{ProductID: id, Quantity: 2}},
		})
		if err != nil {
			t.Fatalf("PlaceOrder(%s) = %v", tt.card, err)
		}
		if o.Status != tt.want || o.CancelCode != tt.wantCode {
			t.Errorf("PlaceOrder(%s) = %v %s (%s), want %v %s", tt.card, o.Status, o.CancelCode, o.CancelReason, tt.want, tt.wantCode)
			continue
		}
		st := s.stock(t, sku)
		if st.Sold != tt.wantSold || st.Reserved != 0 || st.Available+st.Sold != tt.units {
			t.Errorf("card %s: stock = %+v, want %d sold, nothing reserved", tt.card, st, tt.wantSold)
		}
		if tt.wantPay != 0 && o.PaymentID != "" {
			if got := s.paymentStatus(t, o.PaymentID); got != tt.wantPay {
				t.Errorf("card %s: payment %v, want %v", tt.card, got, tt.wantPay)
			}
		}
		if tt.want != order.StatusCompleted {
			continue
		}
		// Cancelling a completed order refunds it and returns the stock.
		c, err := s.orders.CancelOrder(t.Context(), buyer, o.ID, "")
		if err != nil || c.Status != order.StatusCancelled {
			t.Errorf("CancelOrder(%s) = %v, %v; want cancelled", tt.card, c, err)
			continue
		}
		if got := s.paymentStatus(t, o.PaymentID); got != paymentv1.PaymentStatus_PAYMENT_STATUS_REFUNDED {
			t.Errorf("card %s after cancel: payment %v, want REFUNDED", tt.card, got)
		}
		if st := s.stock(t, sku); st.Sold != 0 || st.Available != tt.units {
			t.Errorf("card %s after cancel: stock = %+v, want all %d available", tt.card, st, tt.units)
		}
	}
}
