package notification_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/internal/notification"
	"github.com/bazaarhq/bazaar/internal/order"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

func next(t *testing.T, sub *notification.Subscription) notification.Item {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	it, err := sub.Next(ctx)
	if err != nil {
		t.Fatalf("Next() = %v", err)
	}
	return it
}

func TestSubscribeBacklogThenLive(t *testing.T) {
	t.Parallel()
	svc := newService(t, openStore(t), notification.Config{Heartbeat: time.Hour})
	for i := range 3 {
		apply(t, svc, orderEvent(t, order.TopicPlaced, "o-"+string(rune('1'+i)), "alice", ""))
	}
	apply(t, svc, orderEvent(t, order.TopicPlaced, "o-b", "bob", ""))
	sub, err := svc.Subscribe(t.Context(), user("alice"), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, e := range []notification.Event{orderEvent(t, order.TopicPlaced, "o-4", "alice", ""), orderEvent(t, order.TopicPlaced, "o-b2", "bob", "")} {
			if err := svc.Apply(context.Background(), e); err != nil {
				t.Errorf("Apply() = %v", err)
			}
		}
	}()
	defer func() { <-done }()
	for want := int64(2); want <= 4; want++ {
		it := next(t, sub)
		if it.Notification == nil || it.Notification.ID != want || it.Notification.UserID != "alice" {
			t.Fatalf("Next() = %+v, want alice's #%d", it.Notification, want)
		}
	}
}

func TestSubscribeHeartbeatAndLostAnnouncement(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	svc := newService(t, st, notification.Config{Heartbeat: 20 * time.Millisecond})
	sub, err := svc.Subscribe(t.Context(), user("alice"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if it := next(t, sub); it.Notification != nil || it.LastID != 0 {
		t.Fatalf("Next() on an idle stream = %+v, want a heartbeat", it)
	}
	// Another process (a second Service over the same database) writes: no
	// announcement reaches this one, the next idle read finds it.
	other := newService(t, st, notification.Config{})
	apply(t, other, orderEvent(t, order.TopicPlaced, "o-1", "alice", ""))
	it := next(t, sub)
	if it.Notification == nil || it.Notification.ID != 1 {
		t.Fatalf("Next() = %+v, want #1 found by the idle store read", it)
	}
}

func TestSubscribeSlowConsumer(t *testing.T) {
	t.Parallel()
	svc := newService(t, openStore(t), notification.Config{Heartbeat: time.Hour, QueueLimit: 2})
	sub, err := svc.Subscribe(t.Context(), user("alice"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	apply(t, svc, orderEvent(t, order.TopicPlaced, "o-1", "alice", ""))
	if it := next(t, sub); it.Notification == nil || it.Notification.ID != 1 {
		t.Fatalf("Next() = %+v, want #1", it)
	}
	for range 5 { // never read: the queue of 2 overflows
		apply(t, svc, orderEvent(t, order.TopicPlaced, "o-x", "alice", ""))
	}
	_, err = sub.Next(t.Context())
	d := errs.FromError(errs.ToStatus(err).Err())
	if !errors.Is(err, notification.ErrSubscriberTooSlow) || d.Metadata[notification.MetadataResumeAfterID] != "1" {
		t.Fatalf("Next() after overflow = %v (metadata %v), want SUBSCRIBER_TOO_SLOW resuming after 1", err, d.Metadata)
	}
	if s := svc.Stats(); s.Subscribers != 0 {
		t.Errorf("Stats().Subscribers = %d after overflow, want 0 (cut off)", s.Subscribers)
	}
	resumed, err := svc.Subscribe(t.Context(), user("alice"), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer resumed.Close()
	for want := int64(2); want <= 6; want++ {
		if it := next(t, resumed); it.Notification == nil || it.Notification.ID != want {
			t.Fatalf("resumed Next() = %+v, want #%d", it.Notification, want)
		}
	}
}

func TestListAndMarkReadOwnership(t *testing.T) {
	t.Parallel()
	svc := newService(t, openStore(t), notification.Config{})
	ctx := t.Context()
	for i := range 5 {
		apply(t, svc, orderEvent(t, order.TopicPlaced, "o-"+string(rune('1'+i)), "alice", ""))
	}
	apply(t, svc, orderEvent(t, order.TopicPlaced, "o-b", "bob", ""))
	var got []int64
	token := ""
	for {
		ns, nextToken, err := svc.ListNotifications(ctx, user("alice"), notification.ListNotificationsRequest{PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range ns {
			got = append(got, n.ID)
		}
		if token = nextToken; token == "" {
			break
		}
	}
	if len(got) != 5 || got[0] != 5 || got[4] != 1 {
		t.Errorf("alice's pages = %v, want 5..1", got)
	}
	// Bob marks "1": his own #1, never alice's.
	if n, err := svc.MarkRead(ctx, user("bob"), []int64{1, 2, 3}, 0); err != nil || n != 1 {
		t.Errorf("MarkRead(bob) = %d, %v; want 1", n, err)
	}
	unread, _, err := svc.ListNotifications(ctx, user("alice"), notification.ListNotificationsRequest{UnreadOnly: true})
	if err != nil || len(unread) != 5 {
		t.Errorf("alice's unread = %d, %v; want 5", len(unread), err)
	}
	// A token of one listing is refused by another.
	_, tok, _ := svc.ListNotifications(ctx, user("alice"), notification.ListNotificationsRequest{PageSize: 1})
	if _, _, err := svc.ListNotifications(ctx, user("alice"), notification.ListNotificationsRequest{PageSize: 1, PageToken: tok, UnreadOnly: true}); reasonOf(err) != notification.ReasonPageTokenInvalid {
		t.Errorf("ListNotifications(other listing's token) = %v, want %s", err, notification.ReasonPageTokenInvalid)
	}
	if _, _, err := svc.ListEmails(ctx, user("alice"), notification.ListEmailsRequest{All: true}); reasonOf(err) != notification.ReasonListAllDenied {
		t.Errorf("ListEmails(all) by a customer = %v, want %s", err, notification.ReasonListAllDenied)
	}
}

// reasonOf returns the ErrorInfo reason err has as a status.
func reasonOf(err error) string { return errs.FromError(errs.ToStatus(err).Err()).Reason }
