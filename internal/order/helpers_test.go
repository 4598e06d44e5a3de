package order_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/internal/order"
	"github.com/bazaarhq/bazaar/internal/order/store"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb/sqldbtest"
)

// env is a Service over a real SQLite store with fake remote services.
type env struct {
	st  *store.Store
	inv *fakeInventory
	pay *fakePayments
	svc *order.Service
	cfg order.Config
}

// fastConfig retries quickly, so that the tests take milliseconds.
func fastConfig() order.Config {
	return order.Config{
		PlaceOrderWait: 5 * time.Second, StepDeadline: 10 * time.Second, CallTimeout: 500 * time.Millisecond,
		LeaseTTL: 3 * time.Second, RetryBase: time.Millisecond, RetryMax: 5 * time.Millisecond,
		PollInterval: 10 * time.Millisecond,
	}
}

func newEnv(t testing.TB, cfg order.Config) *env {
	t.Helper()
	return newEnvOn(t, cfg, sqldbtest.SQLite())
}

// newEnvOn is newEnv on a fresh database of backend b.
func newEnvOn(t testing.TB, cfg order.Config, b sqldbtest.Backend) *env {
	t.Helper()
	tg := b.Fresh(t, "order")
	st, err := store.Open(t.Context(), tg.URL, tg.Options...)
	if err != nil {
		t.Fatalf("store.Open() = %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e := &env{st: st, inv: newFakeInventory(), pay: newFakePayments(), cfg: cfg}
	e.svc = e.newService(t, cfg)
	return e
}

// newService returns another Service over the env's store and fakes, as a
// restarted process would have. It is closed when the test ends.
func (e *env) newService(t testing.TB, cfg order.Config) *order.Service {
	t.Helper()
	svc, err := order.New(e.st, e.inv, e.pay, cfg)
	if err != nil {
		t.Fatalf("order.New() = %v", err)
	}
	t.Cleanup(svc.Close)
	return svc
}

func eur(units int64, nanos int32) order.Money {
	return order.Money{Currency: "EUR", Units: units, Nanos: nanos}
}

func user(id string) *auth.Principal {
	return &auth.Principal{Kind: auth.User, Subject: id, Roles: []string{"customer"}}
}

var (
	alice = user("u-alice")
	bob   = user("u-bob")
	admin = &auth.Principal{Kind: auth.User, Subject: "u-admin", Roles: []string{order.RoleAdmin}}
)

func place(t testing.TB, svc *order.Service, caller *auth.Principal, key, card string, items ...order.CartLine) *order.Order {
	t.Helper()
	o, err := svc.PlaceOrder(t.Context(), caller, order.PlaceRequest{IdempotencyKey: key, CardNumber: card, Items: items})
	if err != nil {
		t.Fatalf("PlaceOrder(%s) = %v", key, err)
	}
	return o
}

func line(productID string, qty int64) order.CartLine {
	return order.CartLine{ProductID: productID, Quantity: qty}
}

// wantKind fails unless err is an *errs.Error of kind and reason.
func wantKind(t testing.TB, call string, err error, kind errs.Kind, reason string) *errs.Error {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != kind || e.Reason != reason {
		t.Fatalf("%s = %v, want %v %s", call, err, kind, reason)
	}
	return e
}

// waitTerminal polls the order until it is completed or cancelled.
func waitTerminal(t testing.TB, st order.Store, id string) *order.Order {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		o, err := st.Order(t.Context(), id)
		if err != nil {
			t.Fatalf("Order(%s) = %v", id, err)
		}
		if o.Status.Terminal() && o.LeaseOwner == "" {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s is %v at step %v (attempts %d, last error %q), want it completed or cancelled",
				id, o.Status, o.Step, o.Attempts, o.LastError)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkInvariants fails t unless the order and the remote services agree
// (RELIABILITY.md, the checkout saga): completed <=> captured once <=>
// committed; cancelled => nothing charged and nothing held; and the stock
// adds up.
func (e *env) checkInvariants(t testing.TB, o *order.Order) {
	t.Helper()
	pays := e.pay.paymentsOf(o.ID)
	res := e.inv.reservationState(o.ID)
	switch o.Status {
	case order.StatusCompleted:
		if len(pays) != 1 || pays[o.PaymentID] != "CAPTURED" || e.pay.captureCount(o.PaymentID) != 1 {
			t.Errorf("completed order %s: payments %v (captures %d), want its payment %s captured once",
				o.ID, pays, e.pay.captureCount(o.PaymentID), o.PaymentID)
		}
		if res != "committed" {
			t.Errorf("completed order %s: reservation %q, want committed", o.ID, res)
		}
	case order.StatusCancelled:
		for id, st := range pays {
			if st != "VOIDED" && st != "DECLINED" && st != "REFUNDED" {
				t.Errorf("cancelled order %s: payment %s is %s, want voided, declined or refunded", o.ID, id, st)
			}
		}
		if res == "reserved" || res == "committed" {
			t.Errorf("cancelled order %s: reservation %q, want none, released or returned", o.ID, res)
		}
		if o.CancelCode == "" || o.CancelReason == "" {
			t.Errorf("cancelled order %s has no cancel reason", o.ID)
		}
	default:
		t.Errorf("order %s is %v, want completed or cancelled", o.ID, o.Status)
	}
	e.inv.checkStock(t)
}

// transitionsOf returns the statuses and steps of the order's transitions
// and checks that their sequences run from 1 without gaps and that every
// status change is allowed.
// topicsOf returns the topics of the order's events in the outbox.
func (e *env) topicsOf(t testing.TB, id string) []string {
	t.Helper()
	events, err := e.st.DB().ReadEvents(t.Context(), 0, 10000)
	if err != nil {
		t.Fatalf("ReadEvents() = %v", err)
	}
	var out []string
	for _, ev := range events {
		if ev.AggregateID == id {
			p, err := order.DecodeEvent(ev.Payload)
			if err != nil || p.OrderID != id {
				t.Errorf("event %d of %s: %+v, %v", ev.ID, id, p, err)
			}
			out = append(out, ev.Topic)
		}
	}
	return out
}

func transitionsOf(t testing.TB, st order.Store, id string) []string {
	t.Helper()
	ts, err := st.Transitions(context.Background(), id, 0, 100)
	if err != nil {
		t.Fatalf("Transitions(%s) = %v", id, err)
	}
	allowed := map[[2]order.Status]bool{
		{order.StatusPending, order.StatusPending}: true, {order.StatusPending, order.StatusCompleted}: true,
		{order.StatusPending, order.StatusCancelling}: true, {order.StatusCancelling, order.StatusCancelling}: true,
		{order.StatusCancelling, order.StatusCancelled}: true, {order.StatusCompleted, order.StatusCancelling}: true,
	}
	var out []string
	prev := order.StatusUnspecified
	for i, tr := range ts {
		if tr.Sequence != int64(i+1) {
			t.Errorf("transition %d of %s has sequence %d", i, id, tr.Sequence)
		}
		if i > 0 && !allowed[[2]order.Status{prev, tr.Status}] {
			t.Errorf("order %s went from %v to %v", id, prev, tr.Status)
		}
		prev = tr.Status
		out = append(out, tr.Status.String()+"/"+tr.Step.String())
	}
	return out
}

// crashOnce returns a failpoint that fails the first time name is reached.
func crashOnce(name string) func(context.Context, string) error {
	var once sync.Once
	return func(_ context.Context, at string) error {
		var err error
		if at == name {
			once.Do(func() { err = errors.New("crash at " + at) })
		}
		return err
	}
}
