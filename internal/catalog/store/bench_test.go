package store_test

import (
	"fmt"
	"testing"

	"github.com/bazaarhq/bazaar/internal/catalog"
)

// BenchmarkReserveAndRelease is the checkout's hot path on SQLite: reserve
// two SKUs, then release them.
func BenchmarkReserveAndRelease(b *testing.B) {
	st := sqliteBackend().open(b)
	svc, _ := newService(b, st)
	for _, sku := range []string{"BENCH-1", "BENCH-2"} {
		mustCreate(b, svc, newProduct(sku, sku, eur(1, 0)))
		mustAdjust(b, svc, sku, 1_000_000)
	}
	items := []catalog.ReservationItem{{SKU: "BENCH-1", Quantity: 1}, {SKU: "BENCH-2", Quantity: 2}}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprintf("bench-%d", i)
		if _, err := svc.ReserveStock(b.Context(), id, items); err != nil {
			b.Fatal(err)
		}
		if _, err := svc.ReleaseReservation(b.Context(), id); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListProducts reads a page of 50 of 500 active products.
// BenchmarkListProducts pages the first 20 of 500 products by price, with
// the product cache (ids and versions from the database, products from the
// cache) and without it (every row decoded).
func BenchmarkListProducts(b *testing.B) {
	st := sqliteBackend().open(b)
	svc, _ := newService(b, st)
	for i := range 500 {
		mustCreate(b, svc, newProduct(fmt.Sprintf("LIST-%d", i), "Item", eur(int64(i), 0)))
	}
	uncached, err := catalog.New(st, catalog.Config{ProductCacheSize: -1})
	if err != nil {
		b.Fatal(err)
	}
	for _, v := range []struct {
		name string
		svc  *catalog.Service
	}{{"cached", svc}, {"uncached", uncached}} {
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := v.svc.ListProducts(b.Context(), nil, catalog.ListRequest{Order: catalog.OrderPriceAsc}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
