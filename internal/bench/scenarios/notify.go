package scenarios

import (
	"context"
	"fmt"
	"time"

	notificationv1 "github.com/bazaarhq/bazaar/gen/bazaar/notification/v1"
	orderv1 "github.com/bazaarhq/bazaar/gen/bazaar/order/v1"
)

// notify: Subscribers customers hold SubscribeNotifications streams open;
// each request places an order for one of them (round robin over the
// worker's own customers) and waits for its ORDER_PAID notification. The
// latency recorded is from the order's completion (its update_time,
// stamped by the order service) to the notification's arrival on the
// customer's stream, as BenchmarkNotifyLatency measures it.
type notify struct {
	*shopper
	*streams
	orders  []orderv1.OrderServiceClient // one per connection (Env.Conns)
	product string
	subs    []subscriber
	next    []int // per worker: how many of its customers it has used
}

type subscriber struct {
	token string
	in    *inbox[*notificationv1.SubscribeNotificationsResponse]
}

func newNotify(ctx context.Context, env Env) (*notify, error) {
	s, err := newShopper(env)
	if err != nil {
		return nil, err
	}
	n := &notify{shopper: s, streams: newStreams(ctx), next: make([]int, env.Workers)}
	if err := n.setup(ctx); err != nil {
		_ = n.Close()
		return nil, err
	}
	return n, nil
}

func (n *notify) setup(ctx context.Context) error {
	occs, err := n.pool("order")
	if err != nil {
		return err
	}
	n.orders = clientsOf(occs, orderv1.NewOrderServiceClient)
	token, err := n.adminToken(ctx)
	if err != nil {
		return err
	}
	if n.product, err = n.stockedProduct(bearer(ctx, token), "NOTE", 3, 10_000_000); err != nil {
		return err
	}
	tokens, err := n.signUpMany(ctx, n.env.Subscribers, "sub")
	if err != nil {
		return err
	}
	for i, t := range tokens {
		ncc, err := n.forStream("notification", i)
		if err != nil {
			return err
		}
		notes := notificationv1.NewNotificationServiceClient(ncc)
		sub, err := notes.SubscribeNotifications(bearer(n.ctx, t), &notificationv1.SubscribeNotificationsRequest{})
		if err != nil {
			return fmt.Errorf("SubscribeNotifications: %w", err)
		}
		if _, err := sub.Header(); err != nil {
			return fmt.Errorf("SubscribeNotifications: %w", err)
		}
		in := newInbox(n.ctx, sub.Recv)
		n.track(in.done)
		n.subs = append(n.subs, subscriber{t, in})
	}
	n.env.logf("notify: %d subscribers", len(n.subs))
	return nil
}

func (*notify) Name() string { return "notify" }

func (*notify) Note() string {
	return "latency from the order's completion (update_time) to its ORDER_PAID notification on the customer's stream"
}

func (n *notify) Do(ctx context.Context, w int) (time.Duration, error) {
	workers := len(n.next)
	// Worker w owns customers w, w+workers, w+2·workers...: a stream is
	// read by one worker only.
	owned := (len(n.subs) - w + workers - 1) / workers
	i := w + (n.next[w]%owned)*workers
	n.next[w]++
	sub := n.subs[i]
	o, err := placeOrder(bearer(ctx, sub.token), n.orders[w%len(n.orders)], []*orderv1.LineItem{{ProductId: n.product, Quantity: 1}})
	if err != nil {
		return 0, err
	}
	_, err = sub.in.next(ctx, func(m *notificationv1.SubscribeNotificationsResponse) bool {
		note := m.GetNotification()
		return note.GetOrderId() == o.GetId() && note.GetKind() == notificationv1.NotificationKind_NOTIFICATION_KIND_ORDER_PAID
	})
	if err != nil {
		return 0, err
	}
	return max(time.Since(o.GetUpdateTime().AsTime()), time.Microsecond), nil
}

func (n *notify) Close() error {
	n.stop()
	return n.shopper.Close()
}
