package catalog

import (
	"context"
	"time"
)

// NotifyOnWrite returns a Store that calls notify after every write of st
// that returns without error (each is a committed transaction that may have
// appended events), so that an outbox feed (internal/platform/events
// Feed.Notify) delivers them at once instead of at its next poll. notify
// must not block. A write that changed nothing (a replay) notifies too; a
// spurious wake-up costs one empty outbox read.
//
//	svc, err := catalog.New(catalog.NotifyOnWrite(st, feed.Notify), cfg)
func NotifyOnWrite(st Store, notify func()) Store {
	return notifyingStore{st: st, notify: notify}
}

// notifyingStore lists every method rather than embedding Store, so that a
// write method added to Store fails to compile here until it notifies.
type notifyingStore struct {
	st     Store
	notify func()
}

var _ Store = notifyingStore{}

func (n notifyingStore) done(err error) error {
	if err == nil {
		n.notify()
	}
	return err
}

func (n notifyingStore) CreateProduct(ctx context.Context, p *Product, req CreateRequest, events ...Event) error {
	return n.done(n.st.CreateProduct(ctx, p, req, events...))
}

func (n notifyingStore) ProductByRequest(ctx context.Context, requestID string) (*Product, CreateRequest, error) {
	return n.st.ProductByRequest(ctx, requestID)
}

func (n notifyingStore) Product(ctx context.Context, id string) (*Product, error) {
	return n.st.Product(ctx, id)
}

func (n notifyingStore) Products(ctx context.Context, ids []string) ([]*Product, error) {
	return n.st.Products(ctx, ids)
}

func (n notifyingStore) UpdateProduct(ctx context.Context, id string, fn func(p *Product) ([]Event, error)) (*Product, error) {
	p, err := n.st.UpdateProduct(ctx, id, fn)
	return p, n.done(err)
}

func (n notifyingStore) ListProducts(ctx context.Context, q ProductQuery) ([]*Product, error) {
	return n.st.ListProducts(ctx, q)
}

func (n notifyingStore) ListProductVersions(ctx context.Context, q ProductQuery) ([]ProductVersion, error) {
	return n.st.ListProductVersions(ctx, q)
}

func (n notifyingStore) ImageIDs(ctx context.Context) (map[string]struct{}, error) {
	return n.st.ImageIDs(ctx)
}

func (n notifyingStore) SearchProducts(ctx context.Context, words []string, offset, limit int) ([]*Product, error) {
	return n.st.SearchProducts(ctx, words, offset, limit)
}

func (n notifyingStore) Stocks(ctx context.Context, skus []string) ([]Stock, error) {
	return n.st.Stocks(ctx, skus)
}

func (n notifyingStore) AdjustStock(ctx context.Context, a Adjustment, fn func(s *Stock) ([]Event, error)) (Adjustment, bool, error) {
	applied, replay, err := n.st.AdjustStock(ctx, a, fn)
	return applied, replay, n.done(err)
}

func (n notifyingStore) CreateReservation(ctx context.Context, r *Reservation, fn func(stocks map[string]*Stock) ([]Event, error)) (*Reservation, bool, error) {
	out, replay, err := n.st.CreateReservation(ctx, r, fn)
	return out, replay, n.done(err)
}

func (n notifyingStore) Reservation(ctx context.Context, id string) (*Reservation, error) {
	return n.st.Reservation(ctx, id)
}

func (n notifyingStore) UpdateReservation(ctx context.Context, id string, fn func(r *Reservation, stocks map[string]*Stock) ([]Event, error)) (*Reservation, error) {
	r, err := n.st.UpdateReservation(ctx, id, fn)
	return r, n.done(err)
}

func (n notifyingStore) ExpiredReservations(ctx context.Context, at time.Time, limit int) ([]string, error) {
	return n.st.ExpiredReservations(ctx, at, limit)
}
