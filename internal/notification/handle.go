package notification

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

// HandleEvent writes the notifications (and rendered e-mails) of e in tx,
// the consumer's transaction: they commit with the consumer's inbox row and
// cursor. After tx commits, the consumer calls Committed(e.ID) so that live
// subscribers hear of them (see the package doc); if tx rolls back it need
// not do anything.
//
// An event already handled (by id) is skipped. Events of unknown topics, of
// topics that need no notification, and payloads that do not decode are
// ignored (and counted in Stats): a consumer must not stall on them. Errors
// are the store's, and the consumer should retry the event.
func (s *Service) HandleEvent(ctx context.Context, tx *sqldb.Tx, e Event) error {
	eff, err := s.handle(ctx, tx, e)
	if err != nil {
		return err
	}
	if eff.empty() {
		return nil
	}
	s.pending.put(e.ID, eff)
	return nil
}

// Committed tells the service that the transactions in which it handled
// these events committed: their notifications are published to live
// subscribers and their e-mails written to Config.MailDir. Unknown ids
// (ignored events, forgotten ones) are skipped.
func (s *Service) Committed(eventIDs ...string) {
	for _, id := range eventIDs {
		if eff, ok := s.pending.take(id); ok {
			s.afterCommit(eff)
		}
	}
}

// Apply handles e in a transaction of its own and publishes the result
// after the commit: HandleEvent and Committed together, for callers that
// have no transaction of their own (tests, tools).
func (s *Service) Apply(ctx context.Context, e Event) error {
	var eff effect
	err := s.store.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		var err error
		eff, err = s.handle(ctx, tx, e)
		return err
	})
	if err != nil {
		return err
	}
	s.afterCommit(eff)
	return nil
}

// effect is what handling an event created.
type effect struct {
	notifications []Notification
	emails        []Email
}

func (f effect) empty() bool { return len(f.notifications) == 0 && len(f.emails) == 0 }

func (s *Service) afterCommit(eff effect) {
	if len(eff.notifications) > 0 {
		s.hub.publish(eff.notifications)
	}
	for _, m := range eff.emails {
		if err := s.writeMailFile(m); err != nil {
			s.cfg.Logger.Warn("notification: writing e-mail file", "email_id", m.ID, "err", err)
		}
	}
}

// message is a notification to render and store.
type message struct {
	userID    string
	kind      Kind
	title     string
	body      string
	orderID   string
	productID string
}

func (s *Service) handle(ctx context.Context, tx *sqldb.Tx, e Event) (effect, error) {
	msgs, known, err := s.messages(ctx, tx, e)
	if err != nil {
		return effect{}, err
	}
	if !known {
		s.stats.unknown.Add(1)
		return effect{}, nil
	}
	now := s.now()
	first, err := s.store.MarkEventHandled(ctx, tx, e.ID, now)
	if err != nil {
		return effect{}, storeError(err, "recording event "+e.ID)
	}
	if !first {
		s.stats.duplicates.Add(1)
		return effect{}, nil
	}
	s.stats.handled.Add(1)
	var eff effect
	for _, m := range msgs {
		n := Notification{
			UserID: m.userID, Kind: m.kind, Title: m.title, Body: m.body, OrderID: m.orderID,
			ProductID: m.productID, EventID: e.ID, CreateTime: now,
		}
		if err := s.store.AddNotification(ctx, tx, &n); err != nil {
			return effect{}, storeError(err, "storing a notification")
		}
		eff.notifications = append(eff.notifications, n)
		em := Email{
			UserID: m.userID, To: m.userID + "@" + s.cfg.MailDomain, Subject: m.title,
			Body: renderEmail(m), EventID: e.ID, CreateTime: now,
		}
		if err := s.store.AddEmail(ctx, tx, &em); err != nil {
			return effect{}, storeError(err, "storing an e-mail")
		}
		eff.emails = append(eff.emails, em)
	}
	return eff, nil
}

// messages returns the notifications e deserves; known is false for an
// event the service does not understand (unknown topic, bad payload).
// Catalog events update the product's last seen state even when nobody is
// notified.
func (s *Service) messages(ctx context.Context, tx *sqldb.Tx, e Event) (msgs []message, known bool, err error) {
	switch e.Topic {
	case TopicOrderPlaced, TopicOrderCompleted, TopicOrderCancelled:
		var p orderPayload
		if decode(e.Payload, &p) != nil || p.CustomerID == "" || p.OrderID == "" {
			return nil, false, nil
		}
		return []message{orderMessage(e.Topic, p)}, true, nil
	case TopicPaymentRefunded:
		var p paymentPayload
		if decode(e.Payload, &p) != nil || p.CustomerID == "" {
			return nil, false, nil
		}
		amount := p.Refunded
		if p.Moved != nil {
			amount = *p.Moved
		}
		return []message{{
			userID: p.CustomerID, kind: KindPaymentRefunded, orderID: p.OrderID,
			title: fmt.Sprintf("Refund of %s for order %s", formatMoney(amount.money()), p.OrderID),
			body: fmt.Sprintf("We refunded %s to your card for order %s. It may take a few days to appear on your statement.",
				formatMoney(amount.money()), p.OrderID),
		}}, true, nil
	case TopicCatalogPriceChanged, TopicCatalogStockChanged:
		var p catalogPayload
		if decode(e.Payload, &p) != nil || p.ProductID == "" ||
			(e.Topic == TopicCatalogPriceChanged && p.Price == nil) || (e.Topic == TopicCatalogStockChanged && p.Stock == nil) {
			return nil, false, nil
		}
		msgs, err := s.catalogMessages(ctx, tx, p)
		return msgs, true, err
	case TopicOrderProgressed, TopicOrderCancelling, TopicPaymentAuthorized, TopicPaymentDeclined,
		TopicPaymentCaptured, TopicPaymentVoided, TopicCatalogStatusChanged:
		return nil, true, nil
	}
	return nil, false, nil
}

func orderMessage(topic string, p orderPayload) message {
	m := message{userID: p.CustomerID, orderID: p.OrderID}
	total := formatMoney(p.Total.money())
	switch topic {
	case TopicOrderPlaced:
		m.kind = KindOrderPlaced
		m.title = "Order " + p.OrderID + " placed"
		m.body = fmt.Sprintf("Thank you! We received your order %s of %s:\n%s", p.OrderID, total, itemLines(p))
	case TopicOrderCompleted:
		m.kind = KindOrderPaid
		m.title = "Order " + p.OrderID + " paid"
		m.body = fmt.Sprintf("Your payment of %s for order %s went through. We are preparing your items.", total, p.OrderID)
		// TODO(shipping): a "shipped" notification needs a shipping event,
		// which no service publishes yet.
	case TopicOrderCancelled:
		m.kind = KindOrderCancelled
		m.title = "Order " + p.OrderID + " cancelled"
		reason := p.Reason
		if reason == "" {
			reason = "no reason given"
		}
		m.body = fmt.Sprintf("Your order %s was cancelled: %s. Any amount charged is refunded.", p.OrderID, reason)
	}
	return m
}

func itemLines(p orderPayload) string {
	var b strings.Builder
	for _, it := range p.Items {
		fmt.Fprintf(&b, "  %d × %s (%s) at %s\n", it.Quantity, it.Title, it.SKU, formatMoney(it.UnitPrice.money()))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// catalogMessages compares a product change with the last seen state:
// available stock from 0 to more notifies the product's watchers, a lower
// price (same currency) its wishlisters. Changes older than the state's are
// ignored (events of one product arrive in order, but a replay may not),
// and so are drafts' (nobody may see the product yet). The first change seen
// of a product only records its state: there is nothing to compare with.
func (s *Service) catalogMessages(ctx context.Context, tx *sqldb.Tx, p catalogPayload) ([]message, error) {
	prev, ok, err := s.store.ProductState(ctx, tx, p.ProductID)
	if err != nil {
		return nil, storeError(err, "reading product state")
	}
	next := prev
	next.ProductID = p.ProductID
	var alert AlertKind
	var m message
	switch {
	case p.Price != nil:
		if prev.HasPrice && p.ChangeTime.Before(prev.PriceTime) {
			return nil, nil
		}
		price := p.Price.money()
		next.HasPrice, next.Price, next.PriceTime = true, price, p.ChangeTime.UTC()
		if ok && prev.HasPrice && prev.Price.Currency == price.Currency && price.less(prev.Price) {
			alert = AlertPriceDrop
			m = message{
				kind: KindPriceDrop, productID: p.ProductID,
				title: fmt.Sprintf("Price drop: %s now %s", p.SKU, formatMoney(price)),
				body: fmt.Sprintf("A product on your wishlist (%s) went down from %s to %s.",
					p.SKU, formatMoney(prev.Price), formatMoney(price)),
			}
		}
	case p.Stock != nil:
		if prev.HasStock && p.ChangeTime.Before(prev.StockTime) {
			return nil, nil
		}
		available := int64(p.Stock.Available)
		next.HasStock, next.Available, next.StockTime = true, available, p.ChangeTime.UTC()
		if ok && prev.HasStock && prev.Available <= 0 && available > 0 {
			alert = AlertBackInStock
			m = message{
				kind: KindBackInStock, productID: p.ProductID,
				title: p.SKU + " is back in stock",
				body:  fmt.Sprintf("A product you watch (%s) is back in stock: %d available.", p.SKU, available),
			}
		}
	}
	if err := s.store.PutProductState(ctx, tx, next); err != nil {
		return nil, storeError(err, "storing product state")
	}
	if alert == 0 || p.Draft {
		return nil, nil
	}
	users, err := s.store.AlertedUsers(ctx, tx, p.ProductID, alert)
	if err != nil {
		return nil, storeError(err, "reading product alerts")
	}
	msgs := make([]message, len(users))
	for i, u := range users {
		msgs[i] = m
		msgs[i].userID = u
	}
	return msgs, nil
}

// formatMoney renders an amount as "12.50 EUR" (whole cents; finer
// fractions are shown in full).
func formatMoney(m Money) string {
	sign := ""
	units, nanos := m.Units, int64(m.Nanos)
	if units < 0 || nanos < 0 {
		sign, units, nanos = "-", -units, -nanos
	}
	frac := fmt.Sprintf("%09d", nanos)
	frac = strings.TrimRight(frac, "0")
	for len(frac) < 2 {
		frac += "0"
	}
	return fmt.Sprintf("%s%d.%s %s", sign, units, frac, m.Currency)
}

func renderEmail(m message) string {
	return fmt.Sprintf("Hello,\n\n%s\n\n— Bazaar\n(You receive this because of your Bazaar account %s.)\n", m.body, m.userID)
}

func (s *Service) now() time.Time { return s.cfg.Clock().UTC().Truncate(time.Microsecond) }
