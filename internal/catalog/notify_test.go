package catalog_test

import (
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/bazaarhq/bazaar/internal/catalog"
	"github.com/bazaarhq/bazaar/internal/catalog/store"
)

// TestNotifyOnWrite: every committed write notifies once; reads and failed
// writes do not.
func TestNotifyOnWrite(t *testing.T) {
	ctx := t.Context()
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatalf("store.Open() = %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	var calls atomic.Int64
	svc, err := catalog.New(catalog.NotifyOnWrite(st, func() { calls.Add(1) }), catalog.Config{})
	if err != nil {
		t.Fatal(err)
	}
	step := func(name string, want int64, fn func() error) {
		t.Helper()
		calls.Store(0)
		err := fn()
		if got := calls.Load(); got != want {
			t.Errorf("%s (error %v): %d notifications, want %d", name, err, got, want)
		}
	}
	var p *catalog.Product
	step("CreateProduct", 1, func() (err error) {
		p, err = svc.CreateProduct(ctx, validProduct(), uuid.NewString())
		return err
	})
	if p == nil {
		t.Fatal("CreateProduct failed")
	}
	step("GetProduct", 0, func() error { _, err := svc.GetProduct(ctx, nil, p.ID); return err })
	step("UpdateProduct", 1, func() error {
		change := *p
		change.Price = eur(6, 0)
		_, err := svc.UpdateProduct(ctx, &change, p.Etag(), []string{catalog.PathPrice})
		return err
	})
	step("UpdateProduct of a missing product", 0, func() error {
		change := *p
		change.ID = "missing"
		_, err := svc.UpdateProduct(ctx, &change, p.Etag(), []string{catalog.PathPrice})
		return err
	})
	step("AdjustStock", 1, func() error {
		_, err := svc.AdjustStock(ctx, catalog.AdjustRequest{SKU: p.SKU, Delta: 5, Reason: "delivery", RequestID: uuid.NewString()})
		return err
	})
	rid := uuid.NewString()
	step("ReserveStock", 1, func() error {
		_, err := svc.ReserveStock(ctx, rid, []catalog.ReservationItem{{SKU: p.SKU, Quantity: 2}})
		return err
	})
	step("ReserveStock beyond the stock", 0, func() error {
		_, err := svc.ReserveStock(ctx, uuid.NewString(), []catalog.ReservationItem{{SKU: p.SKU, Quantity: 100}})
		return err
	})
	step("CommitReservation", 1, func() error { _, err := svc.CommitReservation(ctx, rid); return err })
}
