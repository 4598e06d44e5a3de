package chaos

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	notificationv1 "github.com/bazaarhq/bazaar/gen/bazaar/notification/v1"
	orderv1 "github.com/bazaarhq/bazaar/gen/bazaar/order/v1"
	"github.com/bazaarhq/bazaar/test/invariants"
)

// subscription collects a customer's notifications from a live stream.
type subscription struct {
	mu    sync.Mutex
	got   []*notificationv1.Notification
	ended chan error
}

func subscribe(t *testing.T, p *process, token string, after int64) *subscription {
	t.Helper()
	ctx, cancel := context.WithCancel(bearer(t.Context(), token))
	t.Cleanup(cancel)
	stream, err := notificationv1.NewNotificationServiceClient(p.dial("notification")).
		SubscribeNotifications(ctx, &notificationv1.SubscribeNotificationsRequest{AfterId: after})
	if err != nil {
		t.Fatalf("SubscribeNotifications(after %d) = %v", after, err)
	}
	if _, err := stream.Header(); err != nil {
		t.Fatalf("SubscribeNotifications(after %d): %v", after, err)
	}
	s := &subscription{ended: make(chan error, 1)}
	go func() {
		for {
			msg, err := stream.Recv()
			if err != nil {
				s.ended <- err
				return
			}
			if n := msg.GetNotification(); n != nil {
				s.mu.Lock()
				s.got = append(s.got, n)
				s.mu.Unlock()
			}
		}
	}()
	return s
}

func (s *subscription) notifications() []*notificationv1.Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*notificationv1.Notification(nil), s.got...)
}

// waitCount waits until the stream has delivered n notifications.
func (s *subscription) waitCount(t *testing.T, n int, d time.Duration) []*notificationv1.Notification {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		got := s.notifications()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d notifications after %v, want %d: %v", len(got), d, n, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNotificationsAcrossKill: a customer's notification stream, ended by
// a graceful restart and then by a kill -9 of the whole process while an
// order's saga is paused between its "placed" and "paid" steps, resumes
// each time from the last id it saw: across the three streams the ids run
// 1..n with no gap and no repeat, and every order has exactly its "placed"
// and "paid" notifications, the interrupted one included (finished by
// recovery after the restart).
func TestNotificationsAcrossKill(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startUp(t, "run 1", dir, "")
	adminToken := login(t, p, "admin@bazaar.local", adminPassword)
	productID := stockedProduct(t, p, adminToken, "NOTIFY-1")
	customer := signUp(t, p, "notify@example.com")
	place := func(p *process) (string, error) {
		ctx, cancel := callCtx(t, customer, 20*time.Second)
		defer cancel()
		resp, err := orderv1.NewOrderServiceClient(p.dial("order")).PlaceOrder(ctx, &orderv1.PlaceOrderRequest{
			IdempotencyKey: uuid.NewString(), CardNumber: "4242424242424242",
			Source: &orderv1.PlaceOrderRequest_Items{Items: &orderv1.LineItems{Items: []*orderv1.LineItem{{ProductId: productID, Quantity: 1}}}},
		})
		return resp.GetOrder().GetId(), err
	}

	first := subscribe(t, p, customer, 0)
	for range 2 {
		if _, err := place(p); err != nil {
			t.Fatalf("PlaceOrder() = %v", err)
		}
	}
	seen := first.waitCount(t, 4, 10*time.Second)
	p.stop() // a graceful restart first: the stream is told to go
	if err := <-first.ended; err == nil {
		t.Fatal("the stream of a stopped server ended without an error")
	}

	// Run 2 pauses the next order's saga after the authorization, its
	// "placed" notification out and its "paid" one not yet, and is killed.
	p = startUp(t, "run 2", dir, "after-authorize")
	resumed := subscribe(t, p, customer, seen[len(seen)-1].GetId())
	inFlight := make(chan error, 1)
	go func() { _, err := place(p); inFlight <- err }()
	p.waitFailpoint("after-authorize", 20*time.Second)
	seen = append(seen, resumed.waitCount(t, 1, 10*time.Second)...)
	p.kill()
	<-inFlight // cut by the kill
	if err := <-resumed.ended; err == nil {
		t.Fatal("the stream of a killed process ended without an error")
	}
	seen = append(seen[:4], resumed.notifications()...)
	last := seen[len(seen)-1].GetId()

	p = startUp(t, "run 3", dir, "")
	second := subscribe(t, p, customer, last)
	for range 2 {
		if _, err := place(p); err != nil {
			t.Fatalf("PlaceOrder() after the restart = %v", err)
		}
	}
	// Five orders in all (the interrupted one finishes by recovery once the
	// dead process's lease expires, up to 30 s): each "placed" and "paid".
	ctx, cancel := callCtx(t, customer, 10*time.Second)
	defer cancel()
	list, err := orderv1.NewOrderServiceClient(p.dial("order")).ListOrders(ctx, &orderv1.ListOrdersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	orders := len(list.GetOrders())
	all := append(seen, second.waitCount(t, 2*orders-len(seen), 60*time.Second)...)

	kinds := map[string][]notificationv1.NotificationKind{}
	for i, n := range all {
		if n.GetId() != int64(i+1) {
			t.Errorf("notification #%d has id %d: a gap or a repeat across the restart", i+1, n.GetId())
		}
		kinds[n.GetOrderId()] = append(kinds[n.GetOrderId()], n.GetKind())
	}
	if len(kinds) != orders {
		t.Errorf("notifications about %d orders, want %d", len(kinds), orders)
	}
	for id, ks := range kinds {
		if fmt.Sprint(ks) != fmt.Sprint([]notificationv1.NotificationKind{
			notificationv1.NotificationKind_NOTIFICATION_KIND_ORDER_PLACED, notificationv1.NotificationKind_NOTIFICATION_KIND_ORDER_PAID,
		}) {
			t.Errorf("order %s: notifications %v, want placed then paid", id, ks)
		}
	}
	p.stop()
	select {
	case err := <-second.ended:
		if err == nil {
			t.Error("the stream ended without an error when its server stopped")
		}
	case <-time.After(10 * time.Second):
		t.Error("the stream did not end with its server")
	}
	r, err := invariants.Check(t.Context(), invariants.ForDataDir(dir))
	if err != nil || !r.OK() {
		t.Errorf("invariants: %v\n%s", err, r)
	}
}
