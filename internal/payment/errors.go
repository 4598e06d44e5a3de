package payment

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/pagetoken"
)

// The ErrorInfo reasons of the errors the Service returns. They are part of
// the API: clients switch on them.
const (
	// ReasonRequestInvalid (INVALID_ARGUMENT, field named): a missing or
	// malformed field (ids, amounts, currencies).
	ReasonRequestInvalid = "REQUEST_INVALID"
	// ReasonCardInvalid (INVALID_ARGUMENT, field "card_number"): not 12 to
	// 19 digits with a valid Luhn check digit.
	ReasonCardInvalid = "CARD_INVALID"
	// ReasonIdempotencyKeyReused (INVALID_ARGUMENT, field
	// "idempotency_key"): the key was used before, for this method, with a
	// different request.
	ReasonIdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED"
	// ReasonPageSizeInvalid (INVALID_ARGUMENT, field "page_size").
	ReasonPageSizeInvalid = "PAGE_SIZE_INVALID"
	// ReasonPageTokenInvalid (INVALID_ARGUMENT, field "page_token").
	ReasonPageTokenInvalid = pagetoken.Reason

	// ReasonPaymentNotFound (NOT_FOUND).
	ReasonPaymentNotFound = "PAYMENT_NOT_FOUND"

	// ReasonPaymentDeclined (FAILED_PRECONDITION): the processor refused the
	// card; metadata decline_code and payment_id.
	ReasonPaymentDeclined = "PAYMENT_DECLINED"
	// ReasonPaymentState (FAILED_PRECONDITION, PreconditionFailure of type
	// "PAYMENT_STATUS"): the payment's status does not allow the call (a
	// second capture, voiding a captured payment, refunding an uncaptured
	// one).
	ReasonPaymentState = "PAYMENT_STATE"
	// ReasonAmountExceedsAuthorized (FAILED_PRECONDITION, PreconditionFailure
	// of type "AMOUNT"): a capture above the authorized amount.
	ReasonAmountExceedsAuthorized = "AMOUNT_EXCEEDS_AUTHORIZED"
	// ReasonRefundExceedsCapture (FAILED_PRECONDITION, PreconditionFailure
	// of type "AMOUNT"): refunds would exceed what was captured.
	ReasonRefundExceedsCapture = "REFUND_EXCEEDS_CAPTURE"
	// ReasonCurrencyMismatch (FAILED_PRECONDITION, PreconditionFailure of
	// type "AMOUNT"): an amount not in the payment's currency.
	ReasonCurrencyMismatch = "CURRENCY_MISMATCH"

	// ReasonProcessorRejected (FAILED_PRECONDITION): the processor refused
	// the operation because its record of the charge forbids it (the two
	// disagree; Audit reports it).
	ReasonProcessorRejected = "PROCESSOR_REJECTED"

	// ReasonPaymentBusy (ABORTED, RetryInfo): another operation on the
	// payment is in flight; retry shortly.
	ReasonPaymentBusy = "PAYMENT_BUSY"

	// ReasonPaymentPending (UNAVAILABLE, RetryInfo, metadata payment_id):
	// the processor's outcome is not known yet; retry with the same key.
	ReasonPaymentPending = "PAYMENT_PENDING"
	// ReasonProcessorUnavailable (UNAVAILABLE, RetryInfo): the processor
	// kept failing; nothing was recorded for the key, so a retry with it
	// proceeds.
	ReasonProcessorUnavailable = "PROCESSOR_UNAVAILABLE"
	// ReasonRequestInProgress (UNAVAILABLE, RetryInfo): a call with the same
	// key is still in flight; retry with the key to get its answer.
	ReasonRequestInProgress = "REQUEST_IN_PROGRESS"
)

// PreconditionFailure types of the FAILED_PRECONDITION errors.
const (
	PreconditionStatus = "PAYMENT_STATUS"
	PreconditionAmount = "AMOUNT"
)

// The errors a Processor returns. Any other error is treated as an outcome
// not known (like ErrProcessorTimeout).
var (
	// ErrProcessorUnavailable: the processor did not process the request
	// (a transient failure); retrying it is safe.
	ErrProcessorUnavailable = errors.New("payment: processor unavailable")
	// ErrProcessorTimeout: the request may or may not have been processed;
	// only Lookup (or a retry under the same reference) tells.
	ErrProcessorTimeout = errors.New("payment: processor timed out")
	// ErrProcessorRejected: the processor refused the operation for the
	// charge's state at the processor (capturing a voided charge, refunding
	// more than captured).
	ErrProcessorRejected = errors.New("payment: processor rejected the operation")
)

// DeclineError is a Processor's refusal of a card.
type DeclineError struct {
	// Code is the processor's reason ("generic_decline").
	Code string
}

func (e *DeclineError) Error() string { return "payment: card declined: " + e.Code }

func invalidField(reason, field, description string) *errs.Error {
	return errs.BadRequest(reason, errs.FieldViolation{Field: field, Description: description})
}

func errPaymentNotFound(id string) *errs.Error {
	return errs.New(errs.NotFound, ReasonPaymentNotFound, "payment not found", errs.WithResource("payment", id, ""))
}

func errIdempotencyKeyReused() *errs.Error {
	return invalidField(ReasonIdempotencyKeyReused, "idempotency_key", "was already used for a different request")
}

func errPaymentState(p *Payment, doing string) *errs.Error {
	return errs.New(errs.FailedPrecondition, ReasonPaymentState,
		fmt.Sprintf("cannot %s a payment that is %s", doing, p.Status),
		errs.WithPrecondition(PreconditionStatus, "payment/"+p.ID, "payment is "+p.Status.String()))
}

func errAmount(reason, paymentID, description string) *errs.Error {
	return errs.New(errs.FailedPrecondition, reason, description,
		errs.WithPrecondition(PreconditionAmount, "payment/"+paymentID, description))
}

func errPaymentBusy(id string) *errs.Error {
	return errs.New(errs.Aborted, ReasonPaymentBusy, "another operation on the payment is in flight; retry shortly",
		errs.WithRetryAfter(200*time.Millisecond), errs.WithMetadata("payment_id", id))
}

func errPending(id string, retry time.Duration) *errs.Error {
	return errs.New(errs.Unavailable, ReasonPaymentPending,
		"the processor's answer is not known yet; retry with the same idempotency key",
		errs.WithRetryAfter(retry), errs.WithMetadata("payment_id", id))
}

func errProcessorUnavailable(retry time.Duration) *errs.Error {
	return errs.New(errs.Unavailable, ReasonProcessorUnavailable,
		"the card processor is unavailable; retry with the same idempotency key", errs.WithRetryAfter(retry))
}

func errInProgress(retry time.Duration) *errs.Error {
	return errs.New(errs.Unavailable, ReasonRequestInProgress,
		"a call with this idempotency key is still in flight; retry with the key", errs.WithRetryAfter(retry))
}

// storeError wraps an unexpected store failure as an internal error that
// says what was being done. A cancelled or expired context stays what it is.
func storeError(err error, doing string, args ...any) error {
	msg := fmt.Sprintf(doing, args...)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", msg, err)
	}
	return errs.Wrap(err, errs.Internal, "", msg)
}

// StoredError is a domain error as remembered for idempotent replays: the
// replay rebuilds the same error.
type StoredError struct {
	Kind     errs.Kind         `json:"kind"`
	Reason   string            `json:"reason"`
	Message  string            `json:"message"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// Err rebuilds the error.
func (e *StoredError) Err() *errs.Error {
	out := errs.New(e.Kind, e.Reason, e.Message)
	if len(e.Metadata) > 0 {
		out.Metadata = maps.Clone(e.Metadata)
	}
	return out
}

func declinedError(p *Payment) *StoredError {
	return &StoredError{
		Kind: errs.FailedPrecondition, Reason: ReasonPaymentDeclined, Message: "the card was declined: " + p.DeclineCode,
		Metadata: map[string]string{"decline_code": p.DeclineCode, "payment_id": p.ID},
	}
}

// ReasonOf returns the ErrorInfo reason of a Service error, or "".
func ReasonOf(err error) string {
	var e *errs.Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}
