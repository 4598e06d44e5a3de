package catalog_test

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/internal/catalog"
	"github.com/bazaarhq/bazaar/internal/catalog/store"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

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

// newService returns a Service over a fresh SQLite store (the store
// contract itself is tested on both engines in internal/catalog/store).
func newService(t testing.TB) (*catalog.Service, *clock) {
	t.Helper()
	st := openStore(t)
	c := &clock{now: t0}
	svc, err := catalog.New(st, catalog.Config{Clock: c.Now})
	if err != nil {
		t.Fatalf("catalog.New() = %v", err)
	}
	return svc, c
}

func validProduct() *catalog.Product {
	return &catalog.Product{
		SKU: "SKU-1", Title: "Thing", Category: "home", Price: eur(5, 0), Status: catalog.StatusActive,
	}
}

// wantErr fails unless err is an *errs.Error of kind and reason and, when
// field is given, names it in its message.
func wantErr(t testing.TB, call string, err error, kind errs.Kind, reason string) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != kind || e.Reason != reason {
		t.Errorf("%s = %v, want %v %s", call, err, kind, reason)
	}
}

// openStore opens a SQLite catalog store in the test's temp dir, closed
// when the test ends.
func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatalf("store.Open() = %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}
