package store_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/internal/payment"
	"github.com/bazaarhq/bazaar/internal/payment/processor"
	"github.com/bazaarhq/bazaar/internal/payment/store"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb/sqldbtest"
)

// backend opens fresh, isolated payment stores on one engine.
type backend struct {
	name string
	open func(t testing.TB) *store.Store
}

func sqliteBackend() backend { return backendOn(sqldbtest.SQLite()) }

// postgresBackend isolates each store in a random schema of the test
// server; it skips without a server (fails under CI).
func postgresBackend(t testing.TB) backend { return backendOn(sqldbtest.Postgres(t)) }

func backendOn(b sqldbtest.Backend) backend {
	return backend{name: b.Name, open: func(t testing.TB) *store.Store {
		tg := b.Fresh(t, "payment")
		return openStore(t, tg.URL, tg.Options...)
	}}
}

func openStore(t testing.TB, url string, opts ...sqldb.Option) *store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), url, opts...)
	if err != nil {
		t.Fatalf("store.Open(%s) = %v", url, err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("store.Close() = %v", err)
		}
	})
	return st
}

// t0 is the fixtures' reference time, at the microsecond precision both
// engines keep.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newService returns a Service over st and a simulated processor on st's
// database, with a clock at t0 that the test advances.
func newService(t testing.TB, st *store.Store) (*payment.Service, *clock) {
	t.Helper()
	c := &clock{now: t0}
	proc, err := processor.New(st.DB(), processor.Config{Clock: c.Now})
	if err != nil {
		t.Fatalf("processor.New() = %v", err)
	}
	svc, err := payment.New(st, proc, payment.Config{Clock: c.Now, ProcessorBackoff: time.Millisecond})
	if err != nil {
		t.Fatalf("payment.New() = %v", err)
	}
	return svc, c
}

func eur(units int64) payment.Money {
	return payment.Money{Currency: "EUR", Nanos: units * payment.NanosPerUnit}
}

func authorizeRequest(key, card string, amount payment.Money) payment.AuthorizeRequest {
	return payment.AuthorizeRequest{
		IdempotencyKey: key, OrderID: "order-" + key, CustomerID: "cust-1", Amount: amount, Card: payment.CardNumber(card),
	}
}

func mustAuthorize(t testing.TB, svc *payment.Service, key string, amount payment.Money) *payment.Payment {
	t.Helper()
	p, err := svc.Authorize(t.Context(), authorizeRequest(key, processor.CardSuccess, amount))
	if err != nil {
		t.Fatalf("Authorize(%s) = %v", key, err)
	}
	return p
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

// wantAudit fails unless the audit finds nothing wrong.
func wantAudit(t testing.TB, svc *payment.Service) payment.Audit {
	t.Helper()
	a, err := svc.Audit(t.Context())
	if err != nil {
		t.Fatalf("Audit() = %v", err)
	}
	if !a.OK() {
		t.Fatalf("Audit() = %v, want ok", a)
	}
	return a
}

// topics returns the topics in the store's outbox, in order.
func topics(t testing.TB, st *store.Store) []string {
	t.Helper()
	events, err := st.DB().ReadEvents(t.Context(), 0, 10000)
	if err != nil {
		t.Fatalf("ReadEvents() = %v", err)
	}
	out := []string{}
	for _, e := range events {
		out = append(out, e.Topic)
	}
	return out
}

// count returns the result of a COUNT(*) query.
func count(t testing.TB, st *store.Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := st.DB().QueryRowContext(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}
