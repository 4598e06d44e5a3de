package store_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/internal/catalog"
	"github.com/bazaarhq/bazaar/internal/catalog/store"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb/sqldbtest"
)

// backend opens fresh, isolated catalog stores on one engine.
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
		tg := b.Fresh(t, "catalog")
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

// t0 is the fixtures' reference time: UTC, at the microsecond precision
// both engines keep.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)

// clock is a settable time source for the Service.
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

// newService returns a Service over st with a clock at t0 that the test
// advances.
func newService(t testing.TB, st *store.Store) (*catalog.Service, *clock) {
	t.Helper()
	c := &clock{now: t0}
	svc, err := catalog.New(st, catalog.Config{Clock: c.Now})
	if err != nil {
		t.Fatalf("catalog.New() = %v", err)
	}
	return svc, c
}

func eur(units int64, nanos int32) catalog.Money {
	return catalog.Money{Currency: "EUR", Units: units, Nanos: nanos}
}

func newProduct(sku, title string, price catalog.Money) *catalog.Product {
	return &catalog.Product{
		SKU: sku, Title: title, Description: "A fine " + title, Category: "kitchen/knives", Price: price,
		Attributes: map[string]string{"colour": "red"}, Status: catalog.StatusActive,
		Kind: catalog.Kind{Type: catalog.KindPhysical, WeightGrams: 250},
	}
}

func mustCreate(t testing.TB, svc *catalog.Service, p *catalog.Product) *catalog.Product {
	t.Helper()
	got, err := svc.CreateProduct(t.Context(), p, "req-"+p.SKU)
	if err != nil {
		t.Fatalf("CreateProduct(%s) = %v", p.SKU, err)
	}
	return got
}

func mustAdjust(t testing.TB, svc *catalog.Service, sku string, delta int64) catalog.Stock {
	t.Helper()
	st, err := svc.AdjustStock(t.Context(), catalog.AdjustRequest{
		SKU: sku, Delta: delta, Reason: "delivery", RequestID: "adj-" + sqldbtest.RandomHex(t, 8),
	})
	if err != nil {
		t.Fatalf("AdjustStock(%s, %d) = %v", sku, delta, err)
	}
	return st
}

func mustStock(t testing.TB, svc *catalog.Service, sku string) catalog.Stock {
	t.Helper()
	st, err := svc.GetStock(t.Context(), []string{sku})
	if err != nil {
		t.Fatalf("GetStock(%s) = %v", sku, err)
	}
	return st[0]
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

// admin is a catalog manager, who sees drafts.
var admin = &auth.Principal{Kind: auth.User, Subject: "u-admin", Roles: []string{catalog.RoleAdmin}}
