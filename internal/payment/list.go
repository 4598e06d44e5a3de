package payment

import (
	"context"
	"errors"
	"fmt"

	"github.com/bazaarhq/bazaar/internal/platform/pagetoken"
)

// Page sizes of ListPayments.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// GetPayment returns the payment with id. Errors: NOT_FOUND
// PAYMENT_NOT_FOUND.
func (s *Service) GetPayment(ctx context.Context, id string) (*Payment, error) {
	if err := checkID("id", id); err != nil {
		return nil, err
	}
	p, err := s.store.Payment(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, errPaymentNotFound(id)
	case err != nil:
		return nil, storeError(err, "reading payment")
	}
	return p, nil
}

// ListRequest asks for one page of payments, newest first.
type ListRequest struct {
	// PageSize is the most payments to return: 0 means 50; at most 200.
	PageSize int
	// PageToken continues a listing with the same filters.
	PageToken string
	// OrderID keeps the payments of this order; "" keeps all.
	OrderID string
	// Status keeps payments of this status; unspecified keeps all.
	Status Status
}

type listCursor struct {
	ID string `json:"id"`
}

// pageTokens makes the payment service's page tokens.
var pageTokens = pagetoken.New("bazaar.payment.v1")

// ListPayments returns a page of payments (AIP-158) and the token of the
// next page ("" on the last one), by keyset pagination.
//
// Errors: INVALID_ARGUMENT PAGE_SIZE_INVALID, PAGE_TOKEN_INVALID (also for
// a token of other filters), REQUEST_INVALID (an unknown status).
func (s *Service) ListPayments(ctx context.Context, r ListRequest) ([]*Payment, string, error) {
	if r.PageSize < 0 || r.PageSize > MaxPageSize {
		return nil, "", invalidField(ReasonPageSizeInvalid, "page_size", fmt.Sprintf("must be 0 to %d", MaxPageSize))
	}
	limit := r.PageSize
	if limit == 0 {
		limit = DefaultPageSize
	}
	if r.Status != StatusUnspecified && !r.Status.Valid() {
		return nil, "", invalidField(ReasonRequestInvalid, "status", "unknown status")
	}
	if len(r.OrderID) > maxID {
		return nil, "", invalidField(ReasonRequestInvalid, "order_id", "must be at most 64 characters")
	}
	canonical := fmt.Sprintf("list\x00%q\x00%d", r.OrderID, r.Status)
	q := ListQuery{OrderID: r.OrderID, Status: r.Status, Limit: limit + 1}
	if r.PageToken != "" {
		var c listCursor
		if err := pageTokens.Decode(r.PageToken, canonical, &c); err != nil {
			return nil, "", err
		}
		q.AfterID = c.ID
	}
	ps, err := s.store.ListPayments(ctx, q)
	if err != nil {
		return nil, "", storeError(err, "listing payments")
	}
	if len(ps) <= limit {
		return ps, "", nil
	}
	ps = ps[:limit]
	return ps, pageTokens.Encode(canonical, listCursor{ID: ps[limit-1].ID}), nil
}
