package catalog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// Limits of stock requests, as the API contract states them.
const (
	maxDelta            = 1_000_000_000
	maxQuantity         = 1000
	maxReservationItems = 100
	maxReason           = 200
)

// GetStock returns the stock of skus in the order asked. Errors:
// INVALID_ARGUMENT for no SKU, more than 100 or a repeated one; NOT_FOUND
// SKU_NOT_FOUND for the first unknown SKU.
func (s *Service) GetStock(ctx context.Context, skus []string) ([]Stock, error) {
	if len(skus) == 0 || len(skus) > maxBatch || hasDuplicate(skus) {
		return nil, invalidField(ReasonStockRequestInvalid, "skus", "must be 1 to 100 distinct SKUs")
	}
	stocks, err := s.store.Stocks(ctx, skus)
	if err != nil {
		return nil, storeError(err, "reading stock")
	}
	bySKU := make(map[string]Stock, len(stocks))
	for _, st := range stocks {
		bySKU[st.SKU] = st
	}
	out := make([]Stock, 0, len(skus))
	for _, sku := range skus {
		st, ok := bySKU[sku]
		if !ok {
			return nil, errSKUNotFound(sku)
		}
		out = append(out, st)
	}
	return out, nil
}

func hasDuplicate(s []string) bool {
	c := slices.Clone(s)
	slices.Sort(c)
	return len(slices.Compact(c)) != len(s)
}

// AdjustRequest adds (or, with a negative Delta, removes) available units.
type AdjustRequest struct {
	SKU string
	// Delta is added to available: not zero, within ±1e9.
	Delta int64
	// Reason is recorded ("delivery 42").
	Reason string
	// RequestID makes retries safe.
	RequestID string
}

// AdjustStock applies r and returns the stock after it. Repeating a request
// id returns the stock the first adjustment left, without applying it
// again.
//
// Errors: INVALID_ARGUMENT STOCK_REQUEST_INVALID, REQUEST_ID_INVALID,
// IDEMPOTENCY_KEY_REUSED (the id adjusted another SKU, delta or reason);
// NOT_FOUND SKU_NOT_FOUND; FAILED_PRECONDITION INSUFFICIENT_STOCK (with a
// STOCK PreconditionFailure) when available would go below zero.
func (s *Service) AdjustStock(ctx context.Context, r AdjustRequest) (Stock, error) {
	switch {
	case r.SKU == "":
		return Stock{}, invalidField(ReasonStockRequestInvalid, "sku", "must not be empty")
	case r.Delta == 0 || r.Delta < -maxDelta || r.Delta > maxDelta:
		return Stock{}, invalidField(ReasonStockRequestInvalid, "delta", "must be non-zero, within ±1000000000")
	case strings.TrimSpace(r.Reason) == "" || len([]rune(r.Reason)) > maxReason:
		return Stock{}, invalidField(ReasonStockRequestInvalid, "reason", "must be 1 to 200 characters")
	case r.RequestID == "" || len(r.RequestID) > maxRequestID:
		return Stock{}, invalidField(ReasonRequestIDInvalid, "request_id", "must be 1 to 64 characters")
	}
	now := s.now()
	a := Adjustment{RequestID: r.RequestID, SKU: r.SKU, Delta: r.Delta, Reason: r.Reason, Time: now}
	applied, replay, err := s.store.AdjustStock(ctx, a, func(st *Stock) ([]Event, error) {
		if st.Available+r.Delta < 0 {
			return nil, errInsufficient([]shortage{{sku: st.SKU, want: -r.Delta, have: st.Available}}, "remove")
		}
		st.Available += r.Delta
		return []Event{stockEvent(st, now)}, nil
	})
	var domainErr *errs.Error
	switch {
	case errors.Is(err, ErrNotFound):
		return Stock{}, errSKUNotFound(r.SKU)
	case errors.As(err, &domainErr):
		return Stock{}, err
	case err != nil:
		return Stock{}, storeError(err, "adjusting stock")
	case replay && (applied.SKU != r.SKU || applied.Delta != r.Delta || applied.Reason != r.Reason):
		return Stock{}, errIdempotencyKeyReused()
	}
	return applied.After, nil
}

type shortage struct {
	sku        string
	want, have int64
	unknown    bool
}

// errInsufficient is FAILED_PRECONDITION INSUFFICIENT_STOCK with a STOCK
// violation per short SKU.
func errInsufficient(short []shortage, verb string) *errs.Error {
	opts := make([]errs.Option, 0, len(short))
	for _, sh := range short {
		desc := fmt.Sprintf("cannot %s %d units: %d available", verb, sh.want, sh.have)
		if sh.unknown {
			desc = "unknown SKU"
		}
		opts = append(opts, errs.WithPrecondition(PreconditionStock, sh.sku, desc))
	}
	return errs.New(errs.FailedPrecondition, ReasonInsufficientStock,
		fmt.Sprintf("not enough stock for %d SKU(s)", len(short)), opts...)
}

// ReserveStock holds units of items (1 to 100 distinct SKUs) for a
// checkout, all or none, until the configured TTL passes. Repeating a
// reservation id returns the reservation as it is (in whatever state).
//
// Errors: INVALID_ARGUMENT STOCK_REQUEST_INVALID, IDEMPOTENCY_KEY_REUSED
// (field "reservation_id": the id reserved other items);
// FAILED_PRECONDITION INSUFFICIENT_STOCK with a STOCK PreconditionFailure
// violation per short or unknown SKU.
func (s *Service) ReserveStock(ctx context.Context, id string, items []ReservationItem) (*Reservation, error) {
	if id == "" || len(id) > maxRequestID {
		return nil, invalidField(ReasonStockRequestInvalid, "reservation_id", "must be 1 to 64 characters")
	}
	if len(items) == 0 || len(items) > maxReservationItems {
		return nil, invalidField(ReasonStockRequestInvalid, "items", "must be 1 to 100 items")
	}
	sorted := slices.Clone(items)
	slices.SortFunc(sorted, func(a, b ReservationItem) int { return strings.Compare(a.SKU, b.SKU) })
	for i, it := range sorted {
		switch {
		case it.SKU == "":
			return nil, invalidField(ReasonStockRequestInvalid, "items.sku", "must not be empty")
		case it.Quantity <= 0 || it.Quantity > maxQuantity:
			return nil, invalidField(ReasonStockRequestInvalid, "items.quantity", "must be 1 to 1000")
		case i > 0 && sorted[i-1].SKU == it.SKU:
			return nil, invalidField(ReasonStockRequestInvalid, "items", "SKU "+quote(it.SKU)+" is listed twice")
		}
	}
	now := s.now()
	r := &Reservation{ID: id, Items: sorted, State: ReservationReserved, CreateTime: now, ExpireTime: now.Add(s.cfg.ReservationTTL)}
	out, replay, err := s.store.CreateReservation(ctx, r, func(stocks map[string]*Stock) ([]Event, error) {
		var short []shortage
		for _, it := range sorted {
			st, ok := stocks[it.SKU]
			switch {
			case !ok:
				short = append(short, shortage{sku: it.SKU, unknown: true})
			case st.Available < it.Quantity:
				short = append(short, shortage{sku: it.SKU, want: it.Quantity, have: st.Available})
			}
		}
		if len(short) > 0 {
			return nil, errInsufficient(short, "reserve")
		}
		events := make([]Event, 0, len(sorted))
		for _, it := range sorted {
			st := stocks[it.SKU]
			st.Available -= it.Quantity
			st.Reserved += it.Quantity
			events = append(events, stockEvent(st, now))
		}
		return events, nil
	})
	var domainErr *errs.Error
	switch {
	case errors.As(err, &domainErr):
		return nil, err
	case err != nil:
		return nil, storeError(err, "reserving stock")
	case replay && !slices.Equal(out.Items, sorted):
		return nil, invalidField(ReasonIdempotencyKeyReused, "reservation_id", "was already used for other items")
	}
	return out, nil
}

// CommitReservation turns the reserved units of reservation id into sold
// units. Committing a committed reservation changes nothing. Errors:
// NOT_FOUND RESERVATION_NOT_FOUND; FAILED_PRECONDITION RESERVATION_CLOSED
// for a released or expired one (also one past its expire time that the
// sweeper has not released yet).
func (s *Service) CommitReservation(ctx context.Context, id string) (*Reservation, error) {
	now := s.now()
	return s.updateReservation(ctx, id, func(r *Reservation, stocks map[string]*Stock) ([]Event, error) {
		switch {
		case r.State == ReservationCommitted:
			return nil, nil
		case r.State != ReservationReserved:
			return nil, errClosed(r, "commit")
		case !now.Before(r.ExpireTime):
			return nil, errClosed(&Reservation{ID: r.ID, State: ReservationExpired}, "commit")
		}
		r.State = ReservationCommitted
		return moveUnits(r, stocks, now, func(st *Stock, q int64) { st.Reserved -= q; st.Sold += q }), nil
	})
}

// ReleaseReservation returns the reserved units of reservation id to
// available. Releasing a released or expired reservation changes nothing.
// Errors: NOT_FOUND RESERVATION_NOT_FOUND; FAILED_PRECONDITION
// RESERVATION_CLOSED for a committed one.
func (s *Service) ReleaseReservation(ctx context.Context, id string) (*Reservation, error) {
	now := s.now()
	return s.updateReservation(ctx, id, func(r *Reservation, stocks map[string]*Stock) ([]Event, error) {
		switch r.State {
		case ReservationReleased, ReservationExpired:
			return nil, nil
		case ReservationReserved:
		default:
			return nil, errClosed(r, "release")
		}
		r.State = ReservationReleased
		return moveUnits(r, stocks, now, returnUnits), nil
	})
}

// ReturnReservation puts the sold units of committed reservation id back
// on sale (its order was cancelled and refunded). Returning a returned
// reservation changes nothing. Errors: NOT_FOUND RESERVATION_NOT_FOUND;
// FAILED_PRECONDITION RESERVATION_CLOSED for one never committed.
func (s *Service) ReturnReservation(ctx context.Context, id string) (*Reservation, error) {
	now := s.now()
	return s.updateReservation(ctx, id, func(r *Reservation, stocks map[string]*Stock) ([]Event, error) {
		switch r.State {
		case ReservationReturned:
			return nil, nil
		case ReservationCommitted:
		default:
			return nil, errClosed(r, "return")
		}
		r.State = ReservationReturned
		return moveUnits(r, stocks, now, func(st *Stock, q int64) { st.Sold -= q; st.Available += q }), nil
	})
}

func returnUnits(st *Stock, q int64) { st.Reserved -= q; st.Available += q }

// moveUnits applies move to the stock of each item and returns the stock
// events.
func moveUnits(r *Reservation, stocks map[string]*Stock, now time.Time, move func(st *Stock, q int64)) []Event {
	events := make([]Event, 0, len(r.Items))
	for _, it := range r.Items {
		st := stocks[it.SKU]
		move(st, it.Quantity)
		events = append(events, stockEvent(st, now))
	}
	return events
}

func errClosed(r *Reservation, verb string) *errs.Error {
	return errs.New(errs.FailedPrecondition, ReasonReservationClosed,
		fmt.Sprintf("cannot %s a reservation that is %s", verb, r.State),
		errs.WithPrecondition(PreconditionReservation, r.ID, "reservation is "+r.State.String()))
}

func (s *Service) updateReservation(ctx context.Context, id string, fn func(r *Reservation, stocks map[string]*Stock) ([]Event, error)) (*Reservation, error) {
	if id == "" || len(id) > maxRequestID {
		return nil, invalidField(ReasonStockRequestInvalid, "reservation_id", "must be 1 to 64 characters")
	}
	r, err := s.store.UpdateReservation(ctx, id, fn)
	var domainErr *errs.Error
	switch {
	case err == nil:
		return r, nil
	case errors.Is(err, ErrNotFound):
		return nil, errReservationNotFound(id)
	case errors.As(err, &domainErr):
		return nil, err
	}
	return nil, storeError(err, "updating reservation")
}

// ExpireReservations releases every reservation still reserved past its
// expire time (state expired) and returns how many it expired.
func (s *Service) ExpireReservations(ctx context.Context) (int, error) {
	n := 0
	for {
		now := s.now()
		ids, err := s.store.ExpiredReservations(ctx, now, s.cfg.SweepBatch)
		if err != nil {
			return n, storeError(err, "finding expired reservations")
		}
		for _, id := range ids {
			expired := false
			_, err := s.store.UpdateReservation(ctx, id, func(r *Reservation, stocks map[string]*Stock) ([]Event, error) {
				// A commit or release may have won the race since the read.
				expired = r.State == ReservationReserved && !now.Before(r.ExpireTime)
				if !expired {
					return nil, nil
				}
				r.State = ReservationExpired
				return moveUnits(r, stocks, now, returnUnits), nil
			})
			if err != nil && !errors.Is(err, ErrNotFound) {
				return n, storeError(err, "expiring reservation %s", id)
			}
			if err == nil && expired {
				n++
			}
		}
		if len(ids) < s.cfg.SweepBatch {
			return n, nil
		}
	}
}

// RunSweeper calls ExpireReservations now and then every interval until ctx
// is done, logging failures (the next run tries again); it returns nil when
// ctx ends. Run it in its own goroutine for the life of the process
// (DefaultSweepInterval is a sensible interval).
func (s *Service) RunSweeper(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		return fmt.Errorf("catalog: sweep interval %v: want > 0", interval)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.ExpireReservations(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.ErrorContext(ctx, "catalog: expiring reservations failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
