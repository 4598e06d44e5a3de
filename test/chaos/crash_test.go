// TestCrashAtEverySagaStep is RELIABILITY.md's invariant 8 with real
// processes: kill -9 the order service at each step of the checkout saga,
// restart it, and the invariants hold after recovery. Run it alone with
//
//	go test -run Crash -v ./test/chaos
//
// Each case runs `bazaar up` (the binary built once from cmd/bazaar) in
// its own data dir with one failpoint armed (--failpoints NAME), places an
// order, waits for the line "failpoint NAME reached" (the saga paused
// there, its remote call answered and nothing of it persisted), sends the
// process SIGKILL, and starts it again on the same data dir without
// failpoints. The order must then end COMPLETED (good card) or CANCELLED
// (declined card, or cancelled by the customer), PlaceOrder resent with the
// same idempotency key must answer that same order, the stock must add up,
// and test/invariants must find nothing wrong in the three databases once
// the process has stopped cleanly.
//
// Duration: the killed process holds a lease on the order that only
// expires order.DefaultLeaseTTL (30 s) after its last persisted step, and
// the restarted process's recovery loop (polling every second) only takes
// the order up then, so every case waits up to ~30 s per crash. The test
// does not shorten production timeouts: the cases run in parallel, at most
// maxProcesses of them (one `bazaar up` each) at a time.

package chaos

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/grpc/metadata"

	catalogv1 "github.com/bazaarhq/bazaar/gen/bazaar/catalog/v1"
	identityv1 "github.com/bazaarhq/bazaar/gen/bazaar/identity/v1"
	orderv1 "github.com/bazaarhq/bazaar/gen/bazaar/order/v1"
	"github.com/bazaarhq/bazaar/test/invariants"
)

const (
	// maxProcesses bounds how many cases (each one `bazaar up` at a time)
	// run at once. The processes mostly sit idle waiting for a lease to
	// expire (the whole package uses ~15 s of CPU), so this is above the
	// core count: 14 lease waits of ~32 s in 3 rounds, ~100 s.
	maxProcesses = 5

	goodCard     = "4242424242424242"
	declinedCard = "4000000000000002"

	initialStock = 5
	quantity     = 2
	unitPrice    = 12 // EUR

	// leaseTTL is order.DefaultLeaseTTL: a crashed driver's order is taken
	// up again at most this long after its last persisted step.
	leaseTTL = 30 * time.Second
	// recoveryWait bounds how long a restarted process may take to reach
	// a failpoint or to finish the order: the lease plus the recovery
	// poll, PlaceOrderWait and a margin for a loaded machine.
	recoveryWait = leaseTTL + 20*time.Second
	// pauseWait bounds how long the first run may take to reach its
	// failpoint: no lease to wait for there.
	pauseWait = 20 * time.Second

	customerPassword = "correct horse battery 9"
)

// cancelMode says when the customer cancels the order.
type cancelMode int

const (
	noCancel cancelMode = iota
	// cancelCompleted: the order completes first (the failpoint is
	// armed on a compensation step), then the customer cancels it, which
	// refunds the payment and returns the stock.
	cancelCompleted
	// cancelWhilePaused: the customer cancels while the first run's saga
	// is paused at its failpoint; the process is killed after that.
	cancelWhilePaused
)

type crashCase struct {
	name string
	card string
	// crashes are the failpoints armed in successive runs, each run killed
	// once its failpoint is reached; a last run with none finishes the
	// order.
	crashes    []string
	cancel     cancelMode
	want       orderv1.OrderStatus
	wantReason string // the cancel reason code, when cancelled
}

var crashCases = []crashCase{
	// Forward steps, good card: the restarted process finishes the
	// checkout, each remote call repeated with its idempotency key.
	{name: "after-order-row", card: goodCard, crashes: []string{"after-order-row"}, want: completed},
	{name: "after-reserve", card: goodCard, crashes: []string{"after-reserve"}, want: completed},
	{name: "after-authorize", card: goodCard, crashes: []string{"after-authorize"}, want: completed},
	{name: "after-commit", card: goodCard, crashes: []string{"after-commit"}, want: completed},
	{name: "after-capture", card: goodCard, crashes: []string{"after-capture"}, want: completed},
	// Declined card: authorization refused, the reservation released.
	{name: "before-compensation", card: declinedCard, crashes: []string{"before-compensation"}, want: cancelled, wantReason: "PAYMENT_DECLINED"},
	{name: "after-release", card: declinedCard, crashes: []string{"after-release"}, want: cancelled, wantReason: "PAYMENT_DECLINED"},
	{name: "mid-compensation", card: declinedCard, crashes: []string{"mid-compensation"}, want: cancelled, wantReason: "PAYMENT_DECLINED"},
	// A completed order cancelled by its customer: refund, then return.
	{name: "after-refund", card: goodCard, cancel: cancelCompleted, crashes: []string{"after-refund"}, want: cancelled, wantReason: "CANCELLED_BY_CUSTOMER"},
	{name: "after-return", card: goodCard, cancel: cancelCompleted, crashes: []string{"after-return"}, want: cancelled, wantReason: "CANCELLED_BY_CUSTOMER"},
	// Voiding needs an authorized order that is cancelled: crash after
	// the commit with a cancel requested, then crash again after the void
	// in the run that recovers it, then recover.
	{name: "after-commit,after-void", card: goodCard, cancel: cancelWhilePaused, crashes: []string{"after-commit", "after-void"}, want: cancelled, wantReason: "CANCELLED_BY_CUSTOMER"},
	// A step answered but not persisted, and the customer cancels before
	// recovery: what the step did must still be undone (the reservation
	// released, the authorization voided).
	{name: "after-reserve+cancel", card: goodCard, cancel: cancelWhilePaused, crashes: []string{"after-reserve"}, want: cancelled, wantReason: "CANCELLED_BY_CUSTOMER"},
	{name: "after-authorize+cancel", card: goodCard, cancel: cancelWhilePaused, crashes: []string{"after-authorize"}, want: cancelled, wantReason: "CANCELLED_BY_CUSTOMER"},
}

const (
	completed = orderv1.OrderStatus_ORDER_STATUS_COMPLETED
	cancelled = orderv1.OrderStatus_ORDER_STATUS_CANCELLED
)

func TestCrashAtEverySagaStep(t *testing.T) {
	bazaarBinary(t) // build before the cases start their clocks
	// The cases are not t.Parallel: go test's -parallel (GOMAXPROCS by
	// default, 2 on the CI runners) would bound them below what the lease
	// waits need. t.Run is called from several goroutines instead, bounded
	// by maxProcesses.
	// The cases with most crashes (most lease waits) start first, so that
	// none of them trails at the end.
	cases := slices.Clone(crashCases)
	slices.SortStableFunc(cases, func(a, b crashCase) int { return len(b.crashes) - len(a.crashes) })
	slots := make(chan struct{}, maxProcesses)
	var wg sync.WaitGroup
	for i, c := range cases {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			t.Run(c.name, func(t *testing.T) { testCrash(t, c, i+1) })
		})
	}
	wg.Wait()
}

func testCrash(t *testing.T, c crashCase, n int) {
	dir := t.TempDir()
	sku := fmt.Sprintf("CHAOS-%d", n)
	email := fmt.Sprintf("chaos-%d@example.com", n)

	// Run 1: set up the shop, place the order, crash at the first
	// failpoint.
	p := startUp(t, "run 1 ("+c.crashes[0]+")", dir, c.crashes[0])
	adminToken := login(t, p, "admin@bazaar.local", adminPassword)
	productID := stockedProduct(t, p, adminToken, sku)
	customer := signUp(t, p, email)
	req := &orderv1.PlaceOrderRequest{
		IdempotencyKey: uuid.NewString(), CardNumber: c.card,
		Source: &orderv1.PlaceOrderRequest_Items{Items: &orderv1.LineItems{Items: []*orderv1.LineItem{{ProductId: productID, Quantity: quantity}}}},
	}
	orders := orderv1.NewOrderServiceClient(p.dial("order"))
	var background chan error // a call the kill may cut
	var orderID string
	switch c.cancel {
	case cancelCompleted:
		ctx, cancel := callCtx(t, customer, 20*time.Second)
		placed, err := orders.PlaceOrder(ctx, req)
		cancel()
		if err != nil {
			t.Fatalf("PlaceOrder() = %v", err)
		}
		orderID = placed.GetOrder().GetId()
		// PlaceOrder answers after at most 5 s; a loaded machine may
		// need longer.
		if o := waitTerminal(t, orders, customer, orderID, pauseWait); o.GetStatus() != completed {
			t.Fatalf("order = %v, want it COMPLETED before cancelling it", o)
		}
		background = goCall(t, customer, func(ctx context.Context) error {
			_, err := orders.CancelOrder(ctx, &orderv1.CancelOrderRequest{Id: orderID})
			return err
		})
	case noCancel, cancelWhilePaused:
		background = goCall(t, customer, func(ctx context.Context) error {
			_, err := orders.PlaceOrder(ctx, req)
			return err
		})
	}
	p.waitFailpoint(c.crashes[0], pauseWait)
	if orderID == "" {
		orderID = onlyOrder(t, p, orders, customer).GetId()
	}
	if c.cancel == cancelWhilePaused {
		ctx, cancel := callCtx(t, customer, 20*time.Second)
		resp, err := orders.CancelOrder(ctx, &orderv1.CancelOrderRequest{Id: orderID, Reason: "changed my mind"})
		cancel()
		if err != nil || !resp.GetOrder().GetCancelRequested() {
			t.Fatalf("CancelOrder() while the saga is paused = %v, %v; want it accepted (cancel_requested)", resp.GetOrder(), err)
		}
	}
	p.kill()
	t.Logf("run 1 killed at %s; PlaceOrder/CancelOrder in flight ended with %v", c.crashes[0], <-background)

	// Runs 2..: recover into the next failpoint and crash again.
	for i, fp := range c.crashes[1:] {
		p = startUp(t, fmt.Sprintf("run %d (%s)", i+2, fp), dir, fp)
		start := time.Now()
		p.waitFailpoint(fp, recoveryWait)
		p.kill()
		t.Logf("run %d killed at %s, reached %v after the restart", i+2, fp, time.Since(start).Round(100*time.Millisecond))
	}

	// The last run: no failpoint; the recovery loop finishes the order.
	p = startUp(t, fmt.Sprintf("run %d (recovery)", len(c.crashes)+1), dir, "")
	start := time.Now()
	orders = orderv1.NewOrderServiceClient(p.dial("order"))
	// The same request again: the same order (invariant 6), never a
	// second one, whatever state it is in.
	ctx, cancel := callCtx(t, customer, 20*time.Second)
	again, err := orders.PlaceOrder(ctx, req)
	cancel()
	if err != nil || again.GetOrder().GetId() != orderID {
		t.Errorf("PlaceOrder(same key) after the restart = %v, %v; want order %s", again.GetOrder(), err, orderID)
	}
	final := waitTerminal(t, orders, customer, orderID, recoveryWait)
	t.Logf("order %s %v (%s) %v after the restart", orderID, final.GetStatus(), final.GetCancelReasonCode(), time.Since(start).Round(100*time.Millisecond))
	if final.GetStatus() != c.want || (c.wantReason != "" && final.GetCancelReasonCode() != c.wantReason) {
		t.Errorf("order after recovery = %v (reason %q), want %v (reason %q)", final.GetStatus(), final.GetCancelReasonCode(), c.want, c.wantReason)
	}
	if c.want == completed && final.GetPaymentId() == "" {
		t.Errorf("completed order %s has no payment id", orderID)
	}
	if o := onlyOrder(t, p, orders, customer); o.GetId() != orderID {
		t.Errorf("the customer's only order is %s, want %s", o.GetId(), orderID)
	}
	checkStock(t, p, sku, c.want)

	// Quiescent databases, then the invariants.
	p.stop()
	rctx, rcancel := callCtx(t, "", 30*time.Second)
	defer rcancel()
	report, err := invariants.Check(rctx, invariants.ForDataDir(dir))
	if err != nil {
		t.Fatalf("invariants.Check() = %v", err)
	}
	if !report.OK() {
		t.Errorf("invariants after recovery from a crash at %s:\n%s", strings.Join(c.crashes, ", then "), report)
	} else {
		t.Logf("invariants: %s", report)
	}
}

// waitTerminal polls GetOrder as the customer until the order is
// completed or cancelled, failing the test after d.
func waitTerminal(t *testing.T, orders orderv1.OrderServiceClient, token, id string, d time.Duration) *orderv1.Order {
	t.Helper()
	deadline := time.Now().Add(d)
	var last *orderv1.Order
	var lastErr error
	for time.Now().Before(deadline) {
		ctx, cancel := callCtx(t, token, 5*time.Second)
		resp, err := orders.GetOrder(ctx, &orderv1.GetOrderRequest{Id: id})
		cancel()
		last, lastErr = resp.GetOrder(), err
		if s := last.GetStatus(); s == completed || s == cancelled {
			return last
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("order %s not terminal after %v: last GetOrder() = %v, %v", id, d, last, lastErr)
	return nil
}

// onlyOrder returns the customer's one order, failing if there is not
// exactly one.
func onlyOrder(t *testing.T, p *process, orders orderv1.OrderServiceClient, token string) *orderv1.Order {
	t.Helper()
	ctx, cancel := callCtx(t, token, 10*time.Second)
	defer cancel()
	resp, err := orders.ListOrders(ctx, &orderv1.ListOrdersRequest{})
	if err != nil || len(resp.GetOrders()) != 1 {
		t.Fatalf("%s: ListOrders() = %v, %v; want exactly one order", p.name, resp.GetOrders(), err)
	}
	return resp.GetOrders()[0]
}

// checkStock compares the SKU's stock with what the order's outcome
// leaves: sold if completed, all back if cancelled.
func checkStock(t *testing.T, p *process, sku string, status orderv1.OrderStatus) {
	t.Helper()
	ctx, cancel := callCtx(t, "", 10*time.Second)
	defer cancel()
	resp, err := catalogv1.NewCatalogServiceClient(p.dial("catalog")).GetStock(ctx, &catalogv1.GetStockRequest{Skus: []string{sku}})
	if err != nil || len(resp.GetStocks()) != 1 {
		t.Fatalf("GetStock(%s) = %v, %v", sku, resp, err)
	}
	st := resp.GetStocks()[0]
	wantAvailable, wantSold := int64(initialStock), int64(0)
	if status == completed {
		wantAvailable, wantSold = initialStock-quantity, quantity
	}
	if st.GetAvailable() != wantAvailable || st.GetReserved() != 0 || st.GetSold() != wantSold {
		t.Errorf("stock of %s after recovery = available %d, reserved %d, sold %d; want %d, 0, %d",
			sku, st.GetAvailable(), st.GetReserved(), st.GetSold(), wantAvailable, wantSold)
	}
}

// login returns an access token.
func login(t *testing.T, p *process, email, password string) string {
	t.Helper()
	ctx, cancel := callCtx(t, "", 10*time.Second)
	defer cancel()
	resp, err := identityv1.NewIdentityServiceClient(p.dial("identity")).Login(ctx, &identityv1.LoginRequest{Email: email, Password: password})
	if err != nil {
		t.Fatalf("Login(%s) = %v", email, err)
	}
	return resp.GetTokens().GetAccessToken()
}

// signUp registers a customer and returns its access token (it outlives a
// restart: the signing keys are in the data dir).
func signUp(t *testing.T, p *process, email string) string {
	t.Helper()
	ctx, cancel := callCtx(t, "", 10*time.Second)
	defer cancel()
	if _, err := identityv1.NewIdentityServiceClient(p.dial("identity")).Register(ctx, &identityv1.RegisterRequest{Email: email, Password: customerPassword}); err != nil {
		t.Fatalf("Register(%s) = %v", email, err)
	}
	return login(t, p, email, customerPassword)
}

// stockedProduct creates an active product with initialStock units of sku
// and returns its id.
func stockedProduct(t *testing.T, p *process, adminToken, sku string) string {
	t.Helper()
	ctx, cancel := callCtx(t, adminToken, 10*time.Second)
	defer cancel()
	catalog := catalogv1.NewCatalogServiceClient(p.dial("catalog"))
	created, err := catalog.CreateProduct(ctx, &catalogv1.CreateProductRequest{RequestId: uuid.NewString(), Product: &catalogv1.Product{
		Sku: sku, Title: "Product " + sku, Category: "test", Status: catalogv1.ProductStatus_PRODUCT_STATUS_ACTIVE,
		Price: &money.Money{CurrencyCode: "EUR", Units: unitPrice},
	}})
	if err != nil {
		t.Fatalf("CreateProduct(%s) = %v", sku, err)
	}
	if _, err := catalog.AdjustStock(ctx, &catalogv1.AdjustStockRequest{Sku: sku, Delta: initialStock, Reason: "delivery", RequestId: uuid.NewString()}); err != nil {
		t.Fatalf("AdjustStock(%s) = %v", sku, err)
	}
	return created.GetProduct().GetId()
}

func bearer(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// goCall runs call in the background as the bearer of token, bounded, and
// returns its result's channel: for a call the kill may cut.
func goCall(t *testing.T, token string, call func(ctx context.Context) error) chan error {
	done := make(chan error, 1)
	ctx, cancel := callCtx(t, token, 20*time.Second)
	go func() {
		defer cancel()
		done <- call(ctx)
	}()
	return done
}
