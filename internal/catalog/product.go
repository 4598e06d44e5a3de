package catalog

import (
	"crypto/sha256"
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// Status is where a product is in its life.
type Status int

// The statuses. StatusUnspecified is never stored.
const (
	StatusUnspecified Status = iota
	// StatusDraft products are invisible to customers.
	StatusDraft
	// StatusActive products are on sale.
	StatusActive
	// StatusArchived products are off sale, kept for past orders.
	StatusArchived
)

func (s Status) valid() bool { return s >= StatusDraft && s <= StatusArchived }

// String returns the status's name in lower case ("active").
func (s Status) String() string {
	switch s {
	case StatusDraft:
		return "draft"
	case StatusActive:
		return "active"
	case StatusArchived:
		return "archived"
	}
	return "unspecified"
}

// KindType says what sort of goods a product is.
type KindType int

// The kinds of goods. KindNone is a product that declares none.
const (
	KindNone KindType = iota
	// KindPhysical goods ship.
	KindPhysical
	// KindDigital goods download.
	KindDigital
	// KindGiftCard is bought for an amount in a range.
	KindGiftCard
)

// Kind is the sort of goods and what that sort needs. Only the fields of
// Type are meaningful.
type Kind struct {
	Type KindType
	// Physical goods: shipping weight and package size (0 = not given).
	WeightGrams                 int32
	LengthMM, WidthMM, HeightMM int32
	// Digital goods: the download size.
	DownloadSizeBytes int64
	// Gift cards: the range of amounts a buyer may choose.
	MinAmount, MaxAmount Money
}

// ImageRef points at a stored product image.
type ImageRef struct {
	ID          string
	ContentType string
	SizeBytes   int64
	// SHA256 is the hex SHA-256 of the bytes.
	SHA256 string
}

// PartnerMetadata is a partner's own message about a product, stored as
// given: a protobuf Any's type URL and bytes. The domain does not interpret
// it.
type PartnerMetadata struct {
	TypeURL string
	Value   []byte
}

// IsZero reports whether no metadata is set.
func (m PartnerMetadata) IsZero() bool { return m.TypeURL == "" && len(m.Value) == 0 }

// Product is something the shop sells.
type Product struct {
	// ID is assigned by the catalog.
	ID string
	// SKU is unique and immutable: the stock row is keyed by it.
	SKU         string
	Title       string
	Description string
	// Brand is the maker's or label's name (added in API v1.1).
	Brand string
	// Category is a slash-separated path such as "kitchen/knives".
	Category   string
	Price      Money
	Attributes map[string]string
	// Images in display order.
	Images          []ImageRef
	Kind            Kind
	Status          Status
	PartnerMetadata PartnerMetadata
	CreateTime      time.Time
	UpdateTime      time.Time
	// Version counts the product's writes; Etag renders it.
	Version int64
}

// Etag is the product's current entity tag: its version as a string.
func (p *Product) Etag() string { return strconv.FormatInt(p.Version, 10) }

// Clone returns a deep copy of p.
func (p *Product) Clone() *Product {
	c := *p
	c.Attributes = maps.Clone(p.Attributes)
	c.Images = slices.Clone(p.Images)
	c.PartnerMetadata.Value = slices.Clone(p.PartnerMetadata.Value)
	return &c
}

// Limits and patterns of product fields, as the API contract states them.
const (
	maxTitle          = 200
	maxDescription    = 5000
	maxBrand          = 100
	maxAttributes     = 32
	maxAttributeValue = 200
	maxTypeURL        = 2048
	maxPartnerValue   = 64 << 10
)

var (
	skuPattern          = regexp.MustCompile(`^[A-Z0-9][A-Z0-9-]{1,31}$`)
	categoryPattern     = regexp.MustCompile(`^[a-z0-9-]+(/[a-z0-9-]+)*$`)
	attributeKeyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
)

// validate checks every caller-settable field of p against the contract and
// returns an INVALID_ARGUMENT PRODUCT_INVALID error naming the first bad
// field (with the "product." prefix of the API).
func (p *Product) validate() error {
	bad := func(field, desc string) error { return invalidField(ReasonProductInvalid, "product."+field, desc) }
	switch {
	case !skuPattern.MatchString(p.SKU):
		return bad("sku", "must match "+skuPattern.String())
	case p.Title == "" || !utf8.ValidString(p.Title) || utf8.RuneCountInString(p.Title) > maxTitle:
		return bad("title", "must be 1 to 200 characters")
	case !utf8.ValidString(p.Description) || utf8.RuneCountInString(p.Description) > maxDescription:
		return bad("description", "must be at most 5000 characters")
	case !utf8.ValidString(p.Brand) || utf8.RuneCountInString(p.Brand) > maxBrand:
		return bad("brand", "must be at most 100 characters")
	case p.Category != "" && !categoryPattern.MatchString(p.Category):
		return bad("category", "must be a path like kitchen/knives")
	case !p.Status.valid():
		return bad("status", "must be draft, active or archived")
	case len(p.Attributes) > maxAttributes:
		return bad("attributes", "at most 32 attributes")
	case len(p.PartnerMetadata.TypeURL) > maxTypeURL || len(p.PartnerMetadata.Value) > maxPartnerValue:
		return bad("partner_metadata", "too large")
	case len(p.PartnerMetadata.Value) > 0 && p.PartnerMetadata.TypeURL == "":
		return bad("partner_metadata", "needs a type URL")
	}
	if err := p.Price.Validate(); err != nil {
		return bad("price", err.Error())
	}
	if p.Price.IsNegative() {
		return bad("price", "must not be negative")
	}
	for k, v := range p.Attributes {
		if !attributeKeyPattern.MatchString(k) {
			return bad("attributes", "key "+quote(k)+" must match "+attributeKeyPattern.String())
		}
		if !utf8.ValidString(v) || utf8.RuneCountInString(v) > maxAttributeValue {
			return bad("attributes", "value of "+quote(k)+" must be at most 200 characters")
		}
	}
	return p.Kind.validate(bad)
}

func (k Kind) validate(bad func(field, desc string) error) error {
	switch k.Type {
	case KindNone:
		return nil
	case KindPhysical:
		if k.WeightGrams <= 0 || k.WeightGrams > 1_000_000 {
			return bad("physical.weight_grams", "must be 1 to 1000000")
		}
		if k.LengthMM < 0 || k.WidthMM < 0 || k.HeightMM < 0 {
			return bad("physical.dimensions", "must be positive")
		}
	case KindDigital:
		if k.DownloadSizeBytes <= 0 {
			return bad("digital.download_size_bytes", "must be positive")
		}
	case KindGiftCard:
		if err := k.MinAmount.Validate(); err != nil || k.MinAmount.IsNegative() {
			return bad("gift_card.min_amount", "must be a valid, non-negative amount")
		}
		if err := k.MaxAmount.Validate(); err != nil {
			return bad("gift_card.max_amount", "must be a valid amount")
		}
		c, err := k.MinAmount.Cmp(k.MaxAmount)
		if err != nil {
			return bad("gift_card.max_amount", "must be in the currency of min_amount")
		}
		if c > 0 {
			return bad("gift_card.max_amount", "must not be below min_amount")
		}
	default:
		return bad("kind", "unknown kind")
	}
	return nil
}

// fingerprint is a SHA-256 of the caller-given content of p (what
// sameContent compares), the test of an idempotent create's replay. JSON
// writes map keys sorted, so equal content has one encoding.
func fingerprint(p *Product) []byte {
	b, err := json.Marshal(struct {
		SKU, Title, Description, Category string
		// Brand is omitted when empty, so fingerprints stored before the
		// field existed still match their replays.
		Brand        string `json:",omitempty"`
		Price        Money
		Attributes   map[string]string
		Kind         Kind
		Status       Status
		PartnerType  string
		PartnerValue []byte
	}{
		p.SKU, p.Title, p.Description, p.Category, p.Brand, p.Price, nonNilMap(p.Attributes), p.Kind, p.Status,
		p.PartnerMetadata.TypeURL, nonNilBytes(p.PartnerMetadata.Value),
	})
	if err != nil {
		panic("catalog: fingerprinting a product: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return sum[:]
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// sameContent reports whether a and b carry the same caller-given content
// (everything but the id, times, version and images): whether an update
// changed anything.
func sameContent(a, b *Product) bool {
	return a.SKU == b.SKU && a.Title == b.Title && a.Description == b.Description && a.Brand == b.Brand &&
		a.Category == b.Category && a.Price == b.Price && maps.Equal(a.Attributes, b.Attributes) &&
		a.Kind == b.Kind && a.Status == b.Status && a.PartnerMetadata.TypeURL == b.PartnerMetadata.TypeURL &&
		slices.Equal(a.PartnerMetadata.Value, b.PartnerMetadata.Value)
}

// quote bounds and quotes a caller-supplied value for an error message.
func quote(s string) string {
	const limit = 40
	if utf8.RuneCountInString(s) > limit {
		s = string([]rune(s)[:limit]) + "…"
	}
	return strconv.Quote(s)
}
