package order

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// The errors a Store returns for conditions the Service handles. Other
// errors are failures of the database itself.
var (
	// ErrNotFound is returned when the row asked for does not exist.
	ErrNotFound = errors.New("order: not found")
	// ErrDuplicate is returned when a create collides with a unique key
	// (an order id, a customer's idempotency key).
	ErrDuplicate = errors.New("order: duplicate")
	// ErrNotLeasable is returned by AcquireLease when another driver holds
	// an unexpired lease on the order, or the order is completed or
	// cancelled.
	ErrNotLeasable = errors.New("order: not leasable")
)

// Store is the persistence the Service needs. Every method that changes an
// order appends its transition and the events it is given in the same
// transaction. Implementations must be safe for concurrent use;
// internal/order/store implements it on SQLite and Postgres and runs one
// contract test suite against both.
//
// A callback fn of a read-modify-write may be called more than once (a
// transaction retried after a transient conflict), so it must have no
// other effect; its error is returned unchanged and nothing is written.
type Store interface {
	// Cart returns the customer's cart: an empty one (no lines, zero
	// UpdateTime) when the customer has none.
	Cart(ctx context.Context, customerID string) (*Cart, error)
	// UpdateCart reads the customer's cart (empty if none), calls fn with
	// it and, if fn returns nil, writes it back (lines in the order of
	// c.Lines), in one transaction no other update of the cart
	// interleaves with. It returns the cart as written, or fn's error.
	UpdateCart(ctx context.Context, customerID string, fn func(c *Cart) error) (*Cart, error)

	// CreateOrder inserts o with its first transition t and events and,
	// when clearCart, deletes the customer's cart, in one transaction. It
	// returns ErrDuplicate if o.ID or (o.CustomerID, o.IdempotencyKey) is
	// taken, writing nothing.
	CreateOrder(ctx context.Context, o *Order, t *Transition, clearCart bool, events ...Event) error
	// Order returns the order with id, or ErrNotFound.
	Order(ctx context.Context, id string) (*Order, error)
	// OrderByKey returns the customer's order placed with the idempotency
	// key, or ErrNotFound.
	OrderByKey(ctx context.Context, customerID, key string) (*Order, error)
	// ListOrders returns a page of orders as q selects, newest first (ties
	// by id, descending).
	ListOrders(ctx context.Context, q Query) ([]*Order, error)
	// UpdateOrder reads the order with id, calls fn with it and, if fn
	// returns nil, writes it back (every field but ID, CustomerID, Items,
	// Total, IdempotencyKey, Fingerprint and CreateTime), inserts the
	// transitions fn returns and appends its events, in one transaction
	// that no other change of the order interleaves with. fn sets
	// o.Sequence to its last transition's sequence. It returns the order as
	// written, ErrNotFound, or fn's error.
	UpdateOrder(ctx context.Context, id string, fn func(o *Order) ([]Transition, []Event, error)) (*Order, error)
	// AcquireLease gives owner the lease of the order until the given
	// time, in one conditional update, if the order is pending or
	// cancelling and its lease is free, expired at now, or owner's. It
	// returns the order as updated, ErrNotFound, or ErrNotLeasable.
	AcquireLease(ctx context.Context, id, owner string, now, until time.Time) (*Order, error)
	// DueOrders returns the ids of up to limit pending or cancelling
	// orders whose next attempt is due at now and whose lease is free or
	// expired, the most overdue first.
	DueOrders(ctx context.Context, now time.Time, limit int) ([]string, error)
	// Transitions returns up to limit transitions of the order with
	// sequences above after, in order (none for an unknown order).
	Transitions(ctx context.Context, orderID string, after int64, limit int) ([]Transition, error)
}

// Query selects a page of ListOrders.
type Query struct {
	// CustomerID keeps that customer's orders; "" keeps everyone's.
	CustomerID string
	// Status keeps orders of this status; StatusUnspecified keeps all.
	Status Status
	// After, when set, starts the page after this position.
	After *Cursor
	// Limit is the most orders to return (positive).
	Limit int
}

// Cursor is the position of an order in a list: its create time and
// id.
type Cursor struct {
	CreateTime time.Time `json:"t"`
	ID         string    `json:"id"`
}

// snapshot is the stored form of a transition's order: its public fields.
type snapshot struct {
	ID              string    `json:"id"`
	CustomerID      string    `json:"customer_id"`
	Items           []Item    `json:"items"`
	Total           Money     `json:"total"`
	Status          Status    `json:"status"`
	Step            Step      `json:"step"`
	CancelCode      string    `json:"cancel_code,omitempty"`
	CancelReason    string    `json:"cancel_reason,omitempty"`
	CancelRequested bool      `json:"cancel_requested,omitempty"`
	PaymentID       string    `json:"payment_id,omitempty"`
	Sequence        int64     `json:"sequence"`
	CreateTime      time.Time `json:"create_time"`
	UpdateTime      time.Time `json:"update_time"`
}

// MarshalSnapshot encodes the public fields of o (never its card number
// or saga bookkeeping), for a Store to keep with a transition.
func MarshalSnapshot(o *Order) []byte {
	b, err := json.Marshal(snapshot{
		ID: o.ID, CustomerID: o.CustomerID, Items: o.Items, Total: o.Total, Status: o.Status, Step: o.Step,
		CancelCode: o.CancelCode, CancelReason: o.CancelReason, CancelRequested: o.CancelRequested,
		PaymentID: o.PaymentID, Sequence: o.Sequence, CreateTime: o.CreateTime, UpdateTime: o.UpdateTime,
	})
	if err != nil { // plain data always encodes
		panic("order: encoding snapshot: " + err.Error())
	}
	return b
}

// UnmarshalSnapshot decodes what MarshalSnapshot encoded.
func UnmarshalSnapshot(b []byte) (*Order, error) {
	var s snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	return &Order{
		ID: s.ID, CustomerID: s.CustomerID, Items: s.Items, Total: s.Total, Status: s.Status, Step: s.Step,
		CancelCode: s.CancelCode, CancelReason: s.CancelReason, CancelRequested: s.CancelRequested,
		PaymentID: s.PaymentID, Sequence: s.Sequence, CreateTime: s.CreateTime, UpdateTime: s.UpdateTime,
	}, nil
}
