package store_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/bazaarhq/bazaar/internal/catalog"
	"github.com/bazaarhq/bazaar/internal/catalog/store"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

// TestUpgradeKeepsReservations: migration 3 rebuilds the SQLite
// reservation tables to allow the returned state. A database holding
// reservations at version 2 keeps every reservation and item, and the
// upgraded tables accept returns.
func TestUpgradeKeepsReservations(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := "sqlite://" + filepath.Join(t.TempDir(), "catalog.db")

	v2 := fstest.MapFS{}
	for _, name := range []string{"00001_catalog.sql", "00002_brand.sql"} {
		b, err := os.ReadFile(filepath.Join("migrations", "sqlite", name))
		if err != nil {
			t.Fatal(err)
		}
		v2["migrations/sqlite/"+name] = &fstest.MapFile{Data: b}
	}
	db, err := sqldb.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx, v2); err != nil {
		t.Fatalf("migrating to version 2: %v", err)
	}
	for _, q := range []string{
		`INSERT INTO products VALUES ('p1', 'OLD-1', 'Old', '', 'home', 'EUR', 1, 0, '{}', '[]', '{}', 2, '', x'', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1, '')`,
		`INSERT INTO stocks VALUES ('OLD-1', 'p1', 6, 0, 4)`,
		`INSERT INTO reservations VALUES ('sold-1', 2, '2026-01-01 00:00:00', '2026-01-01 00:15:00')`,
		`INSERT INTO reservation_items VALUES ('sold-1', 'OLD-1', 4)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q[:40], err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatalf("store.Open() (upgrade to the latest version) = %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	svc, err := catalog.New(st, catalog.Config{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := svc.ReturnReservation(ctx, "sold-1")
	if err != nil {
		t.Fatalf("ReturnReservation(sold-1) after the upgrade = %v", err)
	}
	if r.State != catalog.ReservationReturned || len(r.Items) != 1 || r.Items[0] != (catalog.ReservationItem{SKU: "OLD-1", Quantity: 4}) {
		t.Errorf("reservation after the upgrade = %+v, want returned with its item", r)
	}
	stocks, err := svc.GetStock(ctx, []string{"OLD-1"})
	if err != nil || stocks[0].Available != 10 || stocks[0].Sold != 0 {
		t.Errorf("stock after returning = %+v, %v; want 10 available, 0 sold", stocks, err)
	}
	var fks string
	if err := st.DB().QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE name = 'reservation_items'`).Scan(&fks); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(fks, `REFERENCES "reservations"`) && !strings.Contains(fks, "REFERENCES reservations") {
		t.Errorf("reservation_items after the upgrade references the wrong table: %s", fks)
	}
}
