package notification_test

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bazaarhq/bazaar/internal/catalog"
	"github.com/bazaarhq/bazaar/internal/notification"
	"github.com/bazaarhq/bazaar/internal/notification/store"
	"github.com/bazaarhq/bazaar/internal/order"
	"github.com/bazaarhq/bazaar/internal/payment"
	"github.com/bazaarhq/bazaar/internal/platform/auth"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "notification.db"))
	if err != nil {
		t.Fatalf("store.Open() = %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func newService(t testing.TB, st notification.Store, cfg notification.Config) *notification.Service {
	t.Helper()
	if cfg.Clock == nil {
		cfg.Clock = func() time.Time { return t0 }
	}
	svc, err := notification.New(st, cfg)
	if err != nil {
		t.Fatalf("notification.New() = %v", err)
	}
	return svc
}

func user(id string) *auth.Principal { return &auth.Principal{Kind: auth.User, Subject: id} }

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The events below are encoded with the producers' own payload types, so
// the tests also prove that this package reads what they write.

func orderEvent(t testing.TB, topic, orderID, customer, reason string) notification.Event {
	t.Helper()
	p := order.EventPayload{
		OrderID: orderID, CustomerID: customer, Sequence: 1, Status: "PENDING", Reason: reason, Time: t0,
		Items: []order.Item{{ProductID: "p-1", SKU: "KNIFE-1", Title: "Chef's knife", Quantity: 2,
			UnitPrice: order.Money{Currency: "EUR", Units: 12, Nanos: 500_000_000}}},
		Total: order.Money{Currency: "EUR", Units: 25},
	}
	return notification.Event{Source: "order", ID: uuid.NewString(), Topic: topic, AggregateID: orderID, Time: t0, Payload: mustJSON(t, p)}
}

func refundEvent(t testing.TB, orderID, customer string, nanos int64) notification.Event {
	t.Helper()
	moved := payment.Money{Currency: "EUR", Nanos: nanos}
	c := payment.Change{PaymentID: "pay-1", OrderID: orderID, CustomerID: customer, Status: "REFUNDED",
		Amount: payment.Money{Currency: "EUR", Nanos: 25e9}, Refunded: moved, Moved: &moved, ChangeTime: t0}
	return notification.Event{Source: "payment", ID: uuid.NewString(), Topic: payment.TopicRefunded, AggregateID: "pay-1", Time: t0, Payload: mustJSON(t, c)}
}

func priceEvent(t testing.TB, productID string, units int64, at time.Time) notification.Event {
	t.Helper()
	c := catalog.Change{ProductID: productID, SKU: "SKU-" + productID, Category: "kitchen", ChangeTime: at,
		Price: &catalog.Money{Currency: "EUR", Units: units}}
	return notification.Event{Source: "catalog", ID: uuid.NewString(), Topic: catalog.TopicPriceChanged, AggregateID: productID, Time: at, Payload: mustJSON(t, c)}
}

func stockEvent(t testing.TB, productID string, available int64, at time.Time, draft bool) notification.Event {
	t.Helper()
	c := catalog.Change{ProductID: productID, SKU: "SKU-" + productID, Category: "kitchen", ChangeTime: at,
		Stock: &catalog.Stock{SKU: "SKU-" + productID, Available: available}, Draft: draft}
	return notification.Event{Source: "catalog", ID: uuid.NewString(), Topic: catalog.TopicStockChanged, AggregateID: productID, Time: at, Payload: mustJSON(t, c)}
}

func apply(t testing.TB, svc *notification.Service, es ...notification.Event) {
	t.Helper()
	for _, e := range es {
		if err := svc.Apply(t.Context(), e); err != nil {
			t.Fatalf("Apply(%s) = %v", e.Topic, err)
		}
	}
}

func list(t testing.TB, svc *notification.Service, userID string) []notification.Notification {
	t.Helper()
	ns, _, err := svc.ListNotifications(t.Context(), user(userID), notification.ListNotificationsRequest{PageSize: 200})
	if err != nil {
		t.Fatalf("ListNotifications(%s) = %v", userID, err)
	}
	return ns
}
