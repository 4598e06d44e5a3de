package catalog

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/bazaarhq/bazaar/internal/platform/pagetoken"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// Page sizes of ListProducts and SearchProducts.
const (
	DefaultListPageSize   = 50
	MaxListPageSize       = 200
	DefaultSearchPageSize = 20
	MaxSearchPageSize     = 100
	maxSearchWords        = 16
	maxSearchOffset       = 10_000
)

// AttributeFilter keeps products whose attribute Key equals Value.
type AttributeFilter struct{ Key, Value string }

// ListRequest asks for one page of products.
type ListRequest struct {
	// PageSize is the most products to return: 0 means 50; at most 200.
	PageSize int
	// PageToken continues a listing with the same filters and order.
	PageToken string
	// Category keeps products in this category or below it.
	Category string
	// Status keeps products of this status; unspecified keeps active ones.
	Status Status
	// MinPrice and MaxPrice (optional) keep products of their currency at
	// or above / at or below them; both must have the same currency.
	MinPrice, MaxPrice *Money
	// Attributes keep products matching every filter.
	Attributes []AttributeFilter
	Order      ProductOrder
}

// listCursor is the JSON of a ListProducts page token.
type listCursor struct {
	T  int64  `json:"t,omitempty"`
	U  int64  `json:"u,omitempty"`
	N  int32  `json:"n,omitempty"`
	ID string `json:"id"`
}

// ListProducts returns a page of products (AIP-158) and the token of the
// next page ("" on the last one), by keyset pagination.
//
// Errors: INVALID_ARGUMENT PAGE_SIZE_INVALID, PAGE_TOKEN_INVALID (also for
// a token of other filters or order), FILTER_INVALID; PERMISSION_DENIED
// DRAFTS_HIDDEN for a list of drafts asked for by a caller (nil for an
// anonymous customer) who may not see them.
//
// The products may be the read cache's own: the caller must not change
// them (a listing is converted and sent, nothing else; cloning 20 products
// was a tenth of a cached page's cost).
func (s *Service) ListProducts(ctx context.Context, caller *auth.Principal, r ListRequest) ([]*Product, string, error) {
	if r.Status == StatusDraft && !seesDrafts(caller) {
		return nil, "", errs.New(errs.PermissionDenied, ReasonDraftsHidden, "draft products are visible to catalog managers only")
	}
	limit, err := pageSize(r.PageSize, DefaultListPageSize, MaxListPageSize)
	if err != nil {
		return nil, "", err
	}
	q, err := r.query()
	if err != nil {
		return nil, "", err
	}
	canonical := q.canonical()
	if r.PageToken != "" {
		var c listCursor
		if err := pageTokens.Decode(r.PageToken, canonical, &c); err != nil {
			return nil, "", err
		}
		q.After = &ProductCursor{UpdateTime: time.Unix(0, c.T).UTC(), PriceUnits: c.U, PriceNanos: c.N, ID: c.ID}
	}
	q.Limit = limit + 1
	ps, err := s.listPage(ctx, q)
	if err != nil {
		return nil, "", storeError(err, "listing products")
	}
	if len(ps) <= limit {
		return ps, "", nil
	}
	ps = ps[:limit]
	last := ps[limit-1]
	next := pageTokens.Encode(canonical, listCursor{
		T: last.UpdateTime.UnixNano(), U: last.Price.Units, N: last.Price.Nanos, ID: last.ID,
	})
	return ps, next, nil
}

// listPage returns the page q selects. With the product cache on, the page
// is resolved to ids and versions first (by the listing cache, or the
// database), and the products come from the product cache when it holds
// them at those versions: decoding rows is most of a listing's cost. A page
// with any product the cache lacks or holds at another version (changed by
// another process within the TTL) is read whole from the database instead,
// so a page is always one consistent view: the database's, or the caches'
// (as stale as GetProduct's at most: this process's writes at once, other
// processes' within the TTL).
func (s *Service) listPage(ctx context.Context, q ProductQuery) ([]*Product, error) {
	if s.cache == nil {
		return s.store.ListProducts(ctx, q)
	}
	vs, err := s.store.ListProductVersions(ctx, q)
	if err != nil {
		return nil, err
	}
	ps := make([]*Product, 0, len(vs))
	for _, v := range vs {
		p, ok := s.cache.shared(v.ID) // read only, like the whole page
		if !ok || p.Version != v.Version {
			s.cache.misses.Add(1)
			return s.listAndCache(ctx, q)
		}
		ps = append(ps, p)
	}
	s.cache.hits.Add(uint64(len(ps)))
	return ps, nil
}

// listAndCache reads a page whole and caches its products for the next
// reads.
func (s *Service) listAndCache(ctx context.Context, q ProductQuery) ([]*Product, error) {
	gen := s.cache.generation()
	ps, err := s.cache.ListProducts(ctx, q)
	if err != nil {
		return nil, err
	}
	s.cache.put(gen, ps...)
	return ps, nil
}

func pageSize(n, def, maxSize int) (int, error) {
	switch {
	case n < 0 || n > maxSize:
		return 0, invalidField(ReasonPageSizeInvalid, "page_size", fmt.Sprintf("must be 0 to %d", maxSize))
	case n == 0:
		return def, nil
	}
	return n, nil
}

// query checks the filters and turns them into a ProductQuery.
func (r ListRequest) query() (ProductQuery, error) {
	q := ProductQuery{Status: r.Status, Category: r.Category, MinPrice: r.MinPrice, MaxPrice: r.MaxPrice, Order: r.Order}
	if q.Status == StatusUnspecified {
		q.Status = StatusActive
	}
	if !q.Status.valid() {
		return q, invalidField(ReasonFilterInvalid, "status", "unknown status")
	}
	if q.Order < OrderUpdateTimeDesc || q.Order > OrderPriceDesc {
		return q, invalidField(ReasonFilterInvalid, "order_by", "unknown order")
	}
	if q.Category != "" && !categoryPattern.MatchString(q.Category) {
		return q, invalidField(ReasonFilterInvalid, "category", "must be a path like kitchen/knives")
	}
	for _, m := range []struct {
		field string
		v     *Money
	}{{"min_price", r.MinPrice}, {"max_price", r.MaxPrice}} {
		if m.v != nil && m.v.Validate() != nil {
			return q, invalidField(ReasonFilterInvalid, m.field, "must be a valid amount")
		}
	}
	if r.MinPrice != nil && r.MaxPrice != nil && r.MinPrice.Currency != r.MaxPrice.Currency {
		return q, invalidField(ReasonFilterInvalid, "max_price", "must be in the currency of min_price")
	}
	q.Attributes = make(map[string]string, len(r.Attributes))
	for _, a := range r.Attributes {
		if !attributeKeyPattern.MatchString(a.Key) {
			return q, invalidField(ReasonFilterInvalid, "attributes", "key "+quote(a.Key)+" must match "+attributeKeyPattern.String())
		}
		if v, ok := q.Attributes[a.Key]; ok && v != a.Value {
			return q, invalidField(ReasonFilterInvalid, "attributes", "key "+quote(a.Key)+" is given two values")
		}
		q.Attributes[a.Key] = a.Value
	}
	return q, nil
}

// canonical is the filters and order as one string, which page tokens are
// bound to.
func (q ProductQuery) canonical() string {
	var b strings.Builder
	fmt.Fprintf(&b, "list\x00%d\x00%d\x00%q\x00", q.Status, q.Order, q.Category)
	for _, m := range []*Money{q.MinPrice, q.MaxPrice} {
		if m == nil {
			b.WriteString("-\x00")
		} else {
			fmt.Fprintf(&b, "%s:%d:%d\x00", m.Currency, m.Units, m.Nanos)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(q.Attributes)) {
		fmt.Fprintf(&b, "%q=%q\x00", k, q.Attributes[k])
	}
	return b.String()
}

// pageKey is the whole query, page position and size included: the key of
// the listing cache.
func (q ProductQuery) pageKey() string {
	k := q.canonical() + strconv.Itoa(q.Limit)
	if c := q.After; c != nil {
		k += "\x00" + strconv.FormatInt(c.UpdateTime.UnixNano(), 10) + ":" + strconv.FormatInt(c.PriceUnits, 10) +
			":" + strconv.FormatInt(int64(c.PriceNanos), 10) + ":" + c.ID
	}
	return k
}

// searchCursor is the JSON of a SearchProducts page token.
type searchCursor struct {
	Offset int `json:"o"`
}

// SearchProducts returns a page of active products matching every word of
// query in their title or description, best first, and the token of the
// next page ("" on the last one). Words are letters and digits, compared
// case-insensitively; any other character separates words. Pages are by
// offset (a relevance score is no stable key to seek from), up to the
// first 10,000 results: a product that changes between two pages may be
// seen twice or missed, which search tolerates and listing does not.
//
// Errors: INVALID_ARGUMENT QUERY_INVALID (no word), PAGE_SIZE_INVALID,
// PAGE_TOKEN_INVALID (also for a token of another query).
//
// The products may be shared with the listing cache: the caller must not
// change them.
func (s *Service) SearchProducts(ctx context.Context, query string, size int, token string) ([]*Product, string, error) {
	words := searchWords(query)
	if len(words) == 0 {
		return nil, "", invalidField(ReasonQueryInvalid, "query", "must contain a word")
	}
	limit, err := pageSize(size, DefaultSearchPageSize, MaxSearchPageSize)
	if err != nil {
		return nil, "", err
	}
	canonical := "search\x00" + strings.Join(words, "\x00")
	var c searchCursor
	if token != "" {
		if err := pageTokens.Decode(token, canonical, &c); err != nil {
			return nil, "", err
		}
		if c.Offset <= 0 || c.Offset > maxSearchOffset {
			return nil, "", invalidField(ReasonPageTokenInvalid, "page_token", "is not a page token of this listing")
		}
	}
	ps, err := s.store.SearchProducts(ctx, words, c.Offset, limit+1)
	if err != nil {
		return nil, "", storeError(err, "searching products")
	}
	if len(ps) <= limit || c.Offset+limit >= maxSearchOffset {
		return ps[:min(len(ps), limit)], "", nil
	}
	return ps[:limit], pageTokens.Encode(canonical, searchCursor{Offset: c.Offset + limit}), nil
}

// searchWords splits a query into lower-case words of letters and digits,
// at most 16, without repeats.
func searchWords(query string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(query), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		if !slices.Contains(out, w) && len(out) < maxSearchWords {
			out = append(out, w)
		}
	}
	return out
}

// pageTokens makes the catalog's page tokens (see internal/platform/pagetoken).
var pageTokens = pagetoken.New("bazaar.catalog.v1")
