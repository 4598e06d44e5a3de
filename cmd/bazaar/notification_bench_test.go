package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	notificationv1 "github.com/bazaarhq/bazaar/gen/bazaar/notification/v1"
	orderv1 "github.com/bazaarhq/bazaar/gen/bazaar/order/v1"
)

// BenchmarkNotifyLatency measures, through `bazaar up` (SQLite), how long
// after an order's state changes its notification reaches the customer's
// live SubscribeNotifications stream: the order service commits the
// transition and its event, its outbox feed hands the event to the
// notification service's gRPC consumer, which commits the notification and
// announces it to the stream. "placed" is timed from the order's
// create_time, "paid" from its completion (update_time), both stamped by
// the order service on this machine. 8 customers order at once, each
// waiting for its notifications before ordering again. The target:
// p99 <= 100 ms.
//
//	go test -run '^$' -bench NotifyLatency -benchtime 400x ./cmd/bazaar
func BenchmarkNotifyLatency(b *testing.B) {
	const adminPassword = "admin password 4 benchmarks"
	addrs, _ := startUpIn(b, b.TempDir(), "--admin-password", adminPassword,
		"--rate-limit", "1000000/1000000", "--anonymous-rate-limit", "1000000/1000000")
	s := openShop(b, addrs, adminPassword)
	product := s.stockedProduct(b, "NOTE-1", 3, 10_000_000)
	notes := notificationv1.NewNotificationServiceClient(dial(b, addrs["notification"]))

	const customers = 8
	type customer struct {
		ctx context.Context
		sub notificationv1.NotificationService_SubscribeNotificationsClient
	}
	cs := make([]customer, customers)
	for i := range cs {
		ctx := bearer(b.Context(), signUp(b, s.id, fmt.Sprintf("note%d@example.com", i)))
		sub, err := notes.SubscribeNotifications(ctx, &notificationv1.SubscribeNotificationsRequest{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := sub.Header(); err != nil {
			b.Fatal(err)
		}
		cs[i] = customer{ctx, sub}
	}
	// order places one order for c and returns how long after the state
	// changes the two notifications arrived.
	order := func(c customer) (placed, paid time.Duration, err error) {
		resp, err := s.orders.PlaceOrder(c.ctx, &orderv1.PlaceOrderRequest{
			IdempotencyKey: uuid.NewString(), CardNumber: "4242424242424242", Source: itemsOf(product, 1),
		})
		if err != nil {
			return 0, 0, err
		}
		o := resp.GetOrder()
		if o.GetStatus() != orderv1.OrderStatus_ORDER_STATUS_COMPLETED {
			return 0, 0, fmt.Errorf("order %v", o.GetStatus())
		}
		for paid == 0 {
			msg, err := c.sub.Recv()
			if err != nil {
				return 0, 0, err
			}
			n := msg.GetNotification()
			if n == nil || n.GetOrderId() != o.GetId() {
				continue
			}
			switch n.GetKind() {
			case notificationv1.NotificationKind_NOTIFICATION_KIND_ORDER_PLACED:
				placed = time.Since(o.GetCreateTime().AsTime())
			case notificationv1.NotificationKind_NOTIFICATION_KIND_ORDER_PAID:
				paid = time.Since(o.GetUpdateTime().AsTime())
			}
		}
		return placed, paid, nil
	}
	for _, c := range cs { // warm up
		if _, _, err := order(c); err != nil {
			b.Fatal(err)
		}
	}

	var (
		mu           sync.Mutex
		placed, paid []time.Duration
		wg           sync.WaitGroup
		next         = make(chan struct{})
	)
	b.ResetTimer()
	for i := range cs {
		wg.Go(func() {
			for range next {
				pl, pd, err := order(cs[i])
				if err != nil {
					b.Error(err) // and keep taking work, so the sender never blocks
					continue
				}
				mu.Lock()
				placed, paid = append(placed, pl), append(paid, pd)
				mu.Unlock()
			}
		})
	}
	for b.Loop() {
		next <- struct{}{}
	}
	close(next)
	wg.Wait()
	b.StopTimer()
	for _, v := range []struct {
		name string
		d    []time.Duration
	}{{"placed", placed}, {"paid", paid}} {
		slices.Sort(v.d)
		b.ReportMetric(ms(percentile(v.d, 0.50)), v.name+"-p50-ms")
		b.ReportMetric(ms(percentile(v.d, 0.99)), v.name+"-p99-ms")
	}
}
