package main

import (
	"testing"
	"time"

	"github.com/google/uuid"

	notificationv1 "github.com/bazaarhq/bazaar/gen/bazaar/notification/v1"
	orderv1 "github.com/bazaarhq/bazaar/gen/bazaar/order/v1"
)

// TestUpNotifications: with `bazaar up`, a customer's live
// SubscribeNotifications stream shows "order placed" then "order paid" for
// an order placed elsewhere (the order service's events, carried over
// gRPC to the notification service's consumer); a declined order shows its
// cancellation with the reason; a resubscription from the last id seen
// repeats nothing.
func TestUpNotifications(t *testing.T) {
	t.Parallel()
	const adminPassword = "admin password 4 tests"
	addrs, stop := startUp(t, "--admin-password", adminPassword)
	s := openShop(t, addrs, adminPassword)
	book := s.stockedProduct(t, "BOOK-1", 15, 10)
	erin := bearer(t.Context(), signUp(t, s.id, "erin@example.com"))
	notes := notificationv1.NewNotificationServiceClient(dial(t, addrs["notification"]))

	sub, err := notes.SubscribeNotifications(erin, &notificationv1.SubscribeNotificationsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sub.Header(); err != nil {
		t.Fatal(err)
	}
	next := func() *notificationv1.Notification {
		t.Helper()
		for {
			msg, err := sub.Recv()
			if err != nil {
				t.Fatalf("SubscribeNotifications().Recv() = %v", err)
			}
			if n := msg.GetNotification(); n != nil {
				return n
			}
		}
	}
	start := time.Now()
	placed, err := s.orders.PlaceOrder(erin, &orderv1.PlaceOrderRequest{
		IdempotencyKey: uuid.NewString(), CardNumber: "4242424242424242", Source: itemsOf(book, 1),
	})
	if err != nil {
		t.Fatal(err)
	}
	id := placed.GetOrder().GetId()
	for _, want := range []notificationv1.NotificationKind{
		notificationv1.NotificationKind_NOTIFICATION_KIND_ORDER_PLACED,
		notificationv1.NotificationKind_NOTIFICATION_KIND_ORDER_PAID,
	} {
		if n := next(); n.GetKind() != want || n.GetOrderId() != id {
			t.Fatalf("notification = %v, want %v of order %s", n, want, id)
		}
	}
	t.Logf("order placed and paid notifications %v after PlaceOrder was called", time.Since(start))

	if _, err := s.orders.PlaceOrder(erin, &orderv1.PlaceOrderRequest{
		IdempotencyKey: uuid.NewString(), CardNumber: "4000000000000002", Source: itemsOf(book, 1),
	}); err != nil {
		t.Fatal(err)
	}
	var last *notificationv1.Notification
	for _, want := range []notificationv1.NotificationKind{
		notificationv1.NotificationKind_NOTIFICATION_KIND_ORDER_PLACED,
		notificationv1.NotificationKind_NOTIFICATION_KIND_ORDER_CANCELLED,
	} {
		if last = next(); last.GetKind() != want {
			t.Fatalf("notification = %v, want %v", last, want)
		}
	}

	// Resume from the last id seen: nothing is repeated; a new event
	// arrives.
	again, err := notes.SubscribeNotifications(erin, &notificationv1.SubscribeNotificationsRequest{AfterId: last.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.orders.PlaceOrder(erin, &orderv1.PlaceOrderRequest{
		IdempotencyKey: uuid.NewString(), CardNumber: "4242424242424242", Source: itemsOf(book, 1),
	}); err != nil {
		t.Fatal(err)
	}
	for {
		msg, err := again.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if n := msg.GetNotification(); n != nil {
			if n.GetId() != last.GetId()+1 || n.GetKind() != notificationv1.NotificationKind_NOTIFICATION_KIND_ORDER_PLACED {
				t.Errorf("first notification after resuming from %d = %v, want the next one, order placed", last.GetId(), n)
			}
			break
		}
	}
	list, err := notes.ListNotifications(erin, &notificationv1.ListNotificationsRequest{})
	if err != nil || len(list.GetNotifications()) < 5 {
		t.Errorf("ListNotifications() = %d, %v; want at least 5", len(list.GetNotifications()), err)
	}
	if err := stop(); err != nil {
		t.Errorf("run(up) after cancel = %v", err)
	}
}
