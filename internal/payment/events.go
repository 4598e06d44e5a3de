package payment

import (
	"encoding/json"
	"time"
)

// Event is a fact the service publishes through its transactional outbox.
// The store appends it in the same transaction as the change it describes.
type Event struct {
	// Topic says what happened (one of the Topic* constants).
	Topic string
	// AggregateID is the payment the event is about.
	AggregateID string
	// Payload is the JSON encoding of a Change.
	Payload []byte
}

// The event topics; every payload is a Change. The ".v1" suffix versions
// the payload. A payment created PENDING by Authorize publishes nothing
// until the processor's outcome is recorded: PENDING is the call's
// in-flight state, and every way out of it publishes (authorized or
// declined), whether a retry or Reconcile records it.
const (
	TopicAuthorized = "payment.authorized.v1"
	TopicDeclined   = "payment.declined.v1"
	TopicCaptured   = "payment.captured.v1"
	TopicVoided     = "payment.voided.v1"
	TopicRefunded   = "payment.refunded.v1"
)

// Change is the payload of every payment event: the payment after the
// change and, for captures and refunds, the amount that moved.
type Change struct {
	PaymentID  string    `json:"payment_id"`
	OrderID    string    `json:"order_id"`
	CustomerID string    `json:"customer_id"`
	Status     string    `json:"status"`
	Amount     Money     `json:"amount"`
	Captured   Money     `json:"captured_amount"`
	Refunded   Money     `json:"refunded_amount"`
	Moved      *Money    `json:"moved,omitempty"`
	Decline    string    `json:"decline_code,omitempty"`
	ChangeTime time.Time `json:"change_time"`
}

// DecodeChange decodes an event payload.
func DecodeChange(payload []byte) (Change, error) {
	var c Change
	err := json.Unmarshal(payload, &c)
	return c, err
}

// newEvent describes p after a change; moved is the amount a capture or
// refund moved. A Change holds only strings, integers and a time, which
// always encode, so an error is a bug.
func newEvent(topic string, p *Payment, moved *Money) Event {
	b, err := json.Marshal(Change{
		PaymentID: p.ID, OrderID: p.OrderID, CustomerID: p.CustomerID, Status: p.Status.String(),
		Amount: p.Amount, Captured: p.CapturedAmount, Refunded: p.RefundedAmount, Moved: moved,
		Decline: p.DeclineCode, ChangeTime: p.UpdateTime,
	})
	if err != nil {
		panic("payment: encoding " + topic + " event: " + err.Error())
	}
	return Event{Topic: topic, AggregateID: p.ID, Payload: b}
}
