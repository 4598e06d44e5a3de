package store_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bazaarhq/bazaar/internal/order"
	"github.com/bazaarhq/bazaar/internal/order/store"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb/sqldbtest"
)

func TestSQLite(t *testing.T) {
	t.Parallel()
	testContract(t, sqldbtest.SQLite())
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	testContract(t, sqldbtest.Postgres(t))
}

// testContract runs the order.Store contract against fresh stores of one
// engine.
func testContract(t *testing.T, b sqldbtest.Backend) {
	open := func(t *testing.T) *store.Store {
		tg := b.Fresh(t, "order")
		st, err := store.Open(t.Context(), tg.URL, tg.Options...)
		if err != nil {
			t.Fatalf("store.Open() = %v", err)
		}
		t.Cleanup(func() {
			if err := st.Close(); err != nil {
				t.Errorf("Close() = %v", err)
			}
		})
		return st
	}
	for name, test := range map[string]func(t *testing.T, st *store.Store){
		"CreateAndRead":      testCreateAndRead,
		"DuplicateKey":       testDuplicateKey,
		"UpdateOrder":        testUpdateOrder,
		"UpdateOrderFnError": testUpdateOrderFnError,
		"Lease":              testLease,
		"LeaseRace":          testLeaseRace,
		"DueOrders":          testDueOrders,
		"ListOrders":         testListOrders,
		"Cart":               testCart,
		"CreateClearsCart":   testCreateClearsCart,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, open(t))
		})
	}
}

// t0 is the fixtures' reference time: UTC, at the microsecond precision
// both engines keep.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)

func newOrder(id, customer, key string, created time.Time) *order.Order {
	return &order.Order{
		ID: id, CustomerID: customer, IdempotencyKey: key, Fingerprint: []byte{1, 2, 3},
		Items: []order.Item{{ProductID: "p1", SKU: "SKU-1", Title: "Knife", Quantity: 2,
			UnitPrice: order.Money{Currency: "EUR", Units: 12, Nanos: 500_000_000}}},
		Total:  order.Money{Currency: "EUR", Units: 25},
		Status: order.StatusPending, Step: order.StepReserveStock, NextAttemptAt: created, StepStartTime: created,
		LeaseUntil: time.Time{}, CardNumber: "4242424242424242", Sequence: 1, CreateTime: created, UpdateTime: created,
	}
}

func mustCreate(t *testing.T, st *store.Store, o *order.Order, clearCart bool) {
	t.Helper()
	tr := &order.Transition{OrderID: o.ID, Sequence: 1, Status: o.Status, Step: o.Step, Reason: "placed", Time: o.CreateTime, Order: o}
	ev := order.Event{Topic: order.TopicPlaced, AggregateID: o.ID, Payload: []byte(`{}`)}
	if err := st.CreateOrder(t.Context(), o, tr, clearCart, ev); err != nil {
		t.Fatalf("CreateOrder(%s) = %v", o.ID, err)
	}
}

func topics(t *testing.T, st *store.Store) []string {
	t.Helper()
	events, err := st.DB().ReadEvents(t.Context(), 0, 1000)
	if err != nil {
		t.Fatalf("ReadEvents() = %v", err)
	}
	var out []string
	for _, e := range events {
		out = append(out, e.Topic+" "+e.AggregateID)
	}
	return out
}

func testCreateAndRead(t *testing.T, st *store.Store) {
	o := newOrder("o1", "alice", "k1", t0)
	o.Reserved, o.CancelRequested = true, true
	mustCreate(t, st, o, false)
	got, err := st.Order(t.Context(), "o1")
	if err != nil {
		t.Fatalf("Order() = %v", err)
	}
	if diff := cmp.Diff(o, got); diff != "" {
		t.Errorf("Order() differs (-want +got):\n%s", diff)
	}
	byKey, err := st.OrderByKey(t.Context(), "alice", "k1")
	if err != nil || byKey.ID != "o1" {
		t.Errorf("OrderByKey() = %v, %v", byKey, err)
	}
	if _, err := st.Order(t.Context(), "nope"); !errors.Is(err, order.ErrNotFound) {
		t.Errorf("Order(nope) = %v, want ErrNotFound", err)
	}
	if _, err := st.OrderByKey(t.Context(), "bob", "k1"); !errors.Is(err, order.ErrNotFound) {
		t.Errorf("OrderByKey(bob) = %v, want ErrNotFound", err)
	}
	ts, err := st.Transitions(t.Context(), "o1", 0, 10)
	if err != nil || len(ts) != 1 || ts[0].Sequence != 1 || ts[0].Order.ID != "o1" || ts[0].Order.CardNumber != "" {
		t.Errorf("Transitions() = %+v, %v", ts, err)
	}
	if diff := cmp.Diff([]string{"order.placed.v1 o1"}, topics(t, st)); diff != "" {
		t.Errorf("outbox differs:\n%s", diff)
	}
}

func testDuplicateKey(t *testing.T, st *store.Store) {
	mustCreate(t, st, newOrder("o1", "alice", "k1", t0), false)
	o := newOrder("o2", "alice", "k1", t0)
	tr := &order.Transition{OrderID: "o2", Sequence: 1, Status: o.Status, Step: o.Step, Time: t0, Order: o}
	if err := st.CreateOrder(t.Context(), o, tr, false); !errors.Is(err, order.ErrDuplicate) {
		t.Errorf("CreateOrder(same key) = %v, want ErrDuplicate", err)
	}
	if _, err := st.Order(t.Context(), "o2"); !errors.Is(err, order.ErrNotFound) {
		t.Errorf("the duplicate was written: %v", err)
	}
	mustCreate(t, st, newOrder("o3", "bob", "k1", t0), false) // keys are per customer
}

func testUpdateOrder(t *testing.T, st *store.Store) {
	mustCreate(t, st, newOrder("o1", "alice", "k1", t0), false)
	t1 := t0.Add(time.Second)
	got, err := st.UpdateOrder(t.Context(), "o1", func(o *order.Order) ([]order.Transition, []order.Event, error) {
		o.Reserved, o.Step, o.Sequence, o.UpdateTime, o.PaymentID = true, order.StepAuthorizePayment, 3, t1, "pay-1"
		o.Attempts, o.LastError, o.CardNumber = 2, "boom", ""
		return []order.Transition{
				{OrderID: "o1", Sequence: 2, Status: order.StatusPending, Step: order.StepAuthorizePayment, Time: t1, Order: o},
				{OrderID: "o1", Sequence: 3, Status: order.StatusPending, Step: order.StepAuthorizePayment, Time: t1, Order: o},
			}, []order.Event{{Topic: order.TopicProgressed, AggregateID: "o1", Payload: []byte(`{}`)}},
			nil
	})
	if err != nil {
		t.Fatalf("UpdateOrder() = %v", err)
	}
	read, err := st.Order(t.Context(), "o1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, read); diff != "" {
		t.Errorf("read back differs (-written +read):\n%s", diff)
	}
	if !read.Reserved || read.PaymentID != "pay-1" || read.Sequence != 3 || read.Attempts != 2 || read.CardNumber != "" {
		t.Errorf("UpdateOrder() wrote %+v", read)
	}
	ts, err := st.Transitions(t.Context(), "o1", 1, 10)
	if err != nil || len(ts) != 2 || ts[0].Sequence != 2 || ts[1].Sequence != 3 {
		t.Errorf("Transitions(after 1) = %+v, %v", ts, err)
	}
	if _, err := st.UpdateOrder(t.Context(), "nope", func(*order.Order) ([]order.Transition, []order.Event, error) {
		return nil, nil, nil
	}); !errors.Is(err, order.ErrNotFound) {
		t.Errorf("UpdateOrder(nope) = %v, want ErrNotFound", err)
	}
}

func testUpdateOrderFnError(t *testing.T, st *store.Store) {
	mustCreate(t, st, newOrder("o1", "alice", "k1", t0), false)
	boom := errors.New("boom")
	_, err := st.UpdateOrder(t.Context(), "o1", func(o *order.Order) ([]order.Transition, []order.Event, error) {
		o.Status = order.StatusCancelled
		return nil, nil, boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("UpdateOrder() = %v, want fn's error", err)
	}
	if o, _ := st.Order(t.Context(), "o1"); o.Status != order.StatusPending {
		t.Errorf("UpdateOrder() wrote despite fn's error")
	}
}

func testLease(t *testing.T, st *store.Store) {
	ctx := t.Context()
	mustCreate(t, st, newOrder("o1", "alice", "k1", t0), false)
	o, err := st.AcquireLease(ctx, "o1", "a", t0, t0.Add(time.Minute))
	if err != nil || o.LeaseOwner != "a" || !o.LeaseUntil.Equal(t0.Add(time.Minute)) {
		t.Fatalf("AcquireLease(a) = %+v, %v", o, err)
	}
	if _, err := st.AcquireLease(ctx, "o1", "b", t0.Add(time.Second), t0.Add(time.Minute)); !errors.Is(err, order.ErrNotLeasable) {
		t.Errorf("AcquireLease(b) while a holds it = %v, want ErrNotLeasable", err)
	}
	if _, err := st.AcquireLease(ctx, "o1", "a", t0.Add(time.Second), t0.Add(2*time.Minute)); err != nil {
		t.Errorf("AcquireLease(a) again = %v, want a renewal", err)
	}
	if o, err := st.AcquireLease(ctx, "o1", "b", t0.Add(2*time.Minute), t0.Add(3*time.Minute)); err != nil || o.LeaseOwner != "b" {
		t.Errorf("AcquireLease(b) after expiry = %v, %v", o, err)
	}
	if _, err := st.AcquireLease(ctx, "nope", "b", t0, t0); !errors.Is(err, order.ErrNotFound) {
		t.Errorf("AcquireLease(nope) = %v, want ErrNotFound", err)
	}
	done := newOrder("o2", "alice", "k2", t0)
	done.Status, done.Step = order.StatusCompleted, order.StepDone
	mustCreate(t, st, done, false)
	if _, err := st.AcquireLease(ctx, "o2", "a", t0, t0.Add(time.Minute)); !errors.Is(err, order.ErrNotLeasable) {
		t.Errorf("AcquireLease(completed) = %v, want ErrNotLeasable", err)
	}
}

func testLeaseRace(t *testing.T, st *store.Store) {
	mustCreate(t, st, newOrder("o1", "alice", "k1", t0), false)
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		won []string
	)
	for i := range 8 {
		wg.Go(func() {
			owner := fmt.Sprintf("d%d", i)
			if _, err := st.AcquireLease(t.Context(), "o1", owner, t0, t0.Add(time.Minute)); err == nil {
				mu.Lock()
				won = append(won, owner)
				mu.Unlock()
			} else if !errors.Is(err, order.ErrNotLeasable) {
				t.Errorf("AcquireLease(%s) = %v", owner, err)
			}
		})
	}
	wg.Wait()
	if len(won) != 1 {
		t.Errorf("%v took the lease, want exactly one", won)
	}
}

func testDueOrders(t *testing.T, st *store.Store) {
	ctx := t.Context()
	due := newOrder("due", "alice", "k1", t0)
	later := newOrder("later", "alice", "k2", t0)
	later.NextAttemptAt = t0.Add(time.Hour)
	leased := newOrder("leased", "alice", "k3", t0)
	leased.LeaseOwner, leased.LeaseUntil = "x", t0.Add(time.Minute)
	expired := newOrder("expired", "alice", "k4", t0.Add(-time.Second))
	expired.LeaseOwner, expired.LeaseUntil = "x", t0.Add(-time.Second)
	done := newOrder("done", "alice", "k5", t0)
	done.Status = order.StatusCancelled
	for _, o := range []*order.Order{due, later, leased, expired, done} {
		mustCreate(t, st, o, false)
	}
	ids, err := st.DueOrders(ctx, t0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"expired", "due"}, ids); diff != "" {
		t.Errorf("DueOrders() differs (-want +got):\n%s", diff)
	}
	if ids, _ := st.DueOrders(ctx, t0, 1); len(ids) != 1 {
		t.Errorf("DueOrders(limit 1) = %v", ids)
	}
}

func testListOrders(t *testing.T, st *store.Store) {
	ctx := t.Context()
	for i := range 5 {
		o := newOrder(fmt.Sprintf("a%d", i), "alice", fmt.Sprintf("k%d", i), t0.Add(time.Duration(i)*time.Second))
		if i%2 == 0 {
			o.Status = order.StatusCompleted
		}
		mustCreate(t, st, o, false)
	}
	mustCreate(t, st, newOrder("b0", "bob", "k0", t0), false)
	ids := func(os []*order.Order) []string {
		var out []string
		for _, o := range os {
			out = append(out, o.ID)
		}
		return out
	}
	page, err := st.ListOrders(ctx, order.Query{CustomerID: "alice", Limit: 2})
	if err != nil || !cmp.Equal(ids(page), []string{"a4", "a3"}) {
		t.Fatalf("ListOrders(alice) = %v, %v", ids(page), err)
	}
	next, err := st.ListOrders(ctx, order.Query{CustomerID: "alice", Limit: 10,
		After: &order.Cursor{CreateTime: page[1].CreateTime, ID: page[1].ID}})
	if err != nil || !cmp.Equal(ids(next), []string{"a2", "a1", "a0"}) {
		t.Errorf("ListOrders(alice, after a3) = %v, %v", ids(next), err)
	}
	done, err := st.ListOrders(ctx, order.Query{CustomerID: "alice", Status: order.StatusCompleted, Limit: 10})
	if err != nil || !cmp.Equal(ids(done), []string{"a4", "a2", "a0"}) {
		t.Errorf("ListOrders(alice, completed) = %v, %v", ids(done), err)
	}
	all, err := st.ListOrders(ctx, order.Query{Limit: 10})
	if err != nil || len(all) != 6 {
		t.Errorf("ListOrders(all) = %v, %v", ids(all), err)
	}
	if _, err := st.ListOrders(ctx, order.Query{}); !errors.Is(err, sqldb.ErrInvalidArgument) {
		t.Errorf("ListOrders(limit 0) = %v, want ErrInvalidArgument", err)
	}
}

func testCart(t *testing.T, st *store.Store) {
	ctx := t.Context()
	c, err := st.Cart(ctx, "alice")
	if err != nil || len(c.Lines) != 0 || !c.UpdateTime.IsZero() {
		t.Fatalf("Cart(none) = %+v, %v", c, err)
	}
	got, err := st.UpdateCart(ctx, "alice", func(c *order.Cart) error {
		c.Lines = append(c.Lines, order.CartLine{ProductID: "p2", Quantity: 1}, order.CartLine{ProductID: "p1", Quantity: 3})
		c.UpdateTime = t0
		return nil
	})
	if err != nil {
		t.Fatalf("UpdateCart() = %v", err)
	}
	read, err := st.Cart(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, read); diff != "" {
		t.Errorf("Cart() differs (-written +read):\n%s", diff)
	}
	boom := errors.New("boom")
	if _, err := st.UpdateCart(ctx, "alice", func(c *order.Cart) error { c.Lines = nil; return boom }); !errors.Is(err, boom) {
		t.Errorf("UpdateCart(fn error) = %v", err)
	}
	if c, _ := st.Cart(ctx, "alice"); len(c.Lines) != 2 {
		t.Errorf("UpdateCart() wrote despite fn's error: %+v", c)
	}
	if c, _ := st.Cart(ctx, "bob"); len(c.Lines) != 0 {
		t.Errorf("bob sees alice's cart: %+v", c)
	}
}

func testCreateClearsCart(t *testing.T, st *store.Store) {
	ctx := t.Context()
	if _, err := st.UpdateCart(ctx, "alice", func(c *order.Cart) error {
		c.Lines, c.UpdateTime = []order.CartLine{{ProductID: "p1", Quantity: 1}}, t0
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, st, newOrder("o1", "alice", "k1", t0), true)
	if c, _ := st.Cart(ctx, "alice"); len(c.Lines) != 0 {
		t.Errorf("cart after CreateOrder(clearCart) = %+v, want empty", c)
	}
}
