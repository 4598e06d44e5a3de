package order

import (
	"context"
	"errors"
	"fmt"
)

// Inventory is what the order service needs of the catalog: product facts
// and stock reservations. internal/order/remote implements it over the
// catalog's gRPC API. Reservation methods are idempotent by reservation id.
//
// Errors: a *RemoteError says whether a failure is permanent (with a
// reason code) or transient; any other error counts as transient.
type Inventory interface {
	// Products returns the products with the given ids (at most 100) that
	// exist and are visible, in one call; ids not found are left out.
	Products(ctx context.Context, ids []string) ([]Product, error)
	// Reserve holds the items under reservationID, all or none. Short stock
	// is a permanent ReasonInsufficientStock failure.
	Reserve(ctx context.Context, reservationID string, items []StockItem) error
	// Commit sells the reserved units. A released or expired reservation is
	// a permanent ReasonReservationClosed failure.
	Commit(ctx context.Context, reservationID string) error
	// Release returns reserved units; releasing a released, expired or
	// unknown reservation succeeds. A committed one is a permanent
	// ReasonReservationClosed failure.
	Release(ctx context.Context, reservationID string) error
	// Return returns sold units of a committed reservation to available;
	// returning a returned one succeeds.
	Return(ctx context.Context, reservationID string) error
}

// Product is what the order service reads of a catalog product.
type Product struct {
	ID     string
	SKU    string
	Title  string
	Price  Money
	Active bool
}

// StockItem is units of one SKU to reserve.
type StockItem struct {
	SKU      string
	Quantity int64
}

// Payments is what the order service needs of the payment service. Every
// mutating method takes an idempotency key: the same key replays the first
// answer. internal/order/remote implements it over the payment gRPC API.
//
// Errors: a *RemoteError says whether a failure is permanent (with a
// reason code) or transient (an unknown outcome included: retry with the
// same key); any other error counts as transient.
type Payments interface {
	// Authorize holds the amount on the card and returns the payment id. A
	// decline is a permanent ReasonPaymentDeclined failure (its PaymentID
	// set when the payment service recorded one).
	Authorize(ctx context.Context, r AuthorizeRequest) (paymentID string, err error)
	// Capture takes the authorized amount.
	Capture(ctx context.Context, key, paymentID string, amount Money) error
	// Void releases an authorization; voiding a voided or declined payment
	// succeeds. A captured payment is a permanent ReasonPaymentCaptured
	// failure.
	Void(ctx context.Context, key, paymentID string) error
	// Refund gives back the captured amount.
	Refund(ctx context.Context, key, paymentID string, amount Money) error
}

// AuthorizeRequest is a payment authorization.
type AuthorizeRequest struct {
	Key        string
	OrderID    string
	CustomerID string
	Amount     Money
	CardNumber string
}

// The reason codes of permanent remote failures the saga acts on. Other
// codes are permanent failures too and cancel the order with that code.
const (
	// ReasonInsufficientStock: the catalog cannot reserve the items.
	ReasonInsufficientStock = "INSUFFICIENT_STOCK"
	// ReasonReservationClosed: the reservation was released or expired
	// (committing), or committed (releasing).
	ReasonReservationClosed = "RESERVATION_CLOSED"
	// ReasonReservationNotFound: the catalog knows no such reservation.
	ReasonReservationNotFound = "RESERVATION_NOT_FOUND"
	// ReasonPaymentDeclined: the card was declined.
	ReasonPaymentDeclined = "PAYMENT_DECLINED"
	// ReasonPaymentCaptured: a void of a captured payment (refund it).
	ReasonPaymentCaptured = "PAYMENT_CAPTURED"
	// ReasonPaymentNotCaptured: a refund of a payment that was not
	// captured (void it).
	ReasonPaymentNotCaptured = "PAYMENT_NOT_CAPTURED"
	// ReasonPaymentRefunded: a refund of a payment already refunded in
	// full (by another request).
	ReasonPaymentRefunded = "PAYMENT_REFUNDED"
	// ReasonCardInvalid: the card number is not valid.
	ReasonCardInvalid = "CARD_INVALID"
	// ReasonPaymentNotFound: the payment service knows no such payment.
	ReasonPaymentNotFound = "PAYMENT_NOT_FOUND"
	// ReasonPaymentRejected: the payment service refused the request for
	// good (an invalid card, a payment in the wrong state).
	ReasonPaymentRejected = "PAYMENT_REJECTED"
	// ReasonRemoteRejected: another permanent refusal of a remote service.
	ReasonRemoteRejected = "REMOTE_REJECTED"
)

// RemoteError is a failed call to another service, classified for the
// saga. Adapters return it; the saga retries transient ones and
// compensates permanent ones.
type RemoteError struct {
	// Permanent says that repeating the call cannot succeed.
	Permanent bool
	// Reason is a reason code (one of the Reason* constants, or the remote
	// service's own reason).
	Reason string
	// Message explains the failure to people.
	Message string
	// PaymentID is the payment a decline recorded, if any.
	PaymentID string
	// Err is the cause.
	Err error
}

// Error implements error.
func (e *RemoteError) Error() string {
	kind := "transient"
	if e.Permanent {
		kind = "permanent"
	}
	s := fmt.Sprintf("%s failure %s: %s", kind, e.Reason, e.Message)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *RemoteError) Unwrap() error { return e.Err }

// Transient returns a transient RemoteError wrapping err.
func Transient(reason string, err error) *RemoteError {
	msg := "temporarily unavailable"
	if err != nil {
		msg = err.Error()
	}
	return &RemoteError{Reason: reason, Message: msg, Err: err}
}

// Permanent returns a permanent RemoteError.
func Permanent(reason, message string, err error) *RemoteError {
	return &RemoteError{Permanent: true, Reason: reason, Message: message, Err: err}
}

// asPermanent returns err's RemoteError when it is permanent.
func asPermanent(err error) (*RemoteError, bool) {
	var re *RemoteError
	if errors.As(err, &re) && re.Permanent {
		return re, true
	}
	return nil, false
}
