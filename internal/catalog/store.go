package catalog

import (
	"context"
	"errors"
	"time"
)

// The errors a Store returns for conditions the Service handles. Other
// errors are failures of the database itself.
var (
	// ErrNotFound is returned when the row asked for does not exist.
	ErrNotFound = errors.New("catalog: not found")
	// ErrDuplicate is returned when a create collides with a unique key (a
	// product's SKU or id, a request id, a reservation id).
	ErrDuplicate = errors.New("catalog: duplicate")
)

// Store is the persistence the Service needs. Every method that changes
// state appends the events it is given (or that its callback returns) to
// the outbox in the same transaction. Implementations must be safe for
// concurrent use; internal/catalog/store implements it on SQLite and
// Postgres and runs one contract test suite against both.
//
// A callback fn of a read-modify-write may be called more than once (a
// transaction retried after a transient conflict), so it must have no other
// effect; its error is returned unchanged and nothing is written.
type Store interface {
	ProductStore
	InventoryStore
}

// ProductQuery selects and orders a page of ListProducts.
type ProductQuery struct {
	// Status keeps products of this status (never unspecified).
	Status Status
	// Category keeps products in this category or below it; "" keeps all.
	Category string
	// MinPrice and MaxPrice, when set (non-nil), keep products of their
	// currency at or above / at or below them.
	MinPrice, MaxPrice *Money
	// Attributes keep products having every key with its value.
	Attributes map[string]string
	Order      ProductOrder
	// After, when set, starts the page after this position of Order.
	After *ProductCursor
	// Limit is the most products to return (positive).
	Limit int
}

// ProductOrder sorts a product list; ties break by ID in the same
// direction.
type ProductOrder int

// The orders of ListProducts.
const (
	// OrderUpdateTimeDesc lists the latest changes first (the default).
	OrderUpdateTimeDesc ProductOrder = iota
	// OrderPriceAsc lists the cheapest first.
	OrderPriceAsc
	// OrderPriceDesc lists the dearest first.
	OrderPriceDesc
)

// ProductCursor is the position of a product in a ProductOrder: its update
// time (OrderUpdateTimeDesc) or its price amount (the price orders), and its
// id.
type ProductCursor struct {
	UpdateTime time.Time
	PriceUnits int64
	PriceNanos int32
	ID         string
}

// ProductVersion names a product as it is at one version.
type ProductVersion struct {
	ID      string
	Version int64
}

// CreateRequest is a CreateProduct request, remembered for idempotent
// retries.
type CreateRequest struct {
	// ID is the caller's request id.
	ID string
	// Fingerprint is a digest of the product asked for, which a retry must
	// match.
	Fingerprint []byte
}

// ProductStore persists products.
type ProductStore interface {
	// CreateProduct inserts p, a stock row of 0 units for p.SKU and the
	// request (which remembers p.ID), in one transaction. It returns
	// ErrDuplicate if p.ID, p.SKU or the request id is taken.
	CreateProduct(ctx context.Context, p *Product, req CreateRequest, events ...Event) error
	// ProductByRequest returns the request with id and the product it
	// created (as it is now), or ErrNotFound.
	ProductByRequest(ctx context.Context, requestID string) (*Product, CreateRequest, error)
	// Product returns the product with id, or ErrNotFound.
	Product(ctx context.Context, id string) (*Product, error)
	// Products returns the products with the given ids that exist, in one
	// query, in no particular order.
	Products(ctx context.Context, ids []string) ([]*Product, error)
	// UpdateProduct reads the product with id, calls fn with it and, if fn
	// returns nil, writes it back (every field but ID, SKU and CreateTime)
	// with fn's events, in one transaction that no other update of the
	// product interleaves with. It returns the product as written,
	// ErrNotFound, or fn's error.
	UpdateProduct(ctx context.Context, id string, fn func(p *Product) ([]Event, error)) (*Product, error)
	// ListProducts returns a page of products as q selects.
	ListProducts(ctx context.Context, q ProductQuery) ([]*Product, error)
	// ListProductVersions returns the ids and versions of the page
	// ListProducts would return, in its order, for callers that have the
	// products at hand.
	ListProductVersions(ctx context.Context, q ProductQuery) ([]ProductVersion, error)
	// ImageIDs returns the ids of every image of every product, for the
	// sweeper of orphaned image blobs.
	ImageIDs(ctx context.Context) (map[string]struct{}, error)
	// SearchProducts returns active products matching every word of
	// words in their title or description, best match first (ties by id),
	// skipping offset and returning at most limit. words are plain words,
	// not query syntax.
	SearchProducts(ctx context.Context, words []string, offset, limit int) ([]*Product, error)
}

// InventoryStore persists stock, adjustments and reservations.
type InventoryStore interface {
	// Stocks returns the stock of the given SKUs that exist, in no
	// particular order.
	Stocks(ctx context.Context, skus []string) ([]Stock, error)
	// AdjustStock applies an adjustment unless one with a.RequestID was
	// applied before, in which case it returns that one (with its After)
	// and replay true, and calls nothing. Otherwise it reads the stock of
	// a.SKU (ErrNotFound if none), calls fn with it, writes what fn left
	// and records a with After set, with fn's events, in one transaction
	// serialised with every other change of the SKU's stock.
	AdjustStock(ctx context.Context, a Adjustment, fn func(s *Stock) ([]Event, error)) (applied Adjustment, replay bool, err error)
	// CreateReservation inserts r unless a reservation with r.ID exists, in
	// which case it returns that one and replay true, and calls nothing.
	// Otherwise it reads the stock of r's SKUs (a SKU without stock is
	// absent from the map), calls fn, writes the stocks fn changed and r,
	// with fn's events, in one transaction serialised with every other
	// change of those stocks.
	CreateReservation(ctx context.Context, r *Reservation, fn func(stocks map[string]*Stock) ([]Event, error)) (out *Reservation, replay bool, err error)
	// Reservation returns the reservation with id, or ErrNotFound.
	Reservation(ctx context.Context, id string) (*Reservation, error)
	// UpdateReservation reads the reservation with id and its SKUs' stocks,
	// calls fn and, if fn returns nil, writes the reservation's state, the
	// stocks and fn's events, in one transaction serialised with every
	// other change of them. It returns the reservation as written,
	// ErrNotFound, or fn's error.
	UpdateReservation(ctx context.Context, id string, fn func(r *Reservation, stocks map[string]*Stock) ([]Event, error)) (*Reservation, error)
	// ExpiredReservations returns the ids of up to limit reservations still
	// reserved whose ExpireTime is at or before the given time.
	ExpiredReservations(ctx context.Context, at time.Time, limit int) ([]string, error)
}
