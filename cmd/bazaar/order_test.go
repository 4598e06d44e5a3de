package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	catalogv1 "github.com/bazaarhq/bazaar/gen/bazaar/catalog/v1"
	identityv1 "github.com/bazaarhq/bazaar/gen/bazaar/identity/v1"
	orderv1 "github.com/bazaarhq/bazaar/gen/bazaar/order/v1"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
	"github.com/bazaarhq/bazaar/test/invariants"
)

// shop is a running `bazaar up` with an admin and clients of its APIs.
type shop struct {
	addrs   map[string]string
	admin   context.Context // carries the admin's token
	id      identityv1.IdentityServiceClient
	catalog catalogv1.CatalogServiceClient
	orders  orderv1.OrderServiceClient
}

func openShop(t testing.TB, addrs map[string]string, adminPassword string) *shop {
	t.Helper()
	s := &shop{
		addrs:   addrs,
		id:      identityv1.NewIdentityServiceClient(dial(t, addrs["identity"])),
		catalog: catalogv1.NewCatalogServiceClient(dial(t, addrs["catalog"])),
		orders:  orderv1.NewOrderServiceClient(dial(t, addrs["order"])),
	}
	login, err := s.id.Login(t.Context(), &identityv1.LoginRequest{Email: "admin@bazaar.local", Password: adminPassword})
	if err != nil {
		t.Fatalf("admin Login() = %v", err)
	}
	s.admin = bearer(t.Context(), login.GetTokens().GetAccessToken())
	return s
}

// stockedProduct creates an active product of price EUR units with units
// in stock and returns its id.
func (s *shop) stockedProduct(t testing.TB, sku string, units int64, stock int64) string {
	t.Helper()
	created, err := s.catalog.CreateProduct(s.admin, &catalogv1.CreateProductRequest{RequestId: uuid.NewString(), Product: &catalogv1.Product{
		Sku: sku, Title: "Product " + sku, Category: "test", Status: catalogv1.ProductStatus_PRODUCT_STATUS_ACTIVE,
		Price: &money.Money{CurrencyCode: "EUR", Units: units},
	}})
	if err != nil {
		t.Fatalf("CreateProduct(%s) = %v", sku, err)
	}
	if _, err := s.catalog.AdjustStock(s.admin, &catalogv1.AdjustStockRequest{Sku: sku, Delta: stock, Reason: "delivery", RequestId: uuid.NewString()}); err != nil {
		t.Fatalf("AdjustStock(%s) = %v", sku, err)
	}
	return created.GetProduct().GetId()
}

func (s *shop) stock(t *testing.T, sku string) *catalogv1.Stock {
	t.Helper()
	resp, err := s.catalog.GetStock(t.Context(), &catalogv1.GetStockRequest{Skus: []string{sku}})
	if err != nil {
		t.Fatalf("GetStock(%s) = %v", sku, err)
	}
	return resp.GetStocks()[0]
}

// TestUpCheckout: through `bazaar up` (plaintext, so the order service
// proves itself with its OAuth2 client), a customer's cart checks out and
// pays, a declined card cancels and gives the stock back, the order's
// transitions replay from WatchOrder, and another customer cannot see it.
func TestUpCheckout(t *testing.T) {
	t.Parallel()
	const adminPassword = "admin password 4 tests"
	dir := t.TempDir()
	addrs, stop := startUpIn(t, dir, "--admin-password", adminPassword)
	s := openShop(t, addrs, adminPassword)
	mug := s.stockedProduct(t, "MUG-1", 12, 5)

	alice := bearer(t.Context(), signUp(t, s.id, "alice@example.com"))
	if _, err := s.orders.AddCartItem(alice, &orderv1.AddCartItemRequest{ProductId: mug, Quantity: 2}); err != nil {
		t.Fatalf("AddCartItem() = %v", err)
	}
	placed, err := s.orders.PlaceOrder(alice, &orderv1.PlaceOrderRequest{
		IdempotencyKey: uuid.NewString(), CardNumber: "4242424242424242", Source: &orderv1.PlaceOrderRequest_UseCart{UseCart: true},
	})
	if err != nil {
		t.Fatalf("PlaceOrder() = %v", err)
	}
	o := placed.GetOrder()
	if o.GetStatus() != orderv1.OrderStatus_ORDER_STATUS_COMPLETED || o.GetTotal().GetUnits() != 24 || o.GetPaymentId() == "" {
		t.Fatalf("PlaceOrder() = %v, want COMPLETED, EUR 24, paid", o)
	}
	if st := s.stock(t, "MUG-1"); st.GetAvailable() != 3 || st.GetSold() != 2 || st.GetReserved() != 0 {
		t.Errorf("stock after the order = %v, want 3 available, 2 sold", st)
	}
	cart, err := s.orders.GetCart(alice, &orderv1.GetCartRequest{})
	if err != nil || len(cart.GetCart().GetLines()) != 0 {
		t.Errorf("GetCart() after ordering it = %v, %v; want it empty", cart.GetCart(), err)
	}

	// The declined card: the reservation is released, the order cancelled
	// with the decline as its reason.
	declined, err := s.orders.PlaceOrder(alice, &orderv1.PlaceOrderRequest{
		IdempotencyKey: uuid.NewString(), CardNumber: "4000000000000002",
		Source: &orderv1.PlaceOrderRequest_Items{Items: &orderv1.LineItems{Items: []*orderv1.LineItem{{ProductId: mug, Quantity: 1}}}},
	})
	if err != nil {
		t.Fatalf("PlaceOrder(declined card) = %v", err)
	}
	if d := declined.GetOrder(); d.GetStatus() != orderv1.OrderStatus_ORDER_STATUS_CANCELLED || d.GetCancelReasonCode() != "PAYMENT_DECLINED" {
		t.Errorf("PlaceOrder(declined card) = %v, want CANCELLED for PAYMENT_DECLINED", d)
	}
	if st := s.stock(t, "MUG-1"); st.GetAvailable() != 3 || st.GetReserved() != 0 {
		t.Errorf("stock after the declined order = %v, want 3 available, none reserved", st)
	}

	// WatchOrder replays the paid order's transitions and ends.
	watch, err := s.orders.WatchOrder(alice, &orderv1.WatchOrderRequest{Id: o.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	var last *orderv1.OrderTransition
	n := 0
	for {
		msg, err := watch.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("WatchOrder().Recv() = %v", err)
		}
		last = msg.GetTransition()
		n++
	}
	if n < 2 || last.GetStatus() != orderv1.OrderStatus_ORDER_STATUS_COMPLETED {
		t.Errorf("WatchOrder() gave %d transitions ending with %v, want several ending COMPLETED", n, last)
	}

	bob := bearer(t.Context(), signUp(t, s.id, "bob@example.com"))
	_, err = s.orders.GetOrder(bob, &orderv1.GetOrderRequest{Id: o.GetId()})
	if errs.FromError(err).Code != codes.NotFound {
		t.Errorf("GetOrder(alice's order) as bob = %v, want NotFound", err)
	}
	if err := stop(); err != nil {
		t.Errorf("run(up) after cancel = %v", err)
	}
	checkInvariants(t, dir)

	// The order service's client was made once and is reused at the next
	// start, its secret readable by the owner only.
	fi, err := os.Stat(filepath.Join(dir, "secrets", "order-client.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("order client secret file: %v, %v; want mode 0600", fi, err)
	}
	addrs, stop = startUpIn(t, dir, "--admin-password", adminPassword)
	s = openShop(t, addrs, adminPassword)
	again, err := s.orders.PlaceOrder(alice, &orderv1.PlaceOrderRequest{
		IdempotencyKey: uuid.NewString(), CardNumber: "4242424242424242",
		Source: &orderv1.PlaceOrderRequest_Items{Items: &orderv1.LineItems{Items: []*orderv1.LineItem{{ProductId: mug, Quantity: 1}}}},
	})
	if err != nil || again.GetOrder().GetStatus() != orderv1.OrderStatus_ORDER_STATUS_COMPLETED {
		t.Errorf("PlaceOrder() after a restart = %v, %v; want COMPLETED", again.GetOrder(), err)
	}
	if err := stop(); err != nil {
		t.Errorf("run(up) after cancel = %v", err)
	}
	checkInvariants(t, dir)
	testCheckerCatches(t, dir)
}

// checkInvariants fails the test unless the saga's invariants hold over
// the databases of a stopped `bazaar up` in dir.
func checkInvariants(t *testing.T, dir string) {
	t.Helper()
	r, err := invariants.Check(t.Context(), invariants.ForDataDir(dir))
	if err != nil {
		t.Fatalf("invariants.Check() = %v", err)
	}
	if !r.OK() {
		t.Errorf("invariants broken:\n%s", r)
	}
}

// testCheckerCatches corrupts the databases of a stopped `bazaar up` one
// way at a time and wants the checker to name the broken invariant.
func testCheckerCatches(t *testing.T, dir string) {
	dbs := invariants.ForDataDir(dir)
	for _, tc := range []struct {
		name, db, schema, corrupt, undo, want string
	}{
		{"a unit sold twice", dbs.Catalog, "catalog", `UPDATE stocks SET sold = sold + 1`, `UPDATE stocks SET sold = sold - 1`, "3: "},
		{"a skipped transition", dbs.Order, "order", `UPDATE order_transitions SET status = 3 WHERE sequence = 1`, `UPDATE order_transitions SET status = 1 WHERE sequence = 1`, "4: "},
		{"an order left pending", dbs.Order, "order", `UPDATE orders SET status = 1 WHERE status = 2`, `UPDATE orders SET status = 2 WHERE status = 1`, "pending"},
		{"a lost event", dbs.Order, "order", `UPDATE outbox SET aggregate_id = 'elsewhere' WHERE id = 1`, "", "7: "},
		{"a refund with no ledger entry", dbs.Payment, "payment", `UPDATE payments SET refunded = captured WHERE captured > 0`, "", "1: "},
	} {
		db, err := sqldb.Open(t.Context(), tc.db, sqldb.WithSchema(tc.schema))
		if err != nil {
			t.Fatal(err)
		}
		exec := func(q string) {
			if q == "" {
				return
			}
			if _, err := db.ExecContext(t.Context(), q); err != nil {
				t.Fatalf("%s: %s: %v", tc.name, q, err)
			}
		}
		exec(tc.corrupt)
		r, err := invariants.Check(t.Context(), dbs)
		if err != nil {
			t.Fatalf("%s: invariants.Check() = %v", tc.name, err)
		}
		if r.OK() || !strings.Contains(r.String(), tc.want) {
			t.Errorf("%s: the checker said %s, want a %q finding", tc.name, r, tc.want)
		}
		exec(tc.undo)
		_ = db.Close()
	}
}

func itemsOf(productID string, quantity int64) *orderv1.PlaceOrderRequest_Items {
	return &orderv1.PlaceOrderRequest_Items{Items: &orderv1.LineItems{Items: []*orderv1.LineItem{{ProductId: productID, Quantity: quantity}}}}
}

// TestUpCheckoutCards: every test card of the simulated processor through
// the whole system, each ending where it must, and the invariants over all
// three databases afterwards.
func TestUpCheckoutCards(t *testing.T) {
	t.Parallel()
	const adminPassword = "admin password 4 tests"
	dir := t.TempDir()
	addrs, stop := startUpIn(t, dir, "--admin-password", adminPassword)
	s := openShop(t, addrs, adminPassword)
	lamp := s.stockedProduct(t, "LAMP-1", 30, 100)
	scarce := s.stockedProduct(t, "RARE-1", 500, 1)
	carol := bearer(t.Context(), signUp(t, s.id, "carol@example.com"))

	for _, tc := range []struct {
		name, card, product string
		quantity            int64
		status              orderv1.OrderStatus
		reason              string
	}{
		{"success", "4242424242424242", lamp, 2, orderv1.OrderStatus_ORDER_STATUS_COMPLETED, ""},
		{"declined", "4000000000000002", lamp, 1, orderv1.OrderStatus_ORDER_STATUS_CANCELLED, "PAYMENT_DECLINED"},
		{"insufficient funds", "4000000000009995", lamp, 1, orderv1.OrderStatus_ORDER_STATUS_CANCELLED, "PAYMENT_DECLINED"},
		{"transient twice, then paid", "4000000000000341", lamp, 1, orderv1.OrderStatus_ORDER_STATUS_COMPLETED, ""},
		{"charged, then timed out: reconciled", "4000000000000259", lamp, 1, orderv1.OrderStatus_ORDER_STATUS_COMPLETED, ""},
		{"short of stock", "4242424242424242", scarce, 2, orderv1.OrderStatus_ORDER_STATUS_CANCELLED, "INSUFFICIENT_STOCK"},
	} {
		placed, err := s.orders.PlaceOrder(carol, &orderv1.PlaceOrderRequest{
			IdempotencyKey: uuid.NewString(), CardNumber: tc.card, Source: itemsOf(tc.product, tc.quantity),
		})
		if err != nil {
			t.Errorf("%s: PlaceOrder() = %v", tc.name, err)
			continue
		}
		o := waitTerminal(t, s.orders, carol, placed.GetOrder())
		if o.GetStatus() != tc.status || o.GetCancelReasonCode() != tc.reason {
			t.Errorf("%s: order ended %v (%s: %s), want %v %s", tc.name, o.GetStatus(), o.GetCancelReasonCode(), o.GetCancelReason(), tc.status, tc.reason)
		}
	}
	// A completed order cancelled: refunded, its units back on sale.
	placed, err := s.orders.PlaceOrder(carol, &orderv1.PlaceOrderRequest{
		IdempotencyKey: uuid.NewString(), CardNumber: "4242424242424242", Source: itemsOf(lamp, 3),
	})
	if err != nil || placed.GetOrder().GetStatus() != orderv1.OrderStatus_ORDER_STATUS_COMPLETED {
		t.Fatalf("PlaceOrder() = %v, %v", placed.GetOrder(), err)
	}
	before := s.stock(t, "LAMP-1")
	cancelled, err := s.orders.CancelOrder(carol, &orderv1.CancelOrderRequest{Id: placed.GetOrder().GetId(), Reason: "changed my mind"})
	if err != nil {
		t.Fatalf("CancelOrder(completed) = %v", err)
	}
	if o := waitTerminal(t, s.orders, carol, cancelled.GetOrder()); o.GetStatus() != orderv1.OrderStatus_ORDER_STATUS_CANCELLED {
		t.Errorf("cancelled order ended %v, want CANCELLED", o.GetStatus())
	}
	if after := s.stock(t, "LAMP-1"); after.GetAvailable() != before.GetAvailable()+3 || after.GetSold() != before.GetSold()-3 {
		t.Errorf("stock after cancelling a completed order of 3 = %v, want 3 back from %v", after, before)
	}
	if err := stop(); err != nil {
		t.Errorf("run(up) after cancel = %v", err)
	}
	checkInvariants(t, dir)
}

// waitTerminal polls the order until it is completed or cancelled (the
// saga may still be retrying when PlaceOrder answers).
func waitTerminal(t *testing.T, orders orderv1.OrderServiceClient, ctx context.Context, o *orderv1.Order) *orderv1.Order {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		switch o.GetStatus() {
		case orderv1.OrderStatus_ORDER_STATUS_COMPLETED, orderv1.OrderStatus_ORDER_STATUS_CANCELLED:
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s still %v after 30s (step %v)", o.GetId(), o.GetStatus(), o.GetStep())
		}
		time.Sleep(50 * time.Millisecond)
		got, err := orders.GetOrder(ctx, &orderv1.GetOrderRequest{Id: o.GetId()})
		if err != nil {
			t.Fatalf("GetOrder(%s) = %v", o.GetId(), err)
		}
		o = got.GetOrder()
	}
}

// TestUpCheckoutConcurrency: ten concurrent PlaceOrders with one key make
// one order and one charge and answer identically; the key with another
// request is refused; fifty buyers racing for the last three units make
// exactly three completed orders. The invariants hold after.
func TestUpCheckoutConcurrency(t *testing.T) {
	t.Parallel()
	const adminPassword = "admin password 4 tests"
	dir := t.TempDir()
	addrs, stop := startUpIn(t, dir, "--admin-password", adminPassword)
	s := openShop(t, addrs, adminPassword)
	kettle := s.stockedProduct(t, "KETTLE-1", 40, 10)
	last := s.stockedProduct(t, "LAST-1", 90, 3)
	dave := bearer(t.Context(), signUp(t, s.id, "dave@example.com"))

	req := &orderv1.PlaceOrderRequest{IdempotencyKey: uuid.NewString(), CardNumber: "4242424242424242", Source: itemsOf(kettle, 1)}
	answers := make([]*orderv1.PlaceOrderResponse, 10)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() {
			resp, err := s.orders.PlaceOrder(dave, req)
			if err != nil {
				t.Errorf("PlaceOrder() #%d = %v", i, err)
			}
			answers[i] = resp
		})
	}
	wg.Wait()
	for i, a := range answers[1:] {
		if !proto.Equal(a, answers[0]) {
			t.Errorf("answer #%d = %v, want the same as #0: %v", i+1, a, answers[0])
		}
	}
	if again, err := s.orders.PlaceOrder(dave, req); err != nil || !proto.Equal(again, answers[0]) {
		t.Errorf("PlaceOrder() again, sequentially = %v, %v; want the first answer", again, err)
	}
	other := proto.CloneOf(req)
	other.Source = itemsOf(kettle, 2)
	_, err := s.orders.PlaceOrder(dave, other)
	if d := errs.FromError(err); d.Code != codes.InvalidArgument || d.Reason != "IDEMPOTENCY_KEY_REUSED" {
		t.Errorf("PlaceOrder(same key, other items) = %v, want InvalidArgument IDEMPOTENCY_KEY_REUSED", err)
	}
	list, err := s.orders.ListOrders(dave, &orderv1.ListOrdersRequest{})
	if err != nil || len(list.GetOrders()) != 1 {
		t.Errorf("ListOrders() after ten identical PlaceOrders = %d orders, %v; want 1", len(list.GetOrders()), err)
	}

	// Fifty buyers, three units.
	buyers := make([]context.Context, 50)
	for i := range buyers {
		buyers[i] = bearer(t.Context(), signUp(t, s.id, fmt.Sprintf("buyer%d@example.com", i)))
	}
	var completed, cancelled atomic.Int64
	for _, buyer := range buyers {
		wg.Go(func() {
			resp, err := s.orders.PlaceOrder(buyer, &orderv1.PlaceOrderRequest{
				IdempotencyKey: uuid.NewString(), CardNumber: "4242424242424242", Source: itemsOf(last, 1),
			})
			if err != nil {
				t.Errorf("PlaceOrder(last units) = %v", err)
				return
			}
			switch waitTerminal(t, s.orders, buyer, resp.GetOrder()).GetStatus() {
			case orderv1.OrderStatus_ORDER_STATUS_COMPLETED:
				completed.Add(1)
			default:
				cancelled.Add(1)
			}
		})
	}
	wg.Wait()
	if completed.Load() != 3 || cancelled.Load() != 47 {
		t.Errorf("50 buyers for 3 units: %d completed, %d cancelled; want 3 and 47", completed.Load(), cancelled.Load())
	}
	if st := s.stock(t, "LAST-1"); st.GetAvailable() != 0 || st.GetSold() != 3 || st.GetReserved() != 0 {
		t.Errorf("stock after the race = %v, want 3 sold, none left", st)
	}
	if err := stop(); err != nil {
		t.Errorf("run(up) after cancel = %v", err)
	}
	checkInvariants(t, dir)
}
