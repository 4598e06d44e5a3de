package order

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/pagetoken"
)

// Page sizes of ListOrders.
const (
	defaultPageSize = 50
	maxPageSize     = 200
)

// pageTokens makes the order service's page tokens (see
// internal/platform/pagetoken).
var pageTokens = pagetoken.New("bazaar.order.v1")

// GetOrder returns the order with id if caller may see it: its customer
// or an admin. Errors: UNAUTHENTICATED; NOT_FOUND ORDER_NOT_FOUND, also
// for another customer's order, so that ids reveal nothing.
func (s *Service) GetOrder(ctx context.Context, caller *auth.Principal, id string) (*Order, error) {
	o, err := s.visibleOrder(ctx, caller, id)
	if err != nil {
		return nil, err
	}
	return o.publicCopy(), nil
}

func (s *Service) visibleOrder(ctx context.Context, caller *auth.Principal, id string) (*Order, error) {
	customer, err := customerOf(caller)
	if err != nil {
		return nil, err
	}
	if id == "" || len(id) > maxID {
		return nil, errOrderNotFound(id)
	}
	o, err := s.store.Order(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, errOrderNotFound(id)
	case err != nil:
		return nil, storeError(err, "reading order")
	case o.CustomerID != customer && !isAdmin(caller):
		return nil, errOrderNotFound(id)
	}
	return o, nil
}

// ListRequest asks for a page of orders.
type ListRequest struct {
	// PageSize is the most orders to return: 0 means 50; at most 200.
	PageSize int
	// PageToken continues a listing with the same filters.
	PageToken string
	// Status keeps orders of this status; StatusUnspecified keeps all.
	Status Status
	// All lists every customer's orders (admins only).
	All bool
}

// ListOrders returns a page of the caller's orders (every customer's with
// All, for an admin), newest first, and the token of the next page ("" on
// the last). Errors: UNAUTHENTICATED; PERMISSION_DENIED LIST_ALL_DENIED;
// INVALID_ARGUMENT REQUEST_INVALID, PAGE_TOKEN_INVALID.
func (s *Service) ListOrders(ctx context.Context, caller *auth.Principal, r ListRequest) ([]*Order, string, error) {
	customer, err := customerOf(caller)
	if err != nil {
		return nil, "", err
	}
	switch {
	case r.All && !isAdmin(caller):
		return nil, "", errs.New(errs.PermissionDenied, ReasonListAllDenied, "only admins list every customer's orders")
	case r.PageSize < 0 || r.PageSize > maxPageSize:
		return nil, "", invalidField(ReasonRequestInvalid, "page_size", "must be 0 to 200")
	case r.Status < StatusUnspecified || r.Status > StatusCancelled:
		return nil, "", invalidField(ReasonRequestInvalid, "status", "is not a status")
	}
	if r.All {
		customer = ""
	}
	limit := r.PageSize
	if limit == 0 {
		limit = defaultPageSize
	}
	canonical := fmt.Sprintf("customer=%q;status=%d", customer, r.Status)
	q := Query{CustomerID: customer, Status: r.Status, Limit: limit + 1}
	if r.PageToken != "" {
		var c Cursor
		if err := pageTokens.Decode(r.PageToken, canonical, &c); err != nil {
			return nil, "", err
		}
		q.After = &c
	}
	os, err := s.store.ListOrders(ctx, q)
	if err != nil {
		return nil, "", storeError(err, "listing orders")
	}
	next := ""
	if len(os) > limit {
		os = os[:limit]
		last := os[limit-1]
		next = pageTokens.Encode(canonical, Cursor{CreateTime: last.CreateTime, ID: last.ID})
	}
	for i, o := range os {
		os[i] = o.publicCopy()
	}
	return os, next, nil
}

// CancelOrder cancels the order with id for caller (its customer or an
// admin), with an optional reason, and answers like PlaceOrder: once the
// order is cancelled, or after PlaceOrderWait as it then is. A pending
// order is compensated at its next step boundary (void and release); a
// completed one is refunded and its stock returned; a cancelling or
// cancelled one is left as it is.
//
// Errors: UNAUTHENTICATED; NOT_FOUND ORDER_NOT_FOUND; INVALID_ARGUMENT
// REQUEST_INVALID for a reason over 200 characters.
func (s *Service) CancelOrder(ctx context.Context, caller *auth.Principal, id, reason string) (*Order, error) {
	if len([]rune(reason)) > maxReason {
		return nil, invalidField(ReasonRequestInvalid, "reason", "must be at most 200 characters")
	}
	if _, err := s.visibleOrder(ctx, caller, id); err != nil {
		return nil, err
	}
	code, msg := CancelByCustomer, "cancelled by the customer"
	if isAdmin(caller) {
		code, msg = CancelByAdmin, "cancelled by an admin"
	}
	if r := strings.TrimSpace(reason); r != "" {
		msg += ": " + r
	}
	now := s.now()
	o, err := s.store.UpdateOrder(ctx, id, func(o *Order) ([]Transition, []Event, error) {
		switch o.Status {
		case StatusPending:
			if !o.CancelRequested {
				o.CancelRequested, o.CancelCode, o.CancelReason, o.UpdateTime = true, code, msg, now
			}
			if o.LeaseOwner == "" || !o.LeaseUntil.After(now) {
				// No driver waits on it: make it due now rather than
				// at its next retry.
				o.NextAttemptAt = now
			}
			return nil, nil, nil
		case StatusCompleted:
			// No driver holds a completed order: this one takes it.
			o.LeaseOwner, o.LeaseUntil, o.UpdateTime = s.cfg.Owner, now.Add(s.cfg.LeaseTTL), now
			c := &change{o: o, now: now}
			c.compensate(code, msg)
			return c.ts, c.events, nil
		default:
			return nil, nil, nil
		}
	})
	if err != nil {
		return nil, storeError(err, "cancelling order")
	}
	if o.Status == StatusCancelling {
		s.cfg.OnEvents() // a completed order started compensating (or nothing changed: a spurious wake-up)
	}
	s.changes.notify(id, o)
	if o.Status == StatusCancelling && o.LeaseOwner == s.cfg.Owner {
		s.goDrive(o.ID, o)
	} else {
		s.kick(o)
	}
	return s.await(ctx, o)
}

// Transitions returns the transitions of the order with id after the
// sequence after, and the order as it is, if caller may see it (as
// GetOrder). WatchOrder sends them, then waits for more.
func (s *Service) Transitions(ctx context.Context, caller *auth.Principal, id string, after int64) ([]Transition, *Order, error) {
	if after < 0 {
		return nil, nil, invalidField(ReasonRequestInvalid, "after_sequence", "must not be negative")
	}
	o, err := s.visibleOrder(ctx, caller, id)
	if err != nil {
		return nil, nil, err
	}
	ts, err := s.store.Transitions(ctx, id, after, 1000)
	if err != nil {
		return nil, nil, storeError(err, "reading transitions")
	}
	return ts, o.publicCopy(), nil
}

// WaitChange returns a channel closed at the next change this process
// makes to the order, and a function to call when no longer waiting.
// Changes made by other processes are not signalled: poll as well.
func (s *Service) WaitChange(id string) (<-chan struct{}, func()) {
	sub := s.changes.subscribe(id)
	ch, _, _ := sub.state()
	return ch, sub.close
}
