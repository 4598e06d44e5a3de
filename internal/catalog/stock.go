package catalog

import "time"

// Stock is how many units of a SKU there are. Always: the units ever added
// = Available + Reserved + Sold, and Available >= 0.
type Stock struct {
	SKU       string `json:"sku"`
	Available int64  `json:"available"`
	Reserved  int64  `json:"reserved"`
	Sold      int64  `json:"sold"`
	// ProductID, Category and ProductStatus are the product's, for events
	// (read-only).
	ProductID     string `json:"-"`
	Category      string `json:"-"`
	ProductStatus Status `json:"-"`
}

// Adjustment is one applied AdjustStock, kept for idempotent replays.
type Adjustment struct {
	RequestID string
	SKU       string
	Delta     int64
	Reason    string
	Time      time.Time
	// After is the stock the adjustment left.
	After Stock
}

// ReservationState is where a reservation is in its life.
type ReservationState int

// The reservation states. ReservationUnspecified is never stored.
const (
	ReservationUnspecified ReservationState = iota
	// ReservationReserved holds units.
	ReservationReserved
	// ReservationCommitted sold them.
	ReservationCommitted
	// ReservationReleased returned them.
	ReservationReleased
	// ReservationExpired returned them because nobody committed in time.
	ReservationExpired
	// ReservationReturned was committed, then its units went back on sale.
	ReservationReturned
)

// String names the state in lower case ("reserved").
func (s ReservationState) String() string {
	switch s {
	case ReservationReserved:
		return "reserved"
	case ReservationCommitted:
		return "committed"
	case ReservationReleased:
		return "released"
	case ReservationExpired:
		return "expired"
	case ReservationReturned:
		return "returned"
	}
	return "unspecified"
}

// ReservationItem is units of one SKU.
type ReservationItem struct {
	SKU      string
	Quantity int64
}

// Reservation holds units for a checkout.
type Reservation struct {
	// ID is the caller's (the order's).
	ID string
	// Items, one per SKU, sorted by SKU.
	Items      []ReservationItem
	State      ReservationState
	CreateTime time.Time
	// ExpireTime is when an uncommitted reservation is released.
	ExpireTime time.Time
}
