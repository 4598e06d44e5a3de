package notification

import (
	"encoding/json"
	"time"
)

// Event is an event of another service as the consumer hands it over.
type Event struct {
	// Source is the producing service ("order", "payment", "catalog").
	Source string
	// ID is the event's stable id (a UUID).
	ID string
	// Topic says what happened ("order.placed.v1").
	Topic string
	// AggregateID is the entity the event is about.
	AggregateID string
	// Time is when the event happened.
	Time time.Time
	// Payload is the event's JSON payload.
	Payload []byte
}

// The topics the service turns into notifications (and the ones it knows
// and ignores on purpose). Payloads are decoded with this package's own
// copies of the producers' JSON contracts, so the notification service
// does not import other services' code.
const (
	TopicOrderPlaced     = "order.placed.v1"
	TopicOrderProgressed = "order.progressed.v1" // ignored: saga steps are not news for customers
	TopicOrderCompleted  = "order.completed.v1"
	TopicOrderCancelling = "order.cancelling.v1" // ignored: the cancelled event follows
	TopicOrderCancelled  = "order.cancelled.v1"

	TopicPaymentAuthorized = "payment.authorized.v1" // ignored
	TopicPaymentDeclined   = "payment.declined.v1"   // ignored: the order's cancellation says it
	TopicPaymentCaptured   = "payment.captured.v1"   // ignored: order.completed says "paid"
	TopicPaymentVoided     = "payment.voided.v1"     // ignored
	TopicPaymentRefunded   = "payment.refunded.v1"

	TopicCatalogPriceChanged  = "catalog.price.changed.v1"
	TopicCatalogStockChanged  = "catalog.stock.changed.v1"
	TopicCatalogStatusChanged = "catalog.status.changed.v1" // ignored
)

// Topics is every topic the service subscribes to.
var Topics = []string{
	TopicOrderPlaced, TopicOrderProgressed, TopicOrderCompleted, TopicOrderCancelling, TopicOrderCancelled,
	TopicPaymentAuthorized, TopicPaymentDeclined, TopicPaymentCaptured, TopicPaymentVoided, TopicPaymentRefunded,
	TopicCatalogPriceChanged, TopicCatalogStockChanged, TopicCatalogStatusChanged,
}

// orderPayload is order.EventPayload's JSON.
type orderPayload struct {
	OrderID    string    `json:"order_id"`
	CustomerID string    `json:"customer_id"`
	Sequence   jsonInt   `json:"sequence"`
	Status     string    `json:"status"`
	Reason     string    `json:"reason"`
	ReasonCode string    `json:"reason_code"`
	Time       time.Time `json:"time"`
	Items      []struct {
		ProductID string    `json:"product_id"`
		SKU       string    `json:"sku"`
		Title     string    `json:"title"`
		Quantity  jsonInt   `json:"quantity"`
		UnitPrice jsonMoney `json:"unit_price"`
	} `json:"items"`
	Total     jsonMoney `json:"total"`
	PaymentID string    `json:"payment_id"`
}

// paymentMoney is payment.Money's JSON: the amount in billionths.
type paymentMoney struct {
	Currency string  `json:"currency"`
	Nanos    jsonInt `json:"nanos"`
}

func (m paymentMoney) money() Money {
	return Money{Currency: m.Currency, Units: int64(m.Nanos / 1e9), Nanos: int32(m.Nanos % 1e9)} //nolint:gosec // |x % 1e9| < 1e9 fits
}

// jsonMoney is a Money of a payload (see jsonInt).
type jsonMoney struct {
	Currency string  `json:"currency"`
	Units    jsonInt `json:"units"`
	Nanos    jsonInt `json:"nanos"`
}

func (m jsonMoney) money() Money {
	return Money{Currency: m.Currency, Units: int64(m.Units), Nanos: int32(m.Nanos)} //nolint:gosec // nanos of a valid amount fit
}

// paymentPayload is payment.Change's JSON.
type paymentPayload struct {
	PaymentID  string        `json:"payment_id"`
	OrderID    string        `json:"order_id"`
	CustomerID string        `json:"customer_id"`
	Refunded   paymentMoney  `json:"refunded_amount"`
	Moved      *paymentMoney `json:"moved"`
}

// catalogPayload is catalog.Change's JSON (its Money has no tags: JSON
// field names match case-insensitively).
type catalogPayload struct {
	ProductID  string     `json:"product_id"`
	SKU        string     `json:"sku"`
	ChangeTime time.Time  `json:"change_time"`
	Price      *jsonMoney `json:"price"`
	Stock      *struct {
		Available jsonInt `json:"available"`
	} `json:"stock"`
	Draft bool `json:"draft"`
}

func decode(payload []byte, v any) error { return json.Unmarshal(payload, v) }
