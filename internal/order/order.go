package order

import (
	"time"
)

// Status is where an order is in its life. The allowed transitions are
// Pending -> Completed, Pending -> Cancelling -> Cancelled and
// Completed -> Cancelling -> Cancelled. The values are those of
// bazaar.order.v1.OrderStatus.
type Status int

// The statuses.
const (
	StatusUnspecified Status = iota
	StatusPending
	StatusCompleted
	StatusCancelling
	StatusCancelled
)

var statusNames = [...]string{"unspecified", "pending", "completed", "cancelling", "cancelled"}

// String returns the status's lower-case name ("pending").
func (s Status) String() string {
	if s < 0 || int(s) >= len(statusNames) {
		return "unknown"
	}
	return statusNames[s]
}

// Terminal reports whether an order of status s has no saga running:
// completed or cancelled.
func (s Status) Terminal() bool { return s == StatusCompleted || s == StatusCancelled }

// ParseStatus returns the Status named by String, or StatusUnspecified.
func ParseStatus(name string) Status {
	for i, n := range statusNames {
		if n == name {
			return Status(i)
		}
	}
	return StatusUnspecified
}

// Step is the saga step an order is at: the next one to run, or StepDone.
// The values are those of bazaar.order.v1.SagaStep.
type Step int

// The steps.
const (
	StepUnspecified Step = iota
	StepReserveStock
	StepAuthorizePayment
	StepCommitReservation
	StepCapturePayment
	StepVoidPayment
	StepRefundPayment
	StepReleaseReservation
	StepReturnReservation
	StepDone
)

var stepNames = [...]string{
	"unspecified", "reserve", "authorize", "commit", "capture", "void", "refund", "release", "return", "done",
}

// String returns the step's short name ("reserve"), as used in failpoint
// names ("after-reserve").
func (s Step) String() string {
	if s < 0 || int(s) >= len(stepNames) {
		return "unknown"
	}
	return stepNames[s]
}

// ParseStep returns the Step named by String, or StepUnspecified.
func ParseStep(name string) Step {
	for i, n := range stepNames {
		if n == name {
			return Step(i)
		}
	}
	return StepUnspecified
}

// compensating reports whether s undoes work.
func (s Step) compensating() bool { return s >= StepVoidPayment && s <= StepReturnReservation }

// Item is one product of an order, with its checkout price.
type Item struct {
	ProductID string `json:"product_id"`
	SKU       string `json:"sku"`
	Title     string `json:"title"`
	Quantity  int64  `json:"quantity"`
	UnitPrice Money  `json:"unit_price"`
}

// Order is a checkout and the state of its saga.
type Order struct {
	ID         string
	CustomerID string
	Items      []Item
	Total      Money
	Status     Status
	Step       Step

	// CancelCode and CancelReason say why the order was cancelled (a
	// reason code such as ReasonPaymentDeclined, and a message for people).
	CancelCode   string
	CancelReason string
	// CancelRequested records a cancellation asked for while the order was
	// pending, honoured at the next step boundary.
	CancelRequested bool

	// PaymentID is the payment service's payment, once known.
	PaymentID string

	// What the saga may have done, which the compensation undoes: each is
	// set when the step succeeded, or when the saga gave up on it with its
	// outcome unknown, and cleared when undone.
	Reserved, Authorized, Committed, Captured bool
	// TriedReturn records that a RETURN_RESERVATION was tried, so that a
	// release answered "committed" and a return answered "not committed"
	// cannot send the compensation back and forth.
	TriedReturn bool

	// Attempts of the current step that failed transiently; NextAttemptAt
	// is when to try it again; StepStartTime is when the step became
	// current (its deadline counts from there).
	Attempts      int
	NextAttemptAt time.Time
	StepStartTime time.Time
	LastError     string

	// LeaseOwner and LeaseUntil say which driver may work on the order.
	LeaseOwner string
	LeaseUntil time.Time

	// CardNumber pays for the order; it is erased once the authorization's
	// outcome is known for good.
	CardNumber string

	// IdempotencyKey and Fingerprint identify the PlaceOrder request.
	IdempotencyKey string
	Fingerprint    []byte

	// Sequence is the number of the order's last transition.
	Sequence   int64
	CreateTime time.Time
	UpdateTime time.Time
}

// ReservationID is the id of the order's stock reservation: the order id.
func (o *Order) ReservationID() string { return o.ID }

// Transition is a recorded change of an order's status or step, with the
// order as it left it. Sequences count from 1 per order, without gaps.
type Transition struct {
	OrderID  string
	Sequence int64
	Status   Status
	Step     Step
	Reason   string
	Time     time.Time
	// Order is the order as the transition left it (without its secrets).
	Order *Order
}

// publicCopy returns a copy of o without the card number, for snapshots,
// events and answers.
func (o *Order) publicCopy() *Order {
	c := *o
	c.CardNumber = ""
	c.Items = append([]Item(nil), o.Items...)
	return &c
}

// Cart is a customer's basket: product ids and quantities. Prices are the
// catalog's and are read when the cart is shown.
type Cart struct {
	CustomerID string
	Lines      []CartLine
	UpdateTime time.Time
}

// CartLine is a product in a cart.
type CartLine struct {
	ProductID string
	Quantity  int64
}

// PricedCart is a cart with the current prices of its products.
type PricedCart struct {
	CustomerID string
	Lines      []PricedLine
	// Subtotal is the sum of the available lines; zero (without currency)
	// for a cart with none.
	Subtotal   Money
	UpdateTime time.Time
}

// PricedLine is a cart line with its product as the catalog has it now.
type PricedLine struct {
	ProductID string
	Quantity  int64
	// Available says the product exists and is on sale; SKU, Title and
	// UnitPrice are set only then.
	Available bool
	SKU       string
	Title     string
	UnitPrice Money
}
