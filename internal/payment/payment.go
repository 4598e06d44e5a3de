package payment

import "time"

// Status is where a payment is in its life. The values are those of
// bazaar.payment.v1.PaymentStatus and are stored: never renumber them.
type Status int

// The statuses.
const (
	StatusUnspecified Status = iota
	// StatusPending: the processor's outcome is not known yet.
	StatusPending
	// StatusAuthorized: the amount is held on the card.
	StatusAuthorized
	// StatusDeclined: the processor refused the card (terminal).
	StatusDeclined
	// StatusCaptured: the money was taken.
	StatusCaptured
	// StatusPartiallyRefunded: some captured money was given back.
	StatusPartiallyRefunded
	// StatusRefunded: all captured money was given back (terminal).
	StatusRefunded
	// StatusVoided: the authorization was released (terminal).
	StatusVoided
)

var statusNames = [...]string{
	StatusUnspecified: "unspecified", StatusPending: "pending", StatusAuthorized: "authorized",
	StatusDeclined: "declined", StatusCaptured: "captured", StatusPartiallyRefunded: "partially_refunded",
	StatusRefunded: "refunded", StatusVoided: "voided",
}

// String returns the status's lower-case name ("authorized").
func (s Status) String() string {
	if s < 0 || int(s) >= len(statusNames) {
		return "unknown"
	}
	return statusNames[s]
}

// Valid reports whether s is a status a payment can have.
func (s Status) Valid() bool { return s >= StatusPending && s <= StatusVoided }

// Payment is one card payment of an order. Its amounts are in one
// currency; CapturedAmount <= Amount and RefundedAmount <= CapturedAmount
// always.
type Payment struct {
	ID         string `json:"id"`
	OrderID    string `json:"order_id"`
	CustomerID string `json:"customer_id"`
	// Amount is what was authorized (asked for, while pending).
	Amount Money `json:"amount"`
	// CapturedAmount is what was captured: zero before the capture.
	CapturedAmount Money `json:"captured_amount"`
	// RefundedAmount is the sum of the refunds.
	RefundedAmount Money  `json:"refunded_amount"`
	Status         Status `json:"status"`
	// CardBrand and CardLast4 identify the card; its full number is never
	// kept.
	CardBrand string `json:"card_brand"`
	CardLast4 string `json:"card_last4"`
	// ProcessorReference is the processor's id of the charge, once known.
	ProcessorReference string `json:"processor_reference"`
	// DeclineCode is the processor's reason for a decline.
	DeclineCode string    `json:"decline_code"`
	CreateTime  time.Time `json:"create_time"`
	UpdateTime  time.Time `json:"update_time"`
}

// Clone returns a copy of p.
func (p *Payment) Clone() *Payment {
	c := *p
	return &c
}

// ProcessorRef is the reference under which the payment's charge is known
// to the processor: the processor's idempotency key for the authorization,
// capture and void, derived from the payment so that a retry never charges
// twice.
func (p *Payment) ProcessorRef() string { return p.ID }

// refundRef is the processor's idempotency key of the refund made under the
// caller's key.
func refundRef(paymentID, key string) string { return paymentID + "/refund/" + key }
