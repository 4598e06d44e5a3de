package order

import (
	"encoding/json"
	"time"
)

// Event is a fact the service publishes through its transactional outbox,
// appended in the same transaction as the change it describes.
type Event struct {
	// Topic says what happened (one of the Topic* constants).
	Topic string
	// AggregateID is the order.
	AggregateID string
	// Payload is the JSON encoding of an EventPayload.
	Payload []byte
}

// The event topics; every payload is an EventPayload. Each transition of an
// order publishes exactly one of them.
const (
	// TopicPlaced: an order was created (PENDING).
	TopicPlaced = "order.placed.v1"
	// TopicProgressed: a pending or cancelling order moved to its next step.
	TopicProgressed = "order.progressed.v1"
	// TopicCompleted: the order is paid and its stock sold.
	TopicCompleted = "order.completed.v1"
	// TopicCancelling: the order's compensation started (Reason says why).
	TopicCancelling = "order.cancelling.v1"
	// TopicCancelled: the order was compensated (Reason says why).
	TopicCancelled = "order.cancelled.v1"
)

// EventPayload is the payload of every order event: a transition and the
// order it left. It is JSON, as every Bazaar event payload.
type EventPayload struct {
	OrderID    string    `json:"order_id"`
	CustomerID string    `json:"customer_id"`
	Sequence   int64     `json:"sequence"`
	Status     string    `json:"status"`
	Step       string    `json:"step"`
	Reason     string    `json:"reason,omitempty"`
	ReasonCode string    `json:"reason_code,omitempty"`
	Time       time.Time `json:"time"`
	Items      []Item    `json:"items"`
	Total      Money     `json:"total"`
	PaymentID  string    `json:"payment_id,omitempty"`
}

// DecodeEvent decodes an event payload.
func DecodeEvent(payload []byte) (EventPayload, error) {
	var e EventPayload
	err := json.Unmarshal(payload, &e)
	return e, err
}

// transitionEvent returns the event of the transition t of o (o as t left
// it).
func transitionEvent(topic string, t *Transition) Event {
	o := t.Order
	e := EventPayload{
		OrderID: o.ID, CustomerID: o.CustomerID, Sequence: t.Sequence, Status: t.Status.String(),
		Step: t.Step.String(), Reason: t.Reason, Time: t.Time, Items: o.Items, Total: o.Total,
		PaymentID: o.PaymentID,
	}
	if t.Status == StatusCancelling || t.Status == StatusCancelled {
		e.ReasonCode = o.CancelCode
	}
	b, err := json.Marshal(e)
	if err != nil { // strings, integers and a time always encode
		panic("order: encoding " + topic + " event: " + err.Error())
	}
	return Event{Topic: topic, AggregateID: o.ID, Payload: b}
}
