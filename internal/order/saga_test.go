package order_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bazaarhq/bazaar/internal/order"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb/sqldbtest"
)

func TestCheckout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		card        string
		stock       int64
		failInv     func(op, id string) error
		failPay     func(op, key string) error
		wantStatus  order.Status
		wantCode    string
		wantHistory []string
	}{{
		name: "success", card: cardOK, stock: 5, wantStatus: order.StatusCompleted,
		wantHistory: []string{"pending/reserve", "pending/authorize", "pending/commit", "pending/capture", "completed/done"},
	}, {
		name: "insufficient stock", card: cardOK, stock: 1, wantStatus: order.StatusCancelled,
		wantCode:    order.ReasonInsufficientStock,
		wantHistory: []string{"pending/reserve", "cancelling/done", "cancelled/done"},
	}, {
		name: "declined releases the stock", card: cardDeclined, stock: 5, wantStatus: order.StatusCancelled,
		wantCode:    order.ReasonPaymentDeclined,
		wantHistory: []string{"pending/reserve", "pending/authorize", "cancelling/release", "cancelled/done"},
	}, {
		name: "insufficient funds", card: cardNoFunds, stock: 5, wantStatus: order.StatusCancelled,
		wantCode:    order.ReasonPaymentDeclined,
		wantHistory: []string{"pending/reserve", "pending/authorize", "cancelling/release", "cancelled/done"},
	}, {
		name: "transient twice then ok", card: cardFlakyTwice, stock: 5, wantStatus: order.StatusCompleted,
		wantHistory: []string{"pending/reserve", "pending/authorize", "pending/commit", "pending/capture", "completed/done"},
	}, {
		name: "pending then resolved", card: cardTimeout, stock: 5, wantStatus: order.StatusCompleted,
		wantHistory: []string{"pending/reserve", "pending/authorize", "pending/commit", "pending/capture", "completed/done"},
	}, {
		name: "catalog unavailable twice", card: cardOK, stock: 5, wantStatus: order.StatusCompleted,
		failInv:     failTimes(2, "commit"),
		wantHistory: []string{"pending/reserve", "pending/authorize", "pending/commit", "pending/capture", "completed/done"},
	}, {
		name: "compensation retried until it succeeds", card: cardDeclined, stock: 5, wantStatus: order.StatusCancelled,
		wantCode: order.ReasonPaymentDeclined, failInv: failTimes(3, "release"),
		wantHistory: []string{"pending/reserve", "pending/authorize", "cancelling/release", "cancelled/done"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := fastConfig()
			var commits atomic.Int64
			cfg.OnEvents = func() { commits.Add(1) }
			e := newEnv(t, cfg)
			e.inv.addProduct("p1", tt.stock, eur(12, 500_000_000))
			e.inv.setFail(tt.failInv)
			e.pay.setFail(tt.failPay)
			o := place(t, e.svc, alice, "k1", tt.card, line("p1", 2))
			if o.Status != tt.wantStatus || o.CancelCode != tt.wantCode {
				t.Fatalf("PlaceOrder() = %v (%s: %s), want %v %s", o.Status, o.CancelCode, o.CancelReason, tt.wantStatus, tt.wantCode)
			}
			if want := eur(25, 0); o.Total != want {
				t.Errorf("total = %v, want %v", o.Total, want)
			}
			o = waitTerminal(t, e.st, o.ID)
			e.checkInvariants(t, o)
			if got := transitionsOf(t, e.st, o.ID); !slices.Equal(got, tt.wantHistory) {
				t.Errorf("transitions = %v, want %v", got, tt.wantHistory)
			}
			if o.CardNumber != "" {
				t.Errorf("the card number is kept after the saga")
			}
			// One event per transition, the last saying how it ended.
			topics := e.topicsOf(t, o.ID)
			if len(topics) != len(tt.wantHistory) || topics[0] != order.TopicPlaced {
				t.Errorf("events = %v, want one per transition, placed first", topics)
			}
			last := order.TopicCompleted
			if tt.wantStatus == order.StatusCancelled {
				last = order.TopicCancelled
				if !slices.Contains(topics, order.TopicCancelling) {
					t.Errorf("events = %v, want %s", topics, order.TopicCancelling)
				}
			}
			if topics[len(topics)-1] != last {
				t.Errorf("events = %v, want %s last", topics, last)
			}
			if n := commits.Load(); n < 2 || n > int64(len(topics)) {
				t.Errorf("OnEvents was called %d times for %d events", n, len(topics))
			}
		})
	}
}

// failTimes fails the first n calls of op with a transient error.
func failTimes(n int, op string) func(string, string) error {
	var mu sync.Mutex
	left := n
	return func(o, _ string) error {
		mu.Lock()
		defer mu.Unlock()
		if o == op && left > 0 {
			left--
			return errUnavailable
		}
		return nil
	}
}

func TestStepDeadlineCompensates(t *testing.T) {
	t.Parallel()
	cfg := fastConfig()
	cfg.StepDeadline = 50 * time.Millisecond
	e := newEnv(t, cfg)
	e.inv.addProduct("p1", 5, eur(10, 0))
	// The commit never answers: its outcome is unknown, so the
	// compensation voids the payment and undoes the reservation whatever
	// state it is in.
	e.inv.setFail(func(op, _ string) error {
		if op == "commit" {
			return errUnavailable
		}
		return nil
	})
	o := place(t, e.svc, alice, "k1", cardOK, line("p1", 1))
	o = waitTerminal(t, e.st, o.ID)
	if o.Status != order.StatusCancelled || o.CancelCode != order.CancelStepDeadline {
		t.Fatalf("order = %v %s, want cancelled %s", o.Status, o.CancelCode, order.CancelStepDeadline)
	}
	e.checkInvariants(t, o)
	if got := e.inv.level("SKU-p1"); got.available != 5 {
		t.Errorf("stock after compensation = %+v, want 5 available", got)
	}
}

// TestLostAnswers: a step takes effect but its answer never arrives, until
// the step deadline compensates: the compensation undoes the effect the
// saga could not see.
func TestLostAnswers(t *testing.T) {
	t.Parallel()
	always := func(op string) func(string, string) error {
		return func(o, _ string) error {
			if o == op {
				return errUnavailable
			}
			return nil
		}
	}
	for _, tt := range []struct {
		name     string
		inv, pay func(string, string) error
		wantPay  string
	}{
		{"reserve", always("reserve"), nil, ""},
		{"commit", always("commit"), nil, "VOIDED"},
		{"capture", nil, always("capture"), "REFUNDED"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := fastConfig()
			cfg.StepDeadline = 30 * time.Millisecond
			e := newEnv(t, cfg)
			e.inv.addProduct("p1", 5, eur(10, 0))
			e.inv.setLose(tt.inv)
			e.pay.setLose(tt.pay)
			o := place(t, e.svc, alice, "k1", cardOK, line("p1", 2))
			o = waitTerminal(t, e.st, o.ID)
			if o.Status != order.StatusCancelled || o.CancelCode != order.CancelStepDeadline {
				t.Fatalf("order = %v %s, want cancelled %s", o.Status, o.CancelCode, order.CancelStepDeadline)
			}
			e.checkInvariants(t, o)
			if lv := e.inv.level("SKU-p1"); lv.available != 5 {
				t.Errorf("stock = %+v, want all 5 available again", lv)
			}
			for id, st := range e.pay.paymentsOf(o.ID) {
				if st != tt.wantPay {
					t.Errorf("payment %s is %s, want %s", id, st, tt.wantPay)
				}
			}
			transitionsOf(t, e.st, o.ID)
		})
	}
}

func TestCrashRecovery(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		failpoint string
		card      string
		want      order.Status
	}{
		{"after-order-row", cardOK, order.StatusCompleted},
		{"after-reserve", cardOK, order.StatusCompleted},
		{"after-authorize", cardOK, order.StatusCompleted},
		{"after-commit", cardOK, order.StatusCompleted},
		{"after-capture", cardOK, order.StatusCompleted},
		{"before-compensation", cardDeclined, order.StatusCancelled},
		{"mid-compensation", cardDeclined, order.StatusCancelled},
		{"after-release", cardDeclined, order.StatusCancelled},
	} {
		t.Run(tt.failpoint, func(t *testing.T) {
			t.Parallel()
			cfg := fastConfig()
			cfg.PlaceOrderWait = 20 * time.Millisecond
			cfg.LeaseTTL = 1500 * time.Millisecond
			cfg.Failpoint = crashOnce(tt.failpoint)
			e := newEnv(t, cfg)
			e.inv.addProduct("p1", 5, eur(10, 0))
			o, err := e.svc.PlaceOrder(t.Context(), alice, order.PlaceRequest{IdempotencyKey: "k1", CardNumber: tt.card, Items: []order.CartLine{line("p1", 1)}})
			if err != nil && tt.failpoint != "after-order-row" {
				t.Fatalf("PlaceOrder() = %v", err)
			}
			e.svc.Close() // the process died

			restarted := e.newService(t, fastConfig())
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- restarted.Run(ctx) }()
			defer func() {
				cancel()
				<-done
			}()
			var id string
			if o != nil {
				id = o.ID
			} else {
				prev, err := e.st.OrderByKey(t.Context(), alice.Subject, "k1")
				if err != nil {
					t.Fatalf("OrderByKey() = %v", err)
				}
				id = prev.ID
			}
			got := waitTerminal(t, e.st, id)
			if got.Status != tt.want {
				t.Fatalf("after recovery the order is %v (%s), want %v", got.Status, got.CancelReason, tt.want)
			}
			e.checkInvariants(t, got)
			transitionsOf(t, e.st, id)
		})
	}
}

// TestCrashThenCancel: the process dies after a step's call succeeded but
// before it was saved, then the customer cancels before recovery: the
// compensation must undo that step too (the stock released, the hold
// voided), though nothing recorded that the call was made.
func TestCrashThenCancel(t *testing.T) {
	t.Parallel()
	for _, failpoint := range []string{"after-reserve", "after-authorize"} {
		t.Run(failpoint, func(t *testing.T) {
			t.Parallel()
			cfg := fastConfig()
			cfg.PlaceOrderWait = 20 * time.Millisecond
			cfg.LeaseTTL = 1500 * time.Millisecond
			cfg.Failpoint = crashOnce(failpoint)
			e := newEnv(t, cfg)
			e.inv.addProduct("p1", 5, eur(10, 0))
			o, err := e.svc.PlaceOrder(t.Context(), alice, order.PlaceRequest{IdempotencyKey: "k1", CardNumber: cardOK, Items: []order.CartLine{line("p1", 1)}})
			if err != nil {
				t.Fatalf("PlaceOrder() = %v", err)
			}
			e.svc.Close() // the process died with the step's effect unsaved

			restarted := e.newService(t, fastConfig())
			if _, err := restarted.CancelOrder(t.Context(), alice, o.ID, "changed my mind"); err != nil {
				t.Fatalf("CancelOrder() = %v", err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- restarted.Run(ctx) }()
			defer func() {
				cancel()
				<-done
			}()
			got := waitTerminal(t, e.st, o.ID)
			if got.Status != order.StatusCancelled {
				t.Fatalf("after recovery the order is %v, want cancelled", got.Status)
			}
			e.checkInvariants(t, got)
		})
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	t.Run("before capture", func(t *testing.T) {
		t.Parallel()
		cfg := fastConfig()
		reached, proceed := make(chan struct{}), make(chan struct{})
		cfg.Failpoint = func(_ context.Context, name string) error {
			if name == "after-authorize" {
				close(reached)
				<-proceed
			}
			return nil
		}
		e := newEnv(t, cfg)
		e.inv.addProduct("p1", 5, eur(10, 0))
		placed := make(chan *order.Order, 1)
		go func() {
			o, _ := e.svc.PlaceOrder(context.Background(), alice, order.PlaceRequest{IdempotencyKey: "k1", CardNumber: cardOK, Items: []order.CartLine{line("p1", 1)}})
			placed <- o
		}()
		<-reached
		prev, err := e.st.OrderByKey(t.Context(), alice.Subject, "k1")
		if err != nil {
			t.Fatal(err)
		}
		cancelled := make(chan *order.Order, 1)
		go func() {
			o, err := e.svc.CancelOrder(context.Background(), alice, prev.ID, "changed my mind")
			if err != nil {
				t.Errorf("CancelOrder() = %v", err)
			}
			cancelled <- o
		}()
		// Let the cancel request land while the driver is mid-step.
		for {
			cur, _ := e.st.Order(t.Context(), prev.ID)
			if cur.CancelRequested {
				break
			}
			time.Sleep(time.Millisecond)
		}
		close(proceed)
		o := <-cancelled
		if o == nil || o.Status != order.StatusCancelled || o.CancelCode != order.CancelByCustomer {
			t.Fatalf("CancelOrder() = %+v, want cancelled by the customer", o)
		}
		<-placed
		o = waitTerminal(t, e.st, o.ID)
		e.checkInvariants(t, o)
		if got := e.pay.paymentsOf(o.ID)[o.PaymentID]; got != "VOIDED" {
			t.Errorf("payment = %s, want VOIDED", got)
		}
	})
	t.Run("after completion", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, fastConfig())
		e.inv.addProduct("p1", 5, eur(10, 0))
		o := place(t, e.svc, alice, "k1", cardOK, line("p1", 2))
		if o.Status != order.StatusCompleted {
			t.Fatalf("PlaceOrder() = %v", o.Status)
		}
		got, err := e.svc.CancelOrder(t.Context(), alice, o.ID, "")
		if err != nil || got.Status != order.StatusCancelled {
			t.Fatalf("CancelOrder() = %v, %v, want cancelled", got, err)
		}
		got = waitTerminal(t, e.st, o.ID)
		e.checkInvariants(t, got)
		if st := e.pay.paymentsOf(o.ID)[o.PaymentID]; st != "REFUNDED" {
			t.Errorf("payment = %s, want REFUNDED", st)
		}
		if lv := e.inv.level("SKU-p1"); lv.available != 5 || lv.sold != 0 {
			t.Errorf("stock = %+v, want 5 available", lv)
		}
		want := []string{"pending/reserve", "pending/authorize", "pending/commit", "pending/capture", "completed/done",
			"cancelling/refund", "cancelling/return", "cancelled/done"}
		if h := transitionsOf(t, e.st, o.ID); !slices.Equal(h, want) {
			t.Errorf("transitions = %v, want %v", h, want)
		}
		// Cancelling again changes nothing.
		again, err := e.svc.CancelOrder(t.Context(), alice, o.ID, "")
		if err != nil || again.Sequence != got.Sequence {
			t.Errorf("CancelOrder() again = %v, %v; want a no-op", again, err)
		}
	})
	t.Run("not yours", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, fastConfig())
		e.inv.addProduct("p1", 5, eur(10, 0))
		o := place(t, e.svc, alice, "k1", cardOK, line("p1", 1))
		_, err := e.svc.CancelOrder(t.Context(), bob, o.ID, "")
		wantKind(t, "CancelOrder(bob)", err, errs.NotFound, order.ReasonOrderNotFound)
	})
}

func TestIdempotentPlaceOrder(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		testIdempotentPlaceOrder(t, sqldbtest.SQLite())
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		testIdempotentPlaceOrder(t, sqldbtest.Postgres(t))
	})
}

func testIdempotentPlaceOrder(t *testing.T, b sqldbtest.Backend) {
	e := newEnvOn(t, fastConfig(), b)
	e.inv.addProduct("p1", 100, eur(3, 0))
	e.inv.addProduct("p2", 100, eur(4, 0))
	first := place(t, e.svc, alice, "k1", cardOK, line("p1", 1), line("p2", 2))
	again := place(t, e.svc, alice, "k1", cardOK, line("p2", 2), line("p1", 1))
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("PlaceOrder() again differs (-first +again):\n%s", diff)
	}
	_, err := e.svc.PlaceOrder(t.Context(), alice, order.PlaceRequest{IdempotencyKey: "k1", CardNumber: cardOK, Items: []order.CartLine{line("p1", 2)}})
	wantKind(t, "PlaceOrder(other request, same key)", err, errs.InvalidArgument, order.ReasonIdempotencyKeyReused)
	// The key is the customer's own: bob's k1 is another order.
	if o := place(t, e.svc, bob, "k1", cardOK, line("p1", 1)); o.ID == first.ID {
		t.Errorf("bob's k1 placed alice's order")
	}

	// Ten at once: one order, one charge, identical answers.
	const n = 10
	answers := make([]*order.Order, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			o, err := e.svc.PlaceOrder(context.Background(), alice, order.PlaceRequest{IdempotencyKey: "k2", CardNumber: cardOK, Items: []order.CartLine{line("p1", 1)}})
			if err != nil {
				t.Errorf("PlaceOrder() #%d = %v", i, err)
			}
			answers[i] = o
		})
	}
	wg.Wait()
	for i := 1; i < n; i++ {
		if diff := cmp.Diff(answers[0], answers[i]); diff != "" {
			t.Errorf("answer %d differs (-0 +%d):\n%s", i, i, diff)
		}
	}
	if answers[0] == nil || answers[0].Status != order.StatusCompleted {
		t.Fatalf("answer = %+v, want completed", answers[0])
	}
	if pays := e.pay.paymentsOf(answers[0].ID); len(pays) != 1 {
		t.Errorf("payments = %v, want one", pays)
	}
	e.checkInvariants(t, answers[0])
}

func TestLastUnitsRace(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		testLastUnitsRace(t, sqldbtest.SQLite())
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		testLastUnitsRace(t, sqldbtest.Postgres(t))
	})
}

func testLastUnitsRace(t *testing.T, b sqldbtest.Backend) {
	e := newEnvOn(t, fastConfig(), b)
	e.inv.addProduct("p1", 3, eur(99, 0))
	const buyers = 50
	results := make([]*order.Order, buyers)
	var wg sync.WaitGroup
	for i := range buyers {
		wg.Go(func() {
			o, err := e.svc.PlaceOrder(context.Background(), user(fmt.Sprintf("u-%d", i)), order.PlaceRequest{
				IdempotencyKey: "k", CardNumber: cardOK, Items: []order.CartLine{line("p1", 1)},
			})
			if err != nil {
				t.Errorf("PlaceOrder(buyer %d) = %v", i, err)
			}
			results[i] = o
		})
	}
	wg.Wait()
	completed := 0
	for _, o := range results {
		if o == nil {
			continue
		}
		o = waitTerminal(t, e.st, o.ID)
		e.checkInvariants(t, o)
		if o.Status == order.StatusCompleted {
			completed++
		} else if o.CancelCode != order.ReasonInsufficientStock {
			t.Errorf("order %s cancelled for %s, want %s", o.ID, o.CancelCode, order.ReasonInsufficientStock)
		}
	}
	if completed != 3 {
		t.Errorf("%d orders completed, want 3", completed)
	}
	if lv := e.inv.level("SKU-p1"); lv.sold != 3 || lv.available != 0 {
		t.Errorf("stock = %+v, want 3 sold", lv)
	}
}

func TestLeaseExclusive(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		testLeaseExclusive(t, sqldbtest.SQLite())
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		testLeaseExclusive(t, sqldbtest.Postgres(t))
	})
}

// testLeaseExclusive: orders left by a crash right after their row; two
// recovering processes race for them, and each step happens once.
func testLeaseExclusive(t *testing.T, backend sqldbtest.Backend) {
	cfg := fastConfig()
	cfg.Failpoint = func(context.Context, string) error { return errors.New("crash") }
	cfg.LeaseTTL = 1100 * time.Millisecond
	e := newEnvOn(t, cfg, backend)
	e.inv.addProduct("p1", 100, eur(1, 0))
	var ids []string
	for i := range 10 {
		_, err := e.svc.PlaceOrder(t.Context(), alice, order.PlaceRequest{
			IdempotencyKey: fmt.Sprintf("k%d", i), CardNumber: cardOK, Items: []order.CartLine{line("p1", 1)},
		})
		wantKind(t, "PlaceOrder()", err, errs.Unavailable, order.ReasonCheckoutInterrupted)
		o, err := e.st.OrderByKey(t.Context(), alice.Subject, fmt.Sprintf("k%d", i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, o.ID)
	}
	e.svc.Close()
	a, b := e.newService(t, fastConfig()), e.newService(t, fastConfig())
	time.Sleep(cfg.LeaseTTL)
	var wg sync.WaitGroup
	for _, svc := range []*order.Service{a, b} {
		wg.Go(func() {
			if _, err := svc.Recover(t.Context()); err != nil {
				t.Errorf("Recover() = %v", err)
			}
			svc.Wait()
		})
	}
	wg.Wait()
	for _, id := range ids {
		o := waitTerminal(t, e.st, id)
		if o.Status != order.StatusCompleted {
			t.Errorf("order %s is %v, want completed", id, o.Status)
		}
		e.checkInvariants(t, o)
		if n := e.inv.callCount("reserve", id); n != 1 {
			t.Errorf("order %s was reserved %d times, want once", id, n)
		}
	}
}

func TestOrderVisibility(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fastConfig())
	e.inv.addProduct("p1", 10, eur(10, 0))
	o := place(t, e.svc, alice, "k1", cardOK, line("p1", 1))
	if _, err := e.svc.GetOrder(t.Context(), admin, o.ID); err != nil {
		t.Errorf("GetOrder(admin) = %v", err)
	}
	_, err := e.svc.GetOrder(t.Context(), bob, o.ID)
	wantKind(t, "GetOrder(bob)", err, errs.NotFound, order.ReasonOrderNotFound)
	_, err = e.svc.GetOrder(t.Context(), nil, o.ID)
	wantKind(t, "GetOrder(nobody)", err, errs.Unauthenticated, "CREDENTIALS_REQUIRED")
	_, _, err = e.svc.Transitions(t.Context(), bob, o.ID, 0)
	wantKind(t, "Transitions(bob)", err, errs.NotFound, order.ReasonOrderNotFound)
}
