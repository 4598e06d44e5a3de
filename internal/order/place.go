package order

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// Limits of orders and carts, as the API contract states them.
const (
	maxLines    = 100
	maxQuantity = 1000
	maxKey      = 64
	maxID       = 64
	maxReason   = 200
)

// answerMargin is kept between the end of a wait and the call's deadline,
// so that the answer reaches the caller in time.
const answerMargin = 100 * time.Millisecond

// pollEvery is how often a waiter re-reads an order, for changes made by
// other processes (this process's changes wake it at once).
const pollEvery = 250 * time.Millisecond

// PlaceRequest is a checkout.
type PlaceRequest struct {
	// IdempotencyKey makes retries safe; it is scoped to the caller.
	IdempotencyKey string
	// CardNumber pays: 12 to 19 digits.
	CardNumber string
	// UseCart orders the caller's cart (and empties it); otherwise Items.
	UseCart bool
	// Items are 1 to 100 distinct products, 1 to 1000 of each.
	Items []CartLine
}

// PlaceOrder creates an order from r and runs its checkout saga, answering
// with the order once it is completed or cancelled, or after
// Config.PlaceOrderWait (never past ctx's deadline) as it then is. The
// same idempotency key with the same request answers with the same order,
// however many calls run at once; prices are read from the catalog, never
// from the cart.
//
// Errors: UNAUTHENTICATED without a caller; INVALID_ARGUMENT
// REQUEST_INVALID, CARD_INVALID (not Luhn-valid), IDEMPOTENCY_KEY_REUSED,
// CURRENCY_MISMATCH;
// FAILED_PRECONDITION CART_EMPTY, PRODUCT_UNAVAILABLE (a PRODUCT
// violation per product); UNAVAILABLE CATALOG_UNAVAILABLE. A declined card
// or short stock is not an error: the order comes back CANCELLED with its
// reason.
func (s *Service) PlaceOrder(ctx context.Context, caller *auth.Principal, r PlaceRequest) (*Order, error) {
	customer, err := customerOf(caller)
	if err != nil {
		return nil, err
	}
	if err := validatePlace(r); err != nil {
		return nil, err
	}
	fp := fingerprint(r)
	if prev, err := s.store.OrderByKey(ctx, customer, r.IdempotencyKey); err == nil {
		return s.replay(ctx, prev, fp)
	} else if !errors.Is(err, ErrNotFound) {
		return nil, storeError(err, "reading order by key")
	}
	lines := r.Items
	if r.UseCart {
		cart, err := s.store.Cart(ctx, customer)
		if err != nil {
			return nil, storeError(err, "reading cart")
		}
		if len(cart.Lines) == 0 {
			return nil, errs.New(errs.FailedPrecondition, ReasonCartEmpty, "the cart is empty")
		}
		lines = cart.Lines
	}
	items, total, err := s.priceItems(ctx, lines)
	if err != nil {
		return nil, err
	}
	now := s.now()
	o := &Order{
		ID: s.cfg.NewID(), CustomerID: customer, Items: items, Total: total, Status: StatusPending,
		Step: StepReserveStock, NextAttemptAt: now, StepStartTime: now, LeaseOwner: s.cfg.Owner,
		LeaseUntil: now.Add(s.cfg.LeaseTTL), CardNumber: r.CardNumber, IdempotencyKey: r.IdempotencyKey,
		Fingerprint: fp, Sequence: 1, CreateTime: now, UpdateTime: now,
	}
	t := &Transition{
		OrderID: o.ID, Sequence: 1, Status: StatusPending, Step: StepReserveStock, Reason: "order placed",
		Time: now, Order: o.publicCopy(),
	}
	err = s.store.CreateOrder(ctx, o, t, r.UseCart, transitionEvent(TopicPlaced, t))
	switch {
	case errors.Is(err, ErrDuplicate):
		prev, err := s.store.OrderByKey(ctx, customer, r.IdempotencyKey)
		if err != nil {
			return nil, storeError(err, "reading order by key")
		}
		return s.replay(ctx, prev, fp)
	case err != nil:
		return nil, storeError(err, "creating order")
	}
	s.cfg.OnEvents()
	if err := s.failpoint(ctx, "after-order-row"); err != nil {
		return nil, errs.Wrap(err, errs.Unavailable, ReasonCheckoutInterrupted,
			"the order was placed but its checkout was interrupted; retry with the same idempotency key")
	}
	// Follow the order before its driver starts: no change can then be
	// missed, and the wait needs no read of the row just written.
	sub := s.changes.subscribe(o.ID)
	defer sub.close()
	_, seen, _ := sub.state()
	s.goDrive(o.ID, o)
	return s.wait(ctx, o, sub, seen)
}

// replay answers a repeated PlaceOrder with the order its key placed.
func (s *Service) replay(ctx context.Context, prev *Order, fp []byte) (*Order, error) {
	if subtle.ConstantTimeCompare(prev.Fingerprint, fp) != 1 {
		return nil, invalidField(ReasonIdempotencyKeyReused, "idempotency_key", "was already used for a different order")
	}
	s.kick(prev)
	return s.await(ctx, prev)
}

// kick starts a driver for o if it is due and no driver holds its lease
// (one crashed, or one waits for a retry).
func (s *Service) kick(o *Order) {
	now := s.now()
	if !o.Status.Terminal() && !o.NextAttemptAt.After(now) && (o.LeaseOwner == "" || !o.LeaseUntil.After(now)) {
		s.goDrive(o.ID, nil)
	}
}

// await waits until the order is completed or cancelled, for at most
// PlaceOrderWait and never past ctx's deadline (less a margin), and
// returns it as it then is.
func (s *Service) await(ctx context.Context, o *Order) (*Order, error) {
	if o.Status.Terminal() {
		return o.publicCopy(), nil
	}
	sub := s.changes.subscribe(o.ID)
	defer sub.close()
	_, seen, _ := sub.state()
	cur, err := s.store.Order(ctx, o.ID)
	if err != nil {
		return nil, storeError(err, "reading order")
	}
	return s.wait(ctx, cur, sub, seen)
}

// wait is await once following: cur is the order as read (or written)
// after sub started following it, when sub had seen seen changes.
func (s *Service) wait(ctx context.Context, cur *Order, sub *subscription, seen uint64) (*Order, error) {
	budget := s.cfg.PlaceOrderWait
	if dl, ok := ctx.Deadline(); ok {
		budget = min(budget, time.Until(dl)-answerMargin)
	}
	timer := time.NewTimer(max(budget, 0))
	defer timer.Stop()
	poll := time.NewTicker(pollEvery)
	defer poll.Stop()
	var err error
	for {
		changed, gen, latest := sub.state()
		if gen != seen && latest != nil {
			cur, seen = latest, gen
		}
		if cur.Status.Terminal() || budget <= 0 {
			return cur.publicCopy(), nil
		}
		select {
		case <-changed:
		case <-poll.C:
			// Another process may be driving it, or nobody: read it.
			s.kick(cur)
			_, seen, _ = sub.state()
			if cur, err = s.store.Order(ctx, cur.ID); err != nil {
				return nil, storeError(err, "reading order")
			}
		case <-timer.C:
			budget = 0
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func validatePlace(r PlaceRequest) error {
	switch {
	case r.IdempotencyKey == "" || len(r.IdempotencyKey) > maxKey:
		return invalidField(ReasonRequestInvalid, "idempotency_key", "must be 1 to 64 characters")
	case len(r.CardNumber) < 12 || len(r.CardNumber) > 19 || strings.Trim(r.CardNumber, "0123456789") != "":
		return invalidField(ReasonRequestInvalid, "card_number", "must be 12 to 19 digits")
	case !luhn(r.CardNumber):
		return invalidField(ReasonCardInvalid, "card_number", "is not a valid card number")
	case r.UseCart && len(r.Items) > 0:
		return invalidField(ReasonRequestInvalid, "items", "must be empty when ordering the cart")
	case r.UseCart:
		return nil
	case len(r.Items) == 0 || len(r.Items) > maxLines:
		return invalidField(ReasonRequestInvalid, "items", "must be 1 to 100 items")
	}
	seen := make(map[string]bool, len(r.Items))
	for i, it := range r.Items {
		switch {
		case it.ProductID == "" || len(it.ProductID) > maxID:
			return invalidField(ReasonRequestInvalid, fmt.Sprintf("items[%d].product_id", i), "must be 1 to 64 characters")
		case it.Quantity < 1 || it.Quantity > maxQuantity:
			return invalidField(ReasonRequestInvalid, fmt.Sprintf("items[%d].quantity", i), "must be 1 to 1000")
		case seen[it.ProductID]:
			return invalidField(ReasonRequestInvalid, fmt.Sprintf("items[%d].product_id", i), "is listed twice")
		}
		seen[it.ProductID] = true
	}
	return nil
}

// fingerprint is a digest of what a PlaceOrder request asks for, which a
// retry with the same key must match. The items are sorted, so their order
// does not matter.
func fingerprint(r PlaceRequest) []byte {
	h := sha256.New()
	card := sha256.Sum256([]byte(r.CardNumber))
	h.Write(card[:])
	if r.UseCart {
		h.Write([]byte("cart\n"))
		return h.Sum(nil)
	}
	items := slices.Clone(r.Items)
	slices.SortFunc(items, func(a, b CartLine) int { return strings.Compare(a.ProductID, b.ProductID) })
	for _, it := range items {
		h.Write([]byte(it.ProductID + "\x00" + strconv.FormatInt(it.Quantity, 10) + "\n"))
	}
	return h.Sum(nil)
}

// priceItems reads the lines' products from the catalog in one call and
// returns the order items and their total. Every product must be on sale,
// and all in one currency.
func (s *Service) priceItems(ctx context.Context, lines []CartLine) ([]Item, Money, error) {
	byID, err := s.products(ctx, lineIDs(lines))
	if err != nil {
		return nil, Money{}, err
	}
	items := make([]Item, 0, len(lines))
	var opts []errs.Option
	var total Money
	for _, l := range lines {
		p, ok := byID[l.ProductID]
		if !ok || !p.Active {
			opts = append(opts, errs.WithPrecondition(PreconditionProduct, l.ProductID, "not on sale"))
			continue
		}
		line, err := p.Price.mul(l.Quantity)
		if err == nil {
			if total.Currency == "" {
				total = Money{Currency: p.Price.Currency}
			}
			total, err = total.add(line)
		}
		switch {
		case errors.Is(err, errCurrencyMismatch):
			return nil, Money{}, invalidField(ReasonCurrencyMismatch, "items", "the products are priced in different currencies")
		case err != nil:
			return nil, Money{}, invalidField(ReasonRequestInvalid, "items", "the total is too large")
		}
		items = append(items, Item{ProductID: p.ID, SKU: p.SKU, Title: p.Title, Quantity: l.Quantity, UnitPrice: p.Price})
	}
	if len(opts) > 0 {
		return nil, Money{}, errs.New(errs.FailedPrecondition, ReasonProductUnavailable,
			fmt.Sprintf("%d product(s) are not on sale", len(opts)), opts...)
	}
	return items, total, nil
}

// products reads products by id from the catalog, bounded by CallTimeout.
func (s *Service) products(ctx context.Context, ids []string) (map[string]Product, error) {
	if len(ids) == 0 {
		return map[string]Product{}, nil
	}
	cctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	ps, err := s.inv.Products(cctx, ids)
	if err != nil {
		return nil, catalogError(err)
	}
	byID := make(map[string]Product, len(ps))
	for _, p := range ps {
		if p.Price.valid() {
			byID[p.ID] = p
		}
	}
	return byID, nil
}

func lineIDs(lines []CartLine) []string {
	ids := make([]string, 0, len(lines))
	for _, l := range lines {
		ids = append(ids, l.ProductID)
	}
	return ids
}

// luhn reports whether the digits pass the Luhn check every card number
// passes, so that a mistyped number is refused before any order exists.
func luhn(digits string) bool {
	sum, double := 0, false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}
