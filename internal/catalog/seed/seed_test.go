package seed_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"image/png"
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bazaarhq/bazaar/internal/catalog"
	"github.com/bazaarhq/bazaar/internal/catalog/images"
	"github.com/bazaarhq/bazaar/internal/catalog/seed"
	"github.com/bazaarhq/bazaar/internal/catalog/store"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb/sqldbtest"
)

// newService returns a catalog service over a fresh SQLite store.
func newService(t *testing.T) *catalog.Service {
	t.Helper()
	st, err := store.Open(t.Context(), sqldbtest.SQLite().Fresh(t, "catalog").URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("store.Close() = %v", err)
		}
	})
	svc, err := catalog.New(st, catalog.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// snapshot is what a test can see of the catalog: every active product
// and the stock of each, by SKU.
type snapshot struct {
	products map[string]*catalog.Product
	stock    map[string]catalog.Stock
}

func (s snapshot) categories() map[string]int {
	n := make(map[string]int)
	for _, p := range s.products {
		n[p.Category]++
	}
	return n
}

func take(t *testing.T, ctx context.Context, svc *catalog.Service) snapshot {
	t.Helper()
	s := snapshot{products: make(map[string]*catalog.Product), stock: make(map[string]catalog.Stock)}
	token := ""
	for {
		page, next, err := svc.ListProducts(ctx, nil, catalog.ListRequest{
			PageSize: catalog.MaxListPageSize, PageToken: token, Status: catalog.StatusActive,
		})
		if err != nil {
			t.Fatalf("ListProducts: %v", err)
		}
		skus := make([]string, 0, len(page))
		for _, p := range page {
			if _, dup := s.products[p.SKU]; dup {
				t.Fatalf("SKU %s listed twice", p.SKU)
			}
			s.products[p.SKU] = p
			skus = append(skus, p.SKU)
		}
		for len(skus) > 0 {
			batch := skus[:min(len(skus), 100)]
			skus = skus[len(batch):]
			stocks, err := svc.GetStock(ctx, batch)
			if err != nil {
				t.Fatalf("GetStock: %v", err)
			}
			for _, st := range stocks {
				s.stock[st.SKU] = st
			}
		}
		if next == "" {
			return s
		}
		token = next
	}
}

// racePrefix is how many products the race detector's run seeds (see
// raceEnabled): enough for every category many times over.
const racePrefix = 250

// TestCatalogSeedsASampleCatalogOnce seeds the whole sample catalog (at
// least 1,000 products; a prefix under the race detector), checks it
// through the Service's own reads, then seeds again and checks that
// nothing changed.
func TestCatalogSeedsASampleCatalogOnce(t *testing.T) {
	if seed.DefaultProducts < 1000 {
		t.Fatalf("DefaultProducts = %d, want at least 1000", seed.DefaultProducts)
	}
	ctx := t.Context()
	svc := newService(t)
	blobs, err := images.NewBlobStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}

	opts := []seed.Option{seed.WithImages(blobs)}
	wantProducts := seed.DefaultProducts
	if raceEnabled {
		wantProducts = racePrefix
		opts = append(opts, seed.WithProducts(wantProducts))
	}

	start := time.Now()
	first, err := seed.Catalog(ctx, svc, opts...)
	if err != nil {
		t.Fatalf("first seed.Catalog: %v", err)
	}
	t.Logf("first run: %+v in %v", first, time.Since(start))
	if first.Products != wantProducts || first.Categories < 8 || first.ImagesAdded != first.Products || first.StockUnits <= 0 {
		t.Errorf("first run = %+v, want %d products over >= 8 categories, an image each, some stock", first, wantProducts)
	}

	before := take(t, ctx, svc)
	if len(before.products) != first.Products {
		t.Errorf("%d active products, want %d", len(before.products), first.Products)
	}
	cats := before.categories()
	if len(cats) < 8 {
		t.Errorf("categories %v, want at least 8", cats)
	}
	var units int64
	for sku, p := range before.products {
		st, ok := before.stock[sku]
		if !ok || st.Available <= 0 {
			t.Errorf("%s stock = %+v, want some available", sku, st)
		}
		units += st.Available
		if len(p.Images) != 1 {
			t.Fatalf("%s has %d images, want 1", sku, len(p.Images))
		}
		checkImage(t, blobs, p.Images[0])
	}
	if units != first.StockUnits {
		t.Errorf("available units %d, want the %d seeded", units, first.StockUnits)
	}

	start = time.Now()
	second, err := seed.Catalog(ctx, svc, opts...)
	if err != nil {
		t.Fatalf("second seed.Catalog: %v", err)
	}
	t.Logf("second run: %+v in %v", second, time.Since(start))
	want := first
	want.ImagesAdded = 0
	if second != want {
		t.Errorf("second run = %+v, want %+v", second, want)
	}
	after := take(t, ctx, svc)
	if diff := cmp.Diff(before.stock, after.stock); diff != "" {
		t.Errorf("stock changed by a second run (-before +after):\n%s", diff)
	}
	for sku, p := range before.products {
		q := after.products[sku]
		if q == nil || q.ID != p.ID || q.Version != p.Version || len(q.Images) != 1 {
			t.Errorf("%s changed by a second run: %+v, then %+v", sku, p, q)
		}
	}
	if len(after.products) != len(before.products) {
		t.Errorf("second run left %d products, want %d", len(after.products), len(before.products))
	}
}

// checkImage checks that img's blob is a small PNG with img's size and
// digest.
func checkImage(t *testing.T, blobs *images.BlobStore, img catalog.ImageRef) {
	t.Helper()
	f, err := blobs.Open(img.ID)
	if err != nil {
		t.Fatalf("blob of image %s: %v", img.ID, err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if int64(len(data)) != img.SizeBytes || hex.EncodeToString(sum[:]) != img.SHA256 || img.ContentType != "image/png" {
		t.Fatalf("image %+v does not describe its %d-byte blob", img, len(data))
	}
	if len(data) > 1024 {
		t.Errorf("image %s is %d bytes, want a small swatch", img.ID, len(data))
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width != 64 || cfg.Height != 64 {
		t.Errorf("image %s: %dx%d PNG, %v; want 64x64", img.ID, cfg.Width, cfg.Height, err)
	}
}

func TestCatalogWithoutImagesAndResume(t *testing.T) {
	ctx := t.Context()
	svc := newService(t)
	// A run cut short after 40 products...
	part, err := seed.Catalog(ctx, svc, seed.WithProducts(40))
	if err != nil {
		t.Fatal(err)
	}
	// ...is finished by the next, which seeds the same first 40.
	whole, err := seed.Catalog(ctx, svc, seed.WithProducts(100))
	if err != nil {
		t.Fatal(err)
	}
	if part.Products != 40 || whole.Products != 100 || whole.ImagesAdded != 0 {
		t.Errorf("runs = %+v then %+v", part, whole)
	}
	s := take(t, ctx, svc)
	if len(s.products) != 100 {
		t.Errorf("%d products, want 100", len(s.products))
	}
	var units int64
	for _, st := range s.stock {
		units += st.Available
	}
	if units != whole.StockUnits {
		t.Errorf("available units %d, want %d: the first 40 stocked twice?", units, whole.StockUnits)
	}
}

func TestCatalogRejectsBadOptions(t *testing.T) {
	svc := newService(t)
	for _, n := range []int{0, -1, 100_000} {
		if _, err := seed.Catalog(t.Context(), svc, seed.WithProducts(n)); err == nil {
			t.Errorf("WithProducts(%d): no error", n)
		}
	}
	if _, err := seed.Catalog(t.Context(), nil); err == nil {
		t.Error("nil service: no error")
	}
}

func TestCatalogStopsWhenCancelled(t *testing.T) {
	svc := newService(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res, err := seed.Catalog(ctx, svc)
	if err == nil || res.Products != 0 {
		t.Errorf("cancelled run = %+v, %v; want nothing and an error", res, err)
	}
}
