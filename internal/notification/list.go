package notification

import (
	"context"
	"strconv"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/pagetoken"
)

// Page sizes of the lists.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
	// MaxProductAlerts is the most alerts ListProductAlerts returns.
	MaxProductAlerts = 1000
)

var pageTokens = pagetoken.New("bazaar.notification.v1")

type pageCursor struct {
	Before int64 `json:"b"`
}

func pageSize(n int) (int, error) {
	switch {
	case n < 0 || n > MaxPageSize:
		return 0, invalidField(ReasonPageSizeInvalid, "page_size", "must be 0 to "+strconv.Itoa(MaxPageSize))
	case n == 0:
		return DefaultPageSize, nil
	}
	return n, nil
}

func decodePage(token, listing string) (int64, error) {
	if token == "" {
		return 0, nil
	}
	var c pageCursor
	if err := pageTokens.Decode(token, listing, &c); err != nil {
		return 0, err
	}
	if c.Before <= 0 {
		return 0, invalidField(ReasonPageTokenInvalid, "page_token", "is not a page token of this listing")
	}
	return c.Before, nil
}

// ListNotificationsRequest asks for a page of the caller's notifications.
type ListNotificationsRequest struct {
	PageSize   int
	PageToken  string
	UnreadOnly bool
}

// ListNotifications returns a page of the caller's notifications, newest
// first, and the token of the next page ("" on the last). Errors:
// UNAUTHENTICATED without a user; INVALID_ARGUMENT PAGE_SIZE_INVALID or
// PAGE_TOKEN_INVALID.
func (s *Service) ListNotifications(ctx context.Context, caller *auth.Principal, r ListNotificationsRequest) ([]Notification, string, error) {
	user, err := userOf(caller)
	if err != nil {
		return nil, "", err
	}
	size, err := pageSize(r.PageSize)
	if err != nil {
		return nil, "", err
	}
	listing := "notifications|" + user + "|unread=" + strconv.FormatBool(r.UnreadOnly)
	before, err := decodePage(r.PageToken, listing)
	if err != nil {
		return nil, "", err
	}
	ns, err := s.store.ListNotifications(ctx, ListQuery{UserID: user, UnreadOnly: r.UnreadOnly, BeforeID: before, Limit: size + 1})
	if err != nil {
		return nil, "", storeError(err, "listing notifications")
	}
	next := ""
	if len(ns) > size {
		ns = ns[:size]
		next = pageTokens.Encode(listing, pageCursor{Before: ns[size-1].ID})
	}
	return ns, next, nil
}

// MarkRead marks the caller's unread notifications with an id in ids, or
// up to upTo when it is positive, read; it returns how many changed. Ids of
// other users' notifications match nothing. Errors: UNAUTHENTICATED;
// INVALID_ARGUMENT REQUEST_INVALID when neither is given.
func (s *Service) MarkRead(ctx context.Context, caller *auth.Principal, ids []int64, upTo int64) (int, error) {
	user, err := userOf(caller)
	if err != nil {
		return 0, err
	}
	if len(ids) == 0 && upTo <= 0 {
		return 0, invalidField(ReasonRequestInvalid, "ids", "ids or up_to_id is required")
	}
	n, err := s.store.MarkRead(ctx, user, ids, upTo, s.now())
	if err != nil {
		return 0, storeError(err, "marking notifications read")
	}
	return n, nil
}

// SetProductAlert sets the caller's alerts on productID and returns the
// alert as stored (nil when both flags are false: the alert is removed).
// The product is not checked with the catalog: an alert on an unknown
// product simply never fires.
func (s *Service) SetProductAlert(ctx context.Context, caller *auth.Principal, productID string, backInStock, priceDrop bool) (*ProductAlert, error) {
	user, err := userOf(caller)
	if err != nil {
		return nil, err
	}
	if productID == "" || len(productID) > 64 {
		return nil, invalidField(ReasonRequestInvalid, "product_id", "must be 1 to 64 characters")
	}
	a := ProductAlert{UserID: user, ProductID: productID, BackInStock: backInStock, PriceDrop: priceDrop, UpdateTime: s.now()}
	if err := s.store.SetProductAlert(ctx, a); err != nil {
		return nil, storeError(err, "setting a product alert")
	}
	if !backInStock && !priceDrop {
		return nil, nil //nolint:nilnil // removed: no alert, no error
	}
	return &a, nil
}

// ListProductAlerts returns the caller's product alerts (at most
// MaxProductAlerts) by product id.
func (s *Service) ListProductAlerts(ctx context.Context, caller *auth.Principal) ([]ProductAlert, error) {
	user, err := userOf(caller)
	if err != nil {
		return nil, err
	}
	as, err := s.store.ListProductAlerts(ctx, user, MaxProductAlerts)
	if err != nil {
		return nil, storeError(err, "listing product alerts")
	}
	return as, nil
}

// ListEmailsRequest asks for a page of e-mails.
type ListEmailsRequest struct {
	PageSize  int
	PageToken string
	// All lists every user's e-mails (admins only).
	All bool
}

// ListEmails returns a page of the rendered e-mails, newest first: the
// caller's, or everyone's for an admin with All. Errors: UNAUTHENTICATED;
// PERMISSION_DENIED LIST_ALL_DENIED; INVALID_ARGUMENT as ListNotifications.
func (s *Service) ListEmails(ctx context.Context, caller *auth.Principal, r ListEmailsRequest) ([]Email, string, error) {
	user, err := userOf(caller)
	if err != nil {
		return nil, "", err
	}
	if r.All {
		if !isAdmin(caller) {
			return nil, "", errs.New(errs.PermissionDenied, ReasonListAllDenied, "only admins list every user's e-mails")
		}
		user = ""
	}
	size, err := pageSize(r.PageSize)
	if err != nil {
		return nil, "", err
	}
	listing := "emails|" + user
	before, err := decodePage(r.PageToken, listing)
	if err != nil {
		return nil, "", err
	}
	ms, err := s.store.ListEmails(ctx, EmailQuery{UserID: user, BeforeID: before, Limit: size + 1})
	if err != nil {
		return nil, "", storeError(err, "listing e-mails")
	}
	next := ""
	if len(ms) > size {
		ms = ms[:size]
		next = pageTokens.Encode(listing, pageCursor{Before: ms[size-1].ID})
	}
	return ms, next, nil
}
