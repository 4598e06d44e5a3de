package seed

import (
	"fmt"
	"image/color"
	"maps"
	"slices"
	"strings"

	"github.com/bazaarhq/bazaar/internal/catalog"
)

// currency is the currency of every sample price.
const currency = "EUR"

// category is one department of the sample catalog and how to invent its
// products.
type category struct {
	path   string // catalog category
	prefix string // SKU prefix
	kind   catalog.KindType
	// Titles are "<adjective> <material> <noun>" plus a model number.
	adjectives, materials, nouns []string
	// blurb opens the description.
	blurb string
	// Prices range over [minCents, maxCents]; weights over
	// [minGrams, maxGrams] (physical goods).
	minCents, maxCents int64
	minGrams, maxGrams int32
	// attributes are the facets and their values.
	attributes map[string][]string
	// Stock ranges over [minStock, maxStock].
	minStock, maxStock int64
}

// categories is the sample catalog's departments; product i is in
// categories[i % len(categories)].
var categories = []category{
	{
		path: "kitchen/knives", prefix: "KNF", kind: catalog.KindPhysical,
		adjectives: []string{"Forged", "Hand-honed", "Classic", "Japanese", "Professional", "Compact"},
		materials:  []string{"carbon steel", "Damascus", "stainless", "ceramic"},
		nouns:      []string{"chef's knife", "santoku", "paring knife", "bread knife", "utility knife", "nakiri"},
		blurb:      "A balanced blade that holds its edge through daily prep.",
		minCents:   1_500, maxCents: 24_900, minGrams: 90, maxGrams: 420,
		attributes: map[string][]string{"handle": {"walnut", "oak", "pakkawood", "resin"}, "edge": {"plain", "serrated", "granton"}},
		minStock:   5, maxStock: 80,
	},
	{
		path: "kitchen/cookware", prefix: "CKW", kind: catalog.KindPhysical,
		adjectives: []string{"Heavy", "Everyday", "Induction-ready", "Heritage", "Nonstick"},
		materials:  []string{"cast iron", "copper", "tri-ply steel", "enamelled"},
		nouns:      []string{"skillet", "saucepan", "dutch oven", "wok", "stockpot", "roasting tin"},
		blurb:      "Even heat from hob to oven, built to last decades.",
		minCents:   2_500, maxCents: 39_900, minGrams: 600, maxGrams: 6_500,
		attributes: map[string][]string{"diameter_cm": {"20", "24", "28", "32"}, "colour": {"black", "red", "cream", "blue"}},
		minStock:   3, maxStock: 60,
	},
	{
		path: "home/lighting", prefix: "LGT", kind: catalog.KindPhysical,
		adjectives: []string{"Dimmable", "Minimal", "Industrial", "Scandinavian", "Warm-glow"},
		materials:  []string{"brass", "linen", "glass", "concrete", "bamboo"},
		nouns:      []string{"table lamp", "floor lamp", "pendant", "wall sconce", "desk lamp"},
		blurb:      "Soft, glare-free light for reading corners and long evenings.",
		minCents:   1_900, maxCents: 29_900, minGrams: 400, maxGrams: 8_000,
		attributes: map[string][]string{"bulb": {"E27", "E14", "GU10", "integrated LED"}, "colour": {"black", "white", "brass", "grey"}},
		minStock:   2, maxStock: 40,
	},
	{
		path: "home/textiles", prefix: "TXT", kind: catalog.KindPhysical,
		adjectives: []string{"Stonewashed", "Organic", "Chunky-knit", "Jacquard", "Waffle"},
		materials:  []string{"linen", "cotton", "wool", "merino", "hemp"},
		nouns:      []string{"throw", "duvet cover", "cushion cover", "tea towel", "bath towel", "tablecloth"},
		blurb:      "Gets softer with every wash.",
		minCents:   900, maxCents: 17_900, minGrams: 80, maxGrams: 2_400,
		attributes: map[string][]string{"colour": {"sand", "sage", "charcoal", "rust", "ivory"}, "size": {"S", "M", "L", "XL"}},
		minStock:   10, maxStock: 150,
	},
	{
		path: "garden/tools", prefix: "GDN", kind: catalog.KindPhysical,
		adjectives: []string{"Ergonomic", "Long-handled", "Folding", "Rust-proof", "Heavy-duty"},
		materials:  []string{"ash", "steel", "stainless", "aluminium"},
		nouns:      []string{"trowel", "spade", "pruning shears", "hoe", "rake", "weeder"},
		blurb:      "Made for years of digging, planting and pruning.",
		minCents:   800, maxCents: 12_900, minGrams: 150, maxGrams: 2_800,
		attributes: map[string][]string{"handle": {"ash", "fibreglass", "rubber"}, "warranty_years": {"2", "5", "10"}},
		minStock:   5, maxStock: 100,
	},
	{
		path: "outdoor/camping", prefix: "CMP", kind: catalog.KindPhysical,
		adjectives: []string{"Ultralight", "Weatherproof", "Packable", "Expedition", "Family"},
		materials:  []string{"ripstop nylon", "titanium", "down", "canvas"},
		nouns:      []string{"tent", "sleeping bag", "stove", "mug", "backpack", "hammock"},
		blurb:      "Trail-tested gear that packs small and shrugs off the weather.",
		minCents:   1_200, maxCents: 59_900, minGrams: 60, maxGrams: 5_500,
		attributes: map[string][]string{"season": {"2", "3", "4"}, "colour": {"olive", "orange", "navy", "grey"}},
		minStock:   2, maxStock: 50,
	},
	{
		path: "books/fiction", prefix: "BKF", kind: catalog.KindPhysical,
		adjectives: []string{"The Quiet", "The Last", "A Distant", "The Hidden", "The Salt"},
		materials:  []string{"Harbour", "Orchard", "Lighthouse", "Kingdom", "River"},
		nouns:      []string{"(hardback)", "(paperback)", "(illustrated edition)"},
		blurb:      "A novel readers have pressed into friends' hands all year.",
		minCents:   799, maxCents: 2_999, minGrams: 180, maxGrams: 900,
		attributes: map[string][]string{"language": {"en", "fr", "de", "es"}, "format": {"hardback", "paperback"}},
		minStock:   5, maxStock: 200,
	},
	{
		path: "books/ebooks", prefix: "EBK", kind: catalog.KindDigital,
		adjectives: []string{"Practical", "Essential", "Modern", "Complete"},
		materials:  []string{"Go", "gRPC", "Bread-baking", "Woodworking", "Gardening"},
		nouns:      []string{"handbook", "field guide", "cookbook", "primer"},
		blurb:      "Instant download, DRM-free, in EPUB and PDF.",
		minCents:   499, maxCents: 3_999,
		attributes: map[string][]string{"language": {"en", "fr", "de"}, "format": {"epub", "pdf"}},
		minStock:   1_000, maxStock: 10_000,
	},
	{
		path: "electronics/audio", prefix: "AUD", kind: catalog.KindPhysical,
		adjectives: []string{"Wireless", "Noise-cancelling", "Studio", "Portable", "Retro"},
		materials:  []string{"aluminium", "walnut", "recycled plastic", "fabric-wrapped"},
		nouns:      []string{"headphones", "earbuds", "speaker", "turntable", "radio"},
		blurb:      "Clear, detailed sound with no fuss to set up.",
		minCents:   2_900, maxCents: 49_900, minGrams: 40, maxGrams: 7_000,
		attributes: map[string][]string{"connectivity": {"bluetooth", "wired", "wifi"}, "colour": {"black", "white", "silver", "walnut"}},
		minStock:   2, maxStock: 60,
	},
	{
		path: "toys/puzzles", prefix: "PZL", kind: catalog.KindPhysical,
		adjectives: []string{"Mountain", "Harbour", "Botanical", "Vintage-map", "Night-sky"},
		materials:  []string{"wooden", "cardboard", "recycled-board"},
		nouns:      []string{"jigsaw, 500 pieces", "jigsaw, 1000 pieces", "3D puzzle", "puzzle box"},
		blurb:      "An absorbing puzzle for a slow weekend.",
		minCents:   1_200, maxCents: 6_900, minGrams: 250, maxGrams: 1_800,
		attributes: map[string][]string{"age": {"6+", "10+", "14+"}, "difficulty": {"easy", "medium", "hard"}},
		minStock:   5, maxStock: 120,
	},
	{
		path: "gift-cards", prefix: "GFT", kind: catalog.KindGiftCard,
		adjectives: []string{"Birthday", "Thank-you", "Seasonal", "Wedding", "Just-because"},
		materials:  []string{"printed", "e-mail"},
		nouns:      []string{"gift card"},
		blurb:      "Let them choose: spendable on anything in the shop.",
		minCents:   1_000, maxCents: 1_000,
		attributes: map[string][]string{"delivery": {"post", "email"}},
		minStock:   1_000, maxStock: 1_000,
	},
}

// sampleProduct is product i of the sample catalog and what goes with it.
type sampleProduct struct {
	product *catalog.Product
	stock   int64
	swatch  color.RGBA
}

// sample generates product i: a pure function of i, so every run seeds the
// same catalog.
func sample(i int) sampleProduct {
	c := &categories[i%len(categories)]
	r := rng(uint64(i))
	adj, mat, noun := pick(r, c.adjectives), pick(r, c.materials), pick(r, c.nouns)
	p := &catalog.Product{
		SKU:      fmt.Sprintf("%s-%05d", c.prefix, i+1),
		Title:    fmt.Sprintf("%s %s %s, no. %d", adj, mat, noun, 100+r.intn(900)),
		Category: c.path,
		Price:    price(r, c.minCents, c.maxCents),
		Status:   catalog.StatusActive,
	}
	p.Description = fmt.Sprintf("%s %s %s. %s", capital(adj), mat, noun, c.blurb)
	p.Attributes = make(map[string]string, len(c.attributes))
	for _, k := range sortedKeys(c.attributes) {
		p.Attributes[k] = pick(r, c.attributes[k])
	}
	switch c.kind {
	case catalog.KindPhysical:
		p.Kind = catalog.Kind{
			Type:        catalog.KindPhysical,
			WeightGrams: int32(between(r, int64(c.minGrams), int64(c.maxGrams))),
			LengthMM:    int32(between(r, 100, 600)),
			WidthMM:     int32(between(r, 50, 400)),
			HeightMM:    int32(between(r, 20, 300)),
		}
	case catalog.KindDigital:
		p.Kind = catalog.Kind{Type: catalog.KindDigital, DownloadSizeBytes: between(r, 500_000, 50_000_000)}
	case catalog.KindGiftCard:
		p.Kind = catalog.Kind{Type: catalog.KindGiftCard, MinAmount: cents(1_000), MaxAmount: cents(50_000)}
	}
	return sampleProduct{
		product: p,
		stock:   between(r, c.minStock, c.maxStock),
		swatch:  color.RGBA{R: uint8(r.next()), G: uint8(r.next()), B: uint8(r.next()), A: 255},
	}
}

// price is a shop price in [minCents, maxCents]: whole euros less a cent
// (24.99), or exactly minCents when the range is one amount.
func price(r *splitMix, minCents, maxCents int64) catalog.Money {
	if minCents == maxCents {
		return cents(minCents)
	}
	return cents(max(between(r, minCents, maxCents)/100*100-1, minCents))
}

// cents is an amount in euro cents as Money.
func cents(n int64) catalog.Money {
	return catalog.Money{Currency: currency, Units: n / 100, Nanos: int32(n%100) * 10_000_000}
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func sortedKeys(m map[string][]string) []string {
	return slices.Sorted(maps.Keys(m))
}

// splitMix is the SplitMix64 generator: tiny, fast and fully specified
// here, so the sample catalog cannot change with the standard library's
// generators.
type splitMix struct{ state uint64 }

// rng returns a generator seeded with seed.
func rng(seed uint64) *splitMix {
	return &splitMix{state: seed*0x9e3779b97f4a7c15 + 0x2545f4914f6cdd1d}
}

func (s *splitMix) next() uint64 {
	s.state += 0x9e3779b97f4a7c15
	z := s.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn returns a number in [0, n); the modulo bias is irrelevant here.
func (s *splitMix) intn(n int) int { return int(s.next() % uint64(n)) }

func pick(r *splitMix, from []string) string { return from[r.intn(len(from))] }

// between returns a number in [lo, hi].
func between(r *splitMix, lo, hi int64) int64 { return lo + int64(r.next()%uint64(hi-lo+1)) }
