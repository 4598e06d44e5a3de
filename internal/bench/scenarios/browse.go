package scenarios

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
	"unicode"

	catalogv1 "github.com/bazaarhq/bazaar/gen/bazaar/catalog/v1"
)

// browseMix is browse's weights of GetProduct, ListProducts (a page of 20)
// and SearchProducts: mostly product pages, some listings, a few searches.
var browseMix = [3]int{6, 3, 1}

// browse reads the existing catalog anonymously, as a shopper does.
type browse struct {
	conns
	name    string
	mix     [3]int
	catalog []catalogv1.CatalogServiceClient // one per connection (Env.Conns)
	ids     []string
	words   []string
	rngs    []*rand.Rand
}

// maxDiscovered bounds how many products browse learns before it starts.
const maxDiscovered = 1000

func newBrowse(ctx context.Context, env Env, name string, mix [3]int) (*browse, error) {
	b := &browse{conns: conns{env: env}, name: name, mix: mix}
	ccs, err := b.pool("catalog")
	if err != nil {
		_ = b.Close()
		return nil, err
	}
	b.catalog = clientsOf(ccs, catalogv1.NewCatalogServiceClient)
	// Discover: list pages until enough ids (the catalog is public).
	req := &catalogv1.ListProductsRequest{PageSize: 100}
	words := map[string]bool{}
	for len(b.ids) < maxDiscovered {
		var resp *catalogv1.ListProductsResponse
		err := patiently(ctx, func() (err error) {
			resp, err = b.catalog[0].ListProducts(ctx, req)
			return err
		})
		if err != nil {
			_ = b.Close()
			return nil, err
		}
		for _, p := range resp.GetProducts() {
			b.ids = append(b.ids, p.GetId())
			for _, w := range strings.FieldsFunc(strings.ToLower(p.GetTitle()), func(r rune) bool { return !unicode.IsLetter(r) }) {
				if len(w) >= 4 {
					words[w] = true
				}
			}
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	if len(b.ids) == 0 {
		_ = b.Close()
		return nil, errors.New("browse: the catalog is empty: run `bazaar seed` first")
	}
	for w := range words {
		b.words = append(b.words, w)
	}
	slices.Sort(b.words)
	if len(b.words) == 0 {
		b.words = []string{"product"}
	}
	b.rngs = make([]*rand.Rand, env.Workers)
	for i := range b.rngs {
		b.rngs[i] = rand.New(rand.NewPCG(uint64(i), 42)) //nolint:gosec // load mix, not security
	}
	env.logf("%s: %d products, %d search words discovered", name, len(b.ids), len(b.words))
	return b, nil
}

func (b *browse) Name() string { return b.name }

func (b *browse) Do(ctx context.Context, w int) (time.Duration, error) {
	rng := b.rngs[w%len(b.rngs)]
	catalog := b.catalog[w%len(b.catalog)]
	n := rng.IntN(b.mix[0] + b.mix[1] + b.mix[2])
	var err error
	switch {
	case n < b.mix[0]:
		_, err = catalog.GetProduct(ctx, &catalogv1.GetProductRequest{Id: b.ids[rng.IntN(len(b.ids))]})
	case n < b.mix[0]+b.mix[1]:
		_, err = catalog.ListProducts(ctx, &catalogv1.ListProductsRequest{PageSize: 20})
	default:
		_, err = catalog.SearchProducts(ctx, &catalogv1.SearchProductsRequest{Query: b.words[rng.IntN(len(b.words))], PageSize: 20})
	}
	return 0, err
}
