package catalog_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bazaarhq/bazaar/internal/catalog"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
)

// adminCaller may see archived and draft products.
var adminCaller = auth.Principal{Kind: auth.User, Subject: "u-admin", Roles: []string{"admin"}}

// countingStore counts product reads that reach the database and can hold
// one read, after it has read, until released.
type countingStore struct {
	catalog.Store
	reads    atomic.Int64
	searches atomic.Int64
	// hold, when set, receives after the next Product read has read; that
	// read then waits for release.
	hold    chan struct{}
	release chan struct{}
}

func (s *countingStore) SearchProducts(ctx context.Context, words []string, offset, limit int) ([]*catalog.Product, error) {
	s.searches.Add(1)
	return s.Store.SearchProducts(ctx, words, offset, limit)
}

func (s *countingStore) Product(ctx context.Context, id string) (*catalog.Product, error) {
	s.reads.Add(1)
	p, err := s.Store.Product(ctx, id)
	if s.hold != nil {
		hold := s.hold
		s.hold = nil
		hold <- struct{}{}
		<-s.release
	}
	return p, err
}

func (s *countingStore) Products(ctx context.Context, ids []string) ([]*catalog.Product, error) {
	s.reads.Add(int64(len(ids)))
	return s.Store.Products(ctx, ids)
}

func newCachedService(t *testing.T, cfg catalog.Config) (*catalog.Service, *countingStore) {
	t.Helper()
	st := openStore(t)
	cs := &countingStore{Store: st}
	svc, err := catalog.New(cs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return svc, cs
}

func retitle(t *testing.T, svc *catalog.Service, p *catalog.Product, title string) *catalog.Product {
	t.Helper()
	change := p.Clone()
	change.Title = title
	out, err := svc.UpdateProduct(t.Context(), change, p.Etag(), []string{catalog.PathTitle})
	if err != nil {
		t.Fatalf("UpdateProduct() = %v", err)
	}
	return out
}

// TestProductCacheServesRepeatReads: a second read of a product does not
// reach the store, and a caller changing what it got changes nothing.
func TestProductCacheServesRepeatReads(t *testing.T) {
	t.Parallel()
	svc, cs := newCachedService(t, catalog.Config{})
	ctx := t.Context()
	p, err := svc.CreateProduct(ctx, validProduct(), uuid.NewString())
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		got, err := svc.GetProduct(ctx, nil, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		got.Title = "scribbled on by a caller"
		got.Attributes["x"] = "y"
	}
	if n := cs.reads.Load(); n != 1 {
		t.Errorf("3 GetProducts read the store %d times, want 1", n)
	}
	got, _ := svc.GetProduct(ctx, nil, p.ID)
	if got.Title != p.Title || len(got.Attributes) != 0 {
		t.Errorf("cached product was changed through a copy handed out: %+v", got)
	}
	found, missing, err := svc.BatchGetProducts(ctx, nil, []string{p.ID, "nope"})
	if err != nil || len(found) != 1 || len(missing) != 1 {
		t.Fatalf("BatchGetProducts() = %v, %v, %v", found, missing, err)
	}
	if n := cs.reads.Load(); n != 2 { // only "nope" went to the store
		t.Errorf("store reads after BatchGetProducts = %d, want 2", n)
	}
	if st := svc.CacheStats(); st.Hits != 4 || st.Misses != 2 {
		t.Errorf("CacheStats() = %+v, want 4 hits, 2 misses", st)
	}
}

// TestProductCacheInvalidatedByOwnWrites: every write path of a product
// (update, archive, image) is visible to the next read at once.
func TestProductCacheInvalidatedByOwnWrites(t *testing.T) {
	t.Parallel()
	svc, _ := newCachedService(t, catalog.Config{})
	ctx := t.Context()
	p, err := svc.CreateProduct(ctx, validProduct(), uuid.NewString())
	if err != nil {
		t.Fatal(err)
	}
	read := func() *catalog.Product {
		t.Helper()
		got, err := svc.GetProduct(ctx, &adminCaller, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	read() // cached
	p = retitle(t, svc, p, "Renamed")
	if got := read(); got.Title != "Renamed" || got.Etag() != p.Etag() {
		t.Errorf("after UpdateProduct: title %q etag %q, want Renamed %q", got.Title, got.Etag(), p.Etag())
	}
	if p, err = svc.ArchiveProduct(ctx, p.ID, p.Etag()); err != nil {
		t.Fatal(err)
	}
	if got := read(); got.Status != catalog.StatusArchived {
		t.Errorf("after ArchiveProduct: status %v, want archived", got.Status)
	}
	img := catalog.ImageRef{ID: "img-1", ContentType: "image/png", SizeBytes: 3, SHA256: strings.Repeat("ab", 32)}
	if _, err := svc.AddImage(ctx, p.ID, img); err != nil {
		t.Fatal(err)
	}
	if got := read(); len(got.Images) != 1 {
		t.Errorf("after AddImage: %d images, want 1", len(got.Images))
	}
	found, _, err := svc.BatchGetProducts(ctx, &adminCaller, []string{p.ID})
	if err != nil || len(found) != 1 || len(found[0].Images) != 1 {
		t.Errorf("BatchGetProducts after AddImage = %v, %v", found, err)
	}
}

// TestProductCacheRaceWithWrite: a read that fetched a product just before
// a write committed must not put its older copy back after the write
// invalidated it.
func TestProductCacheRaceWithWrite(t *testing.T) {
	t.Parallel()
	svc, cs := newCachedService(t, catalog.Config{})
	ctx := t.Context()
	p, err := svc.CreateProduct(ctx, validProduct(), uuid.NewString())
	if err != nil {
		t.Fatal(err)
	}
	cs.hold, cs.release = make(chan struct{}), make(chan struct{})
	hold := cs.hold
	stale := make(chan *catalog.Product, 1)
	go func() {
		got, _ := svc.GetProduct(ctx, nil, p.ID)
		stale <- got
	}()
	<-hold // the reader has read the old product
	retitle(t, svc, p, "New title")
	close(cs.release)
	if got := <-stale; got.Title != p.Title {
		t.Fatalf("the racing read got %q, want the old title (the test lost its race)", got.Title)
	}
	got, err := svc.GetProduct(ctx, nil, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != "New title" {
		t.Errorf("GetProduct after the write = %q: the racing read cached its stale copy", got.Title)
	}
}

// TestProductCacheTTL: another process's write (straight to the shared
// database, bypassing this service) is seen once the TTL has passed.
func TestProductCacheTTL(t *testing.T) {
	t.Parallel()
	c := &clock{now: t0}
	st := openStore(t)
	cfg := catalog.Config{Clock: c.Now, ProductCacheTTL: 10 * time.Second}
	svc, err := catalog.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	other, err := catalog.New(st, cfg) // a second process on the same database
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	p, err := svc.CreateProduct(ctx, validProduct(), uuid.NewString())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.GetProduct(ctx, nil, p.ID); err != nil {
		t.Fatal(err)
	}
	retitle(t, other, p, "Changed elsewhere")
	if got, _ := svc.GetProduct(ctx, nil, p.ID); got.Title != p.Title {
		t.Errorf("within the TTL: title %q, want the cached %q", got.Title, p.Title)
	}
	c.Advance(10 * time.Second)
	if got, _ := svc.GetProduct(ctx, nil, p.ID); got.Title != "Changed elsewhere" {
		t.Errorf("after the TTL: title %q, want the other process's write", got.Title)
	}
}

// TestProductCacheOff: a negative size reads the store every time.
func TestProductCacheOff(t *testing.T) {
	t.Parallel()
	svc, cs := newCachedService(t, catalog.Config{ProductCacheSize: -1})
	ctx := t.Context()
	p, err := svc.CreateProduct(ctx, validProduct(), uuid.NewString())
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := svc.GetProduct(ctx, nil, p.ID); err != nil {
			t.Fatal(err)
		}
	}
	if n := cs.reads.Load(); n != 3 {
		t.Errorf("store reads = %d, want 3", n)
	}
}

// TestListProductsThroughCache: a listing takes its page (ids and
// versions) from the listing cache and the products from the product
// cache, so a repeated page reads nothing; this service's own write shows
// in the next listing at once, another process's after the listing TTL.
func TestListProductsThroughCache(t *testing.T) {
	t.Parallel()
	c := &clock{now: t0}
	st := openStore(t)
	cfg := catalog.Config{Clock: c.Now, ListingCacheTTL: time.Second}
	svc, err := catalog.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	other, err := catalog.New(st, cfg) // another process
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	var ps []*catalog.Product
	for i := range 3 {
		p := validProduct()
		p.SKU = fmt.Sprintf("LIST-%d", i)
		created, err := svc.CreateProduct(ctx, p, uuid.NewString())
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, created)
	}
	title := func(id string) string {
		t.Helper()
		got, _, err := svc.ListProducts(ctx, nil, catalog.ListRequest{Order: catalog.OrderPriceAsc})
		if err != nil || len(got) != 3 {
			t.Fatalf("ListProducts() = %d products, %v; want 3", len(got), err)
		}
		for _, p := range got {
			if p.ID == id {
				return p.Title
			}
		}
		t.Fatalf("ListProducts() lacks product %s", id)
		return ""
	}
	title(ps[0].ID) // caches the page
	before := svc.CacheStats()
	title(ps[0].ID)
	if after := svc.CacheStats(); after.Hits-before.Hits != 3 || after.Misses != before.Misses {
		t.Errorf("second listing: %+v -> %+v, want 3 hits and no miss", before, after)
	}

	retitle(t, svc, ps[0], "Changed here")
	if got := title(ps[0].ID); got != "Changed here" {
		t.Errorf("after this service's write: title %q, want %q", got, "Changed here")
	}

	retitle(t, other, ps[1], "Changed elsewhere")
	c.Advance(999 * time.Millisecond)
	if got := title(ps[1].ID); got != ps[1].Title {
		t.Errorf("within the listing TTL: title %q, want the cached %q", got, ps[1].Title)
	}
	c.Advance(time.Millisecond)
	if got := title(ps[1].ID); got != "Changed elsewhere" {
		t.Errorf("after the listing TTL: title %q, want the other process's write", got)
	}
}

// TestSearchProductsThroughCache: a repeated search is answered from the
// listing cache; this service's own write shows in the next search at
// once, another process's after the listing TTL.
func TestSearchProductsThroughCache(t *testing.T) {
	t.Parallel()
	c := &clock{now: t0}
	st := openStore(t)
	counted := &countingStore{Store: st}
	cfg := catalog.Config{Clock: c.Now, ListingCacheTTL: time.Second}
	svc, err := catalog.New(counted, cfg)
	if err != nil {
		t.Fatal(err)
	}
	other, err := catalog.New(st, cfg) // another process
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	p := validProduct()
	p.Title = "Walnut chopping board"
	p, err = svc.CreateProduct(ctx, p, uuid.NewString())
	if err != nil {
		t.Fatal(err)
	}
	titles := func(query string) []string {
		t.Helper()
		got, _, err := svc.SearchProducts(ctx, query, 10, "")
		if err != nil {
			t.Fatalf("SearchProducts(%q) = %v", query, err)
		}
		var out []string
		for _, p := range got {
			out = append(out, p.Title)
		}
		return out
	}
	titles("walnut")
	before := counted.searches.Load()
	if got := titles("walnut"); len(got) != 1 || counted.searches.Load() != before {
		t.Errorf("repeated search: %q with %d store searches, want 1 product from the cache", got, counted.searches.Load()-before)
	}

	p = retitle(t, svc, p, "Walnut serving board")
	if got := titles("walnut"); len(got) != 1 || got[0] != "Walnut serving board" {
		t.Errorf("after this service's write: %q, want [Walnut serving board]", got)
	}

	retitle(t, other, p, "Oak serving board")
	c.Advance(999 * time.Millisecond)
	if got := titles("walnut"); len(got) != 1 {
		t.Errorf("within the listing TTL: %q, want the cached page", got)
	}
	c.Advance(time.Millisecond)
	if got := titles("walnut"); len(got) != 0 {
		t.Errorf("after the listing TTL: %q, want no walnut product", got)
	}
}
