package order_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/bazaarhq/bazaar/internal/order"
)

// errUnavailable is the transient failure the fakes inject.
var errUnavailable = order.Transient("UNAVAILABLE", errors.New("injected: unavailable"))

// fakeInventory simulates the catalog honestly: products, per-SKU stock
// (available, reserved, sold) and reservations that are all-or-none and
// idempotent by id. fail, when set, is called before every operation and
// its error returned without effect.
type fakeInventory struct {
	mu           sync.Mutex
	products     map[string]order.Product
	stock        map[string]*stockLevel
	initial      map[string]int64
	reservations map[string]*fakeReservation
	calls        map[string]int // "op id" -> calls that took effect or replayed
	fail         func(op, id string) error
	// lose, when set, is asked after an operation took effect whether its
	// answer is lost (a timeout after the effect): its error is returned.
	lose func(op, id string) error
}

type stockLevel struct{ available, reserved, sold int64 }

type fakeReservation struct {
	items []order.StockItem
	state string // reserved, committed, released, returned
}

func newFakeInventory() *fakeInventory {
	return &fakeInventory{
		products: map[string]order.Product{}, stock: map[string]*stockLevel{}, initial: map[string]int64{},
		reservations: map[string]*fakeReservation{}, calls: map[string]int{},
	}
}

// addProduct adds an active product with units in stock.
func (f *fakeInventory) addProduct(id string, units int64, price order.Money) order.Product {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := order.Product{ID: id, SKU: "SKU-" + id, Title: "Product " + id, Price: price, Active: true}
	f.products[id] = p
	f.stock[p.SKU] = &stockLevel{available: units}
	f.initial[p.SKU] = units
	return p
}

func (f *fakeInventory) setFail(fn func(op, id string) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = fn
}

func (f *fakeInventory) setLose(fn func(op, id string) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lose = fn
}

func (f *fakeInventory) lost(op, id string, err error) error {
	if err != nil || f.lose == nil {
		return err
	}
	return f.lose(op, id)
}

func (f *fakeInventory) injected(op, id string) error {
	if f.fail == nil {
		return nil
	}
	return f.fail(op, id)
}

func (f *fakeInventory) Products(ctx context.Context, ids []string) ([]order.Product, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected("products", ""); err != nil {
		return nil, err
	}
	var out []order.Product
	for _, id := range ids {
		if p, ok := f.products[id]; ok {
			out = append(out, p)
		}
	}
	return out, ctx.Err()
}

func (f *fakeInventory) Reserve(_ context.Context, id string, items []order.StockItem) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lost("reserve", id, f.reserve(id, items))
}

func (f *fakeInventory) reserve(id string, items []order.StockItem) error {
	if err := f.injected("reserve", id); err != nil {
		return err
	}
	f.calls["reserve "+id]++
	if r, ok := f.reservations[id]; ok {
		if r.state == "released" {
			return order.Permanent(order.ReasonReservationClosed, "released", nil)
		}
		return nil
	}
	for _, it := range items {
		st, ok := f.stock[it.SKU]
		if !ok || st.available < it.Quantity {
			return order.Permanent(order.ReasonInsufficientStock, "not enough stock for "+it.SKU, nil)
		}
	}
	for _, it := range items {
		st := f.stock[it.SKU]
		st.available -= it.Quantity
		st.reserved += it.Quantity
	}
	f.reservations[id] = &fakeReservation{items: items, state: "reserved"}
	return nil
}

func (f *fakeInventory) Commit(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lost("commit", id, f.commit(id))
}

func (f *fakeInventory) commit(id string) error {
	if err := f.injected("commit", id); err != nil {
		return err
	}
	f.calls["commit "+id]++
	r, ok := f.reservations[id]
	switch {
	case !ok:
		return order.Permanent(order.ReasonReservationNotFound, "no reservation", nil)
	case r.state == "committed":
		return nil
	case r.state != "reserved":
		return order.Permanent(order.ReasonReservationClosed, "reservation "+r.state, nil)
	}
	for _, it := range r.items {
		st := f.stock[it.SKU]
		st.reserved -= it.Quantity
		st.sold += it.Quantity
	}
	r.state = "committed"
	return nil
}

func (f *fakeInventory) Release(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected("release", id); err != nil {
		return err
	}
	f.calls["release "+id]++
	r, ok := f.reservations[id]
	switch {
	case !ok || r.state == "released" || r.state == "returned":
		return nil
	case r.state == "committed":
		return order.Permanent(order.ReasonReservationClosed, "reservation committed", nil)
	}
	for _, it := range r.items {
		st := f.stock[it.SKU]
		st.reserved -= it.Quantity
		st.available += it.Quantity
	}
	r.state = "released"
	return nil
}

func (f *fakeInventory) Return(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected("return", id); err != nil {
		return err
	}
	f.calls["return "+id]++
	r, ok := f.reservations[id]
	switch {
	case !ok:
		return order.Permanent(order.ReasonReservationNotFound, "no reservation", nil)
	case r.state == "returned":
		return nil
	case r.state != "committed":
		return order.Permanent(order.ReasonReservationClosed, "reservation "+r.state, nil)
	}
	for _, it := range r.items {
		st := f.stock[it.SKU]
		st.sold -= it.Quantity
		st.available += it.Quantity
	}
	r.state = "returned"
	return nil
}

func (f *fakeInventory) reservationState(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.reservations[id]; ok {
		return r.state
	}
	return ""
}

func (f *fakeInventory) level(sku string) stockLevel {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.stock[sku]
}

func (f *fakeInventory) callCount(op, id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op+" "+id]
}

// checkStock fails t unless every SKU has initial = available + reserved
// + sold and available >= 0.
func (f *fakeInventory) checkStock(t testing.TB) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for sku, st := range f.stock {
		if st.available < 0 || st.available+st.reserved+st.sold != f.initial[sku] {
			t.Errorf("stock of %s = %+v, want available >= 0 and a total of %d", sku, *st, f.initial[sku])
		}
	}
}

// fakePayments simulates the payment service: payments by id, answers
// replayed by idempotency key, and the test cards' behaviour.
type fakePayments struct {
	mu       sync.Mutex
	payments map[string]*fakePayment
	answers  map[string]fakeAnswer // idempotency key -> first answer
	attempts map[string]int        // key -> attempts (for the flaky card)
	captures map[string]int        // payment id -> captures that took effect
	fail     func(op, key string) error
	lose     func(op, key string) error // as fakeInventory.lose
	next     int
}

type fakePayment struct {
	orderID  string
	amount   order.Money
	status   string // AUTHORIZED, DECLINED, CAPTURED, REFUNDED, VOIDED
	captured bool
}

type fakeAnswer struct {
	paymentID string
	err       error
}

// The test cards.
const (
	cardOK         = "4242424242424242"
	cardDeclined   = "4000000000000002"
	cardNoFunds    = "4000000000009995"
	cardTimeout    = "4000000000000259"
	cardFlakyTwice = "4000000000000341"
)

func newFakePayments() *fakePayments {
	return &fakePayments{
		payments: map[string]*fakePayment{}, answers: map[string]fakeAnswer{}, attempts: map[string]int{},
		captures: map[string]int{},
	}
}

func (f *fakePayments) setFail(fn func(op, key string) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = fn
}

func (f *fakePayments) injected(op, key string) error {
	if f.fail == nil {
		return nil
	}
	return f.fail(op, key)
}

func (f *fakePayments) Authorize(_ context.Context, r order.AuthorizeRequest) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected("authorize", r.Key); err != nil {
		return "", err
	}
	if a, ok := f.answers[r.Key]; ok {
		return a.paymentID, a.err
	}
	f.attempts[r.Key]++
	if r.CardNumber == cardFlakyTwice && f.attempts[r.Key] <= 2 {
		return "", order.Transient("PROCESSOR_UNAVAILABLE", errors.New("processor unavailable"))
	}
	f.next++
	id := fmt.Sprintf("pay-%d", f.next)
	p := &fakePayment{orderID: r.OrderID, amount: r.Amount, status: "AUTHORIZED"}
	f.payments[id] = p
	switch r.CardNumber {
	case cardDeclined, cardNoFunds:
		p.status = "DECLINED"
		a := fakeAnswer{err: &order.RemoteError{Permanent: true, Reason: order.ReasonPaymentDeclined, Message: "declined", PaymentID: id}}
		f.answers[r.Key] = a
		return "", a.err
	case cardTimeout:
		// Authorized at the processor, but the answer is lost: a retry
		// with the key learns the truth.
		f.answers[r.Key] = fakeAnswer{paymentID: id}
		return "", order.Transient("PAYMENT_PENDING", errors.New("payment pending"))
	}
	f.answers[r.Key] = fakeAnswer{paymentID: id}
	return id, nil
}

func (f *fakePayments) setLose(fn func(op, key string) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lose = fn
}

func (f *fakePayments) Capture(_ context.Context, key, paymentID string, amount order.Money) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	err := f.capture(key, paymentID, amount)
	if err == nil && f.lose != nil {
		return f.lose("capture", key)
	}
	return err
}

func (f *fakePayments) capture(key, paymentID string, amount order.Money) error {
	if err := f.injected("capture", key); err != nil {
		return err
	}
	if a, ok := f.answers[key]; ok {
		return a.err
	}
	p, ok := f.payments[paymentID]
	var err error
	switch {
	case !ok:
		err = order.Permanent(order.ReasonPaymentNotFound, "no payment", nil)
	case p.status != "AUTHORIZED":
		err = order.Permanent(order.ReasonPaymentRejected, "payment "+p.status, nil)
	case amount != p.amount:
		err = order.Permanent(order.ReasonPaymentRejected, "amount differs", nil)
	default:
		p.status, p.captured = "CAPTURED", true
		f.captures[paymentID]++
	}
	f.answers[key] = fakeAnswer{err: err}
	return err
}

func (f *fakePayments) Void(_ context.Context, key, paymentID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected("void", key); err != nil {
		return err
	}
	if a, ok := f.answers[key]; ok {
		return a.err
	}
	p, ok := f.payments[paymentID]
	var err error
	switch {
	case !ok:
		err = order.Permanent(order.ReasonPaymentNotFound, "no payment", nil)
	case p.status == "AUTHORIZED":
		p.status = "VOIDED"
	case p.status == "CAPTURED" || p.status == "REFUNDED":
		err = order.Permanent(order.ReasonPaymentCaptured, "payment captured", nil)
	}
	f.answers[key] = fakeAnswer{err: err}
	return err
}

func (f *fakePayments) Refund(_ context.Context, key, paymentID string, amount order.Money) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.injected("refund", key); err != nil {
		return err
	}
	if a, ok := f.answers[key]; ok {
		return a.err
	}
	p, ok := f.payments[paymentID]
	var err error
	switch {
	case !ok:
		err = order.Permanent(order.ReasonPaymentNotFound, "no payment", nil)
	case p.status != "CAPTURED":
		err = order.Permanent(order.ReasonPaymentNotCaptured, "payment "+p.status, nil)
	case amount != p.amount:
		err = order.Permanent(order.ReasonPaymentRejected, "amount differs", nil)
	default:
		p.status = "REFUNDED"
	}
	f.answers[key] = fakeAnswer{err: err}
	return err
}

// paymentsOf returns the statuses of the order's payments.
func (f *fakePayments) paymentsOf(orderID string) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for id, p := range f.payments {
		if p.orderID == orderID {
			out[id] = p.status
		}
	}
	return out
}

func (f *fakePayments) captureCount(paymentID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.captures[paymentID]
}
