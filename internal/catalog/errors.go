package catalog

import (
	"context"
	"errors"
	"fmt"

	"github.com/bazaarhq/bazaar/internal/platform/pagetoken"

	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// The ErrorInfo reasons of the errors the Service returns. They are part of
// the API: clients switch on them.
const (
	// ReasonProductInvalid (INVALID_ARGUMENT, field "product.<field>").
	ReasonProductInvalid = "PRODUCT_INVALID"
	// ReasonRequestIDInvalid (INVALID_ARGUMENT, field "request_id"): empty.
	ReasonRequestIDInvalid = "REQUEST_ID_INVALID"
	// ReasonIdempotencyKeyReused (INVALID_ARGUMENT, field "request_id", or
	// "reservation_id" for ReserveStock): the id was used before for a
	// different request.
	ReasonIdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED"
	// ReasonUpdateMaskInvalid (INVALID_ARGUMENT, field "update_mask"): an
	// unknown, immutable or output-only path, or none.
	ReasonUpdateMaskInvalid = "UPDATE_MASK_INVALID"
	// ReasonFilterInvalid (INVALID_ARGUMENT, field named): a list filter
	// that cannot match (a bad category, prices of different currencies).
	ReasonFilterInvalid = "FILTER_INVALID"
	// ReasonPageSizeInvalid (INVALID_ARGUMENT, field "page_size").
	ReasonPageSizeInvalid = "PAGE_SIZE_INVALID"
	// ReasonPageTokenInvalid (INVALID_ARGUMENT, field "page_token"): not a
	// token this service issued for the same filters (or query) and order.
	ReasonPageTokenInvalid = pagetoken.Reason
	// ReasonQueryInvalid (INVALID_ARGUMENT, field "query"): no words.
	ReasonQueryInvalid = "QUERY_INVALID"
	// ReasonStockRequestInvalid (INVALID_ARGUMENT, field named): a zero or
	// too large delta or quantity, a SKU listed twice, no items.
	ReasonStockRequestInvalid = "STOCK_REQUEST_INVALID"

	// ReasonSKUTaken (ALREADY_EXISTS): another product has the SKU.
	ReasonSKUTaken = "SKU_TAKEN"

	// ReasonProductNotFound (NOT_FOUND).
	ReasonProductNotFound = "PRODUCT_NOT_FOUND"
	// ReasonImageNotFound (NOT_FOUND).
	ReasonImageNotFound = "IMAGE_NOT_FOUND"
	// ReasonSKUNotFound (NOT_FOUND): no stock row for the SKU.
	ReasonSKUNotFound = "SKU_NOT_FOUND"
	// ReasonReservationNotFound (NOT_FOUND).
	ReasonReservationNotFound = "RESERVATION_NOT_FOUND"

	// ReasonEtagMismatch (ABORTED): the etag is not the current one; read
	// the product again, then retry.
	ReasonEtagMismatch = "ETAG_MISMATCH"

	// ReasonInsufficientStock (FAILED_PRECONDITION, with a
	// PreconditionFailure of type "STOCK" per short SKU).
	ReasonInsufficientStock = "INSUFFICIENT_STOCK"
	// ReasonReservationClosed (FAILED_PRECONDITION, PreconditionFailure of
	// type "RESERVATION"): committing a released or expired reservation, or
	// releasing a committed one.
	ReasonReservationClosed = "RESERVATION_CLOSED"
)

// PreconditionFailure types of the FAILED_PRECONDITION errors.
const (
	PreconditionStock       = "STOCK"
	PreconditionReservation = "RESERVATION"
)

func invalidField(reason, field, description string) *errs.Error {
	return errs.BadRequest(reason, errs.FieldViolation{Field: field, Description: description})
}

func errProductNotFound(id string) *errs.Error {
	return errs.New(errs.NotFound, ReasonProductNotFound, "product not found", errs.WithResource("product", id, ""))
}

func errSKUNotFound(sku string) *errs.Error {
	return errs.New(errs.NotFound, ReasonSKUNotFound, "no stock for SKU "+quote(sku), errs.WithResource("sku", sku, ""))
}

func errReservationNotFound(id string) *errs.Error {
	return errs.New(errs.NotFound, ReasonReservationNotFound, "reservation not found", errs.WithResource("reservation", id, ""))
}

func errIdempotencyKeyReused() *errs.Error {
	return invalidField(ReasonIdempotencyKeyReused, "request_id", "was already used for a different request")
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
