package notification

import "time"

// Kind says what a notification is about. The values are those of the API
// enum bazaar.notification.v1.NotificationKind.
type Kind int

// The kinds of notification.
const (
	KindUnspecified Kind = iota
	KindOrderPlaced
	KindOrderPaid
	KindOrderCancelled
	KindPaymentRefunded
	KindBackInStock
	KindPriceDrop
	// TODO(shipping): KindOrderShipped, once a shipping event exists. No
	// service emits one yet, and inventing a topic here would make a
	// contract nobody produces.
)

// Notification is one message to a user.
type Notification struct {
	// UserID is the recipient (the principal's subject).
	UserID string
	// ID numbers the user's notifications from 1 without gaps, in commit
	// order: the resume cursor of subscriptions.
	ID        int64
	Kind      Kind
	Title     string
	Body      string
	OrderID   string
	ProductID string
	// EventID is the event that caused it.
	EventID    string
	CreateTime time.Time
	// ReadTime is zero while unread.
	ReadTime time.Time
}

// Email is a rendered message of the simulated e-mail channel.
type Email struct {
	// ID numbers the service's e-mails in creation order.
	ID         int64
	UserID     string
	To         string
	Subject    string
	Body       string
	EventID    string
	CreateTime time.Time
}

// ProductAlert is what a user wants to hear about a product.
type ProductAlert struct {
	UserID    string
	ProductID string
	// BackInStock: notify when available stock goes from 0 to more
	// (the product is watched).
	BackInStock bool
	// PriceDrop: notify when the price goes down (the product is
	// wishlisted).
	PriceDrop  bool
	UpdateTime time.Time
}

// AlertKind selects the users of an alert.
type AlertKind int

// The kinds of product alert.
const (
	AlertBackInStock AlertKind = iota + 1
	AlertPriceDrop
)

// ProductState is the last seen state of a catalog product, kept to detect
// a price drop or a return to stock. A field is known once an event set it.
type ProductState struct {
	ProductID string
	// HasPrice says Price is known.
	HasPrice  bool
	Price     Money
	PriceTime time.Time
	// HasStock says Available is known.
	HasStock  bool
	Available int64
	StockTime time.Time
}

// Money is an amount as google.type.Money: whole Units plus Nanos
// billionths, Nanos of the sign of Units.
type Money struct {
	Currency string `json:"currency"`
	Units    int64  `json:"units"`
	Nanos    int32  `json:"nanos"`
}

// less reports whether m < o; both of one currency.
func (m Money) less(o Money) bool {
	if m.Units != o.Units {
		return m.Units < o.Units
	}
	return m.Nanos < o.Nanos
}
