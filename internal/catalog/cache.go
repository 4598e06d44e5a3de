package catalog

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// cachingStore serves Product and Products from a bounded LRU of recently
// read products and drops a product from it after every write of it that
// goes through this store. GetProduct is the catalog's hottest call (every
// product page, every cart line); a product changes rarely.
//
// Staleness: this process's own writes are seen at once (the write
// invalidates after it commits, and a read that raced with the write cannot
// put its older copy back: see put). Writes by another process sharing the
// database (replicas on Postgres) are seen after at most the TTL.
//
// Products are handed out as clones, so a caller that changes one cannot
// change the cache.
//
// It also keeps the answers of recent listing queries (a page's ids and
// versions, as ListProductVersions gives them) and searches (a page of
// products) for pageTTL: every write through this store drops them all,
// since any product write may move a product into, out of or within any
// listing; other processes' writes show after at most pageTTL. The query
// was most of a cached ListProducts' cost.
type cachingStore struct {
	Store
	ttl, pageTTL time.Duration
	now          func() time.Time

	// mu guards lru and gen, and so orders puts against invalidations: gen
	// counts invalidations; a reader notes gen before it reads the database
	// and puts what it read only if no invalidation happened meanwhile,
	// since what it read may predate the write that invalidated.
	mu    sync.Mutex
	lru   *simplelru.LRU[string, cachedProduct]
	pages *simplelru.LRU[string, cachedPage]
	gen   uint64

	hits, misses atomic.Uint64
}

type cachedProduct struct {
	p       *Product
	expires time.Time
}

// cachedPage is a listing's page (versions) or a search's (products);
// neither is changed once cached.
type cachedPage struct {
	versions []ProductVersion
	products []*Product
	expires  time.Time
}

// maxCachedPages bounds the listing cache: pages are small (ids and
// versions), and the listings customers repeat are few (each category's
// first pages).
const maxCachedPages = 1_000

func newCachingStore(st Store, size int, ttl, pageTTL time.Duration, now func() time.Time) *cachingStore {
	lru, err := simplelru.NewLRU[string, cachedProduct](size, nil)
	if err != nil {
		panic(err) // size > 0 is checked by the caller
	}
	pages, err := simplelru.NewLRU[string, cachedPage](maxCachedPages, nil)
	if err != nil {
		panic(err)
	}
	return &cachingStore{Store: st, ttl: ttl, pageTTL: pageTTL, now: now, lru: lru, pages: pages}
}

// ListProductVersions serves a listing's ids and versions from the listing
// cache, or reads them and caches them (unless a write happened meanwhile:
// see page). The slice returned must not be changed.
func (c *cachingStore) ListProductVersions(ctx context.Context, q ProductQuery) ([]ProductVersion, error) {
	p, err := c.page(q.pageKey(), func() (cachedPage, error) {
		vs, err := c.Store.ListProductVersions(ctx, q)
		return cachedPage{versions: vs}, err
	})
	return p.versions, err
}

// SearchProducts serves a search's page from the listing cache, as
// ListProductVersions does; the products are shared by every caller that
// gets the page and must not be changed.
func (c *cachingStore) SearchProducts(ctx context.Context, words []string, offset, limit int) ([]*Product, error) {
	key := "search\x00" + strings.Join(words, "\x00") + "\x00" + strconv.Itoa(offset) + "\x00" + strconv.Itoa(limit)
	p, err := c.page(key, func() (cachedPage, error) {
		ps, err := c.Store.SearchProducts(ctx, words, offset, limit)
		return cachedPage{products: ps}, err
	})
	return p.products, err
}

// page returns the cached page of key if it is fresh, else reads it and
// caches it unless a write happened since the read began.
func (c *cachingStore) page(key string, read func() (cachedPage, error)) (cachedPage, error) {
	c.mu.Lock()
	e, ok := c.pages.Get(key)
	if ok && !c.now().Before(e.expires) {
		c.pages.Remove(key)
		ok = false
	}
	gen := c.gen
	c.mu.Unlock()
	if ok {
		return e, nil
	}
	p, err := read()
	if err != nil {
		return cachedPage{}, err
	}
	c.mu.Lock()
	if gen == c.gen {
		p.expires = c.now().Add(c.pageTTL)
		c.pages.Add(key, p)
	}
	c.mu.Unlock()
	return p, nil
}

// get returns a clone of the cached product with id, if it is fresh.
func (c *cachingStore) get(id string) (*Product, bool) {
	p, ok := c.shared(id)
	if !ok {
		return nil, false
	}
	return p.Clone(), true
}

// shared returns the cached product with id itself, if it is fresh: the
// caller must not change it (nor anything it points to).
func (c *cachingStore) shared(id string) (*Product, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.lru.Get(id)
	if ok && !c.now().Before(e.expires) {
		c.lru.Remove(id)
		return nil, false
	}
	return e.p, ok
}

// CacheStats counts product reads served from the cache and from the
// store.
type CacheStats struct {
	Hits, Misses uint64
}

func (c *cachingStore) stats() CacheStats {
	return CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load()}
}

func (c *cachingStore) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put caches products read when the generation was gen, unless an
// invalidation happened since.
func (c *cachingStore) put(gen uint64, ps ...*Product) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	expires := c.now().Add(c.ttl)
	for _, p := range ps {
		c.lru.Add(p.ID, cachedProduct{p: p.Clone(), expires: expires})
	}
}

func (c *cachingStore) invalidate(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.lru.Remove(id)
	c.pages.Purge()
}

func (c *cachingStore) Product(ctx context.Context, id string) (*Product, error) {
	if p, ok := c.get(id); ok {
		c.hits.Add(1)
		return p, nil
	}
	c.misses.Add(1)
	gen := c.generation()
	p, err := c.Store.Product(ctx, id)
	if err != nil {
		return nil, err
	}
	c.put(gen, p)
	return p, nil
}

func (c *cachingStore) Products(ctx context.Context, ids []string) ([]*Product, error) {
	out := make([]*Product, 0, len(ids))
	var missing []string
	for _, id := range ids {
		if p, ok := c.get(id); ok {
			out = append(out, p)
		} else {
			missing = append(missing, id)
		}
	}
	c.hits.Add(uint64(len(out)))
	if len(missing) == 0 {
		return out, nil
	}
	c.misses.Add(uint64(len(missing)))
	gen := c.generation()
	ps, err := c.Store.Products(ctx, missing)
	if err != nil {
		return nil, err
	}
	c.put(gen, ps...)
	return append(out, ps...), nil
}

func (c *cachingStore) CreateProduct(ctx context.Context, p *Product, req CreateRequest, events ...Event) error {
	err := c.Store.CreateProduct(ctx, p, req, events...)
	c.invalidate(p.ID) // nothing cached it yet, unless an id was reused
	return err
}

// UpdateProduct invalidates whatever the outcome: an error after the
// commit (a lost connection) must not leave the old copy served.
func (c *cachingStore) UpdateProduct(ctx context.Context, id string, fn func(p *Product) ([]Event, error)) (*Product, error) {
	p, err := c.Store.UpdateProduct(ctx, id, fn)
	c.invalidate(id)
	return p, err
}
