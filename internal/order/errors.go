package order

import (
	"context"
	"errors"
	"fmt"

	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/pagetoken"
)

// The ErrorInfo reasons of the errors the Service returns. They are part of
// the API: clients switch on them.
const (
	// ReasonRequestInvalid (INVALID_ARGUMENT, field named): a value outside
	// what the API accepts.
	ReasonRequestInvalid = "REQUEST_INVALID"
	// ReasonIdempotencyKeyReused (INVALID_ARGUMENT, field
	// "idempotency_key"): the key placed an order for another request.
	ReasonIdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED"
	// ReasonCurrencyMismatch (INVALID_ARGUMENT, field "items"): the
	// products are priced in different currencies.
	ReasonCurrencyMismatch = "CURRENCY_MISMATCH"
	// ReasonPageTokenInvalid (INVALID_ARGUMENT, field "page_token").
	ReasonPageTokenInvalid = pagetoken.Reason

	// ReasonOrderNotFound (NOT_FOUND): no such order, or not the caller's.
	ReasonOrderNotFound = "ORDER_NOT_FOUND"
	// ReasonCartItemNotFound (NOT_FOUND): the product is not in the cart.
	ReasonCartItemNotFound = "CART_ITEM_NOT_FOUND"

	// ReasonProductUnavailable (FAILED_PRECONDITION, with a
	// PreconditionFailure of type "PRODUCT" per product): unknown or not
	// on sale.
	ReasonProductUnavailable = "PRODUCT_UNAVAILABLE"
	// ReasonCartFull (FAILED_PRECONDITION): the cart has 100 lines.
	ReasonCartFull = "CART_FULL"
	// ReasonCartEmpty (FAILED_PRECONDITION): checking out an empty cart.
	ReasonCartEmpty = "CART_EMPTY"

	// ReasonListAllDenied (PERMISSION_DENIED): only admins list every
	// customer's orders.
	ReasonListAllDenied = "LIST_ALL_DENIED"
	// ReasonCatalogUnavailable (UNAVAILABLE): the catalog could not be
	// read; retry.
	ReasonCatalogUnavailable = "CATALOG_UNAVAILABLE"
	// ReasonCheckoutInterrupted (UNAVAILABLE): the order was created but
	// this server stopped driving it; it will be finished by recovery.
	// Retry with the same idempotency key.
	ReasonCheckoutInterrupted = "CHECKOUT_INTERRUPTED"
)

// The cancel reason codes of orders cancelled by the saga itself or on
// request (a permanent remote failure's own reason is used otherwise, e.g.
// ReasonInsufficientStock, ReasonPaymentDeclined).
const (
	// CancelByCustomer: the customer cancelled the order.
	CancelByCustomer = "CANCELLED_BY_CUSTOMER"
	// CancelByAdmin: an admin cancelled the order.
	CancelByAdmin = "CANCELLED_BY_ADMIN"
	// CancelStepDeadline: a step kept failing for longer than the step
	// deadline.
	CancelStepDeadline = "STEP_DEADLINE_EXCEEDED"
)

// PreconditionProduct is the PreconditionFailure type of
// PRODUCT_UNAVAILABLE.
const PreconditionProduct = "PRODUCT"

// RoleAdmin is the role that sees and cancels every customer's orders.
const RoleAdmin = "admin"

func invalidField(reason, field, description string) *errs.Error {
	return errs.BadRequest(reason, errs.FieldViolation{Field: field, Description: description})
}

func errOrderNotFound(id string) *errs.Error {
	return errs.New(errs.NotFound, ReasonOrderNotFound, "order not found", errs.WithResource("order", id, ""))
}

func errUnauthenticated() *errs.Error {
	return errs.New(errs.Unauthenticated, "CREDENTIALS_REQUIRED", "this method needs an authenticated caller")
}

// storeError wraps an unexpected store failure as an internal error that
// says what was being done; the cause stays for the log. A cancelled or
// expired context stays what it is (CANCELED, DEADLINE_EXCEEDED).
func storeError(err error, doing string, args ...any) error {
	msg := fmt.Sprintf(doing, args...)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", msg, err)
	}
	return errs.Wrap(err, errs.Internal, "", msg)
}

// catalogError turns a failed product read into the caller's error.
func catalogError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if re, ok := asPermanent(err); ok {
		return errs.Wrap(err, errs.FailedPrecondition, re.Reason, re.Message)
	}
	return errs.Wrap(err, errs.Unavailable, ReasonCatalogUnavailable, "the catalog cannot be read right now; retry")
}
