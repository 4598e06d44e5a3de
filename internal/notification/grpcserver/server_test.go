package grpcserver_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	notificationv1 "github.com/bazaarhq/bazaar/gen/bazaar/notification/v1"
	"github.com/bazaarhq/bazaar/internal/notification"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
)

type stream = grpc.ServerStreamingClient[notificationv1.SubscribeNotificationsResponse]

// subscribe opens a subscription and waits until it is in place.
func subscribe(t testing.TB, ctx context.Context, c notificationv1.NotificationServiceClient, after int64) stream {
	t.Helper()
	s, err := c.SubscribeNotifications(ctx, &notificationv1.SubscribeNotificationsRequest{AfterId: after})
	if err != nil {
		t.Fatalf("SubscribeNotifications(%d) = %v", after, err)
	}
	if _, err := s.Header(); err != nil {
		t.Fatalf("SubscribeNotifications(%d).Header() = %v", after, err)
	}
	return s
}

// recvNotification returns the next notification, skipping heartbeats.
func recvNotification(s stream) (*notificationv1.Notification, error) {
	for {
		m, err := s.Recv()
		if err != nil {
			return nil, err
		}
		if n := m.GetNotification(); n != nil {
			return n, nil
		}
	}
}

func TestUnaryAndOwnership(t *testing.T) {
	t.Parallel()
	h := start(t, notification.Config{})
	c := h.dial(t)
	h.placed(t, "alice", 0)
	h.placed(t, "alice", 0)
	h.placed(t, "bob", 0)

	if _, err := c.ListNotifications(callCtx(t, nil), &notificationv1.ListNotificationsRequest{}); errs.FromError(err).Code != codes.Unauthenticated {
		t.Errorf("ListNotifications(anonymous) = %v, want Unauthenticated", err)
	}
	resp, err := c.ListNotifications(callCtx(t, as("bob")), &notificationv1.ListNotificationsRequest{})
	if err != nil || len(resp.GetNotifications()) != 1 || resp.GetNotifications()[0].GetId() != 1 {
		t.Fatalf("ListNotifications(bob) = %v, %v; want his one notification", resp, err)
	}
	mr, err := c.MarkRead(callCtx(t, as("bob")), &notificationv1.MarkReadRequest{UpToId: 2})
	if err != nil || mr.GetMarked() != 1 {
		t.Errorf("MarkRead(bob, up to 2) = %v, %v; want 1 (his own only)", mr, err)
	}
	unread, err := c.ListNotifications(callCtx(t, as("alice")), &notificationv1.ListNotificationsRequest{UnreadOnly: true, PageSize: 1})
	if err != nil || len(unread.GetNotifications()) != 1 || unread.GetNextPageToken() == "" {
		t.Errorf("ListNotifications(alice, unread, 1) = %v, %v; want a page and a next token", unread, err)
	}
	if _, err := c.MarkRead(callCtx(t, as("bob")), &notificationv1.MarkReadRequest{}); errs.FromError(err).Code != codes.InvalidArgument {
		t.Errorf("MarkRead(nothing) = %v, want InvalidArgument", err)
	}
	if _, err := c.ListNotifications(callCtx(t, as("bob")), &notificationv1.ListNotificationsRequest{PageSize: 1000}); errs.FromError(err).Code != codes.InvalidArgument {
		t.Errorf("ListNotifications(page_size 1000) = %v, want InvalidArgument", err)
	}

	// Alerts.
	a, err := c.SetProductAlert(callCtx(t, as("bob")), &notificationv1.SetProductAlertRequest{ProductId: "p-1", PriceDrop: true})
	if err != nil || !a.GetAlert().GetPriceDrop() || a.GetAlert().GetBackInStock() {
		t.Errorf("SetProductAlert = %v, %v", a, err)
	}
	if la, err := c.ListProductAlerts(callCtx(t, as("alice")), &notificationv1.ListProductAlertsRequest{}); err != nil || len(la.GetAlerts()) != 0 {
		t.Errorf("ListProductAlerts(alice) = %v, %v; want none (bob's are his)", la, err)
	}

	// E-mails: own; all for admins only.
	em, err := c.ListEmails(callCtx(t, as("alice")), &notificationv1.ListEmailsRequest{})
	if err != nil || len(em.GetEmails()) != 2 || em.GetEmails()[0].GetUserId() != "alice" {
		t.Errorf("ListEmails(alice) = %v, %v; want her 2", em, err)
	}
	if _, err := c.ListEmails(callCtx(t, as("alice")), &notificationv1.ListEmailsRequest{All: true}); errs.FromError(err).Code != codes.PermissionDenied {
		t.Errorf("ListEmails(alice, all) = %v, want PermissionDenied", err)
	}
	all, err := c.ListEmails(callCtx(t, as("root", "admin")), &notificationv1.ListEmailsRequest{All: true})
	if err != nil || len(all.GetEmails()) != 3 {
		t.Errorf("ListEmails(admin, all) = %v, %v; want 3", all, err)
	}

	// Streams are the caller's own too.
	ctx, cancel := context.WithCancel(callCtx(t, as("bob")))
	defer cancel()
	s := subscribe(t, ctx, c, 0)
	h.placed(t, "alice", 0)
	h.placed(t, "bob", 0)
	for _, want := range []int64{1, 2} {
		n, err := recvNotification(s)
		if err != nil || n.GetId() != want {
			t.Fatalf("bob's stream Recv() = %v, %v; want his #%d", n, err, want)
		}
	}
}

// TestResumeAcrossReconnectAndRestart follows one user's stream across a
// client reconnect and a server restart (new Service and server over the
// same database): the ids received are exactly 1..N.
func TestResumeAcrossReconnectAndRestart(t *testing.T) {
	t.Parallel()
	h := start(t, notification.Config{Heartbeat: time.Hour})
	c := h.dial(t)
	var got []int64
	last := int64(0)
	recv := func(s stream, n int) error {
		for range n {
			m, err := recvNotification(s)
			if err != nil {
				return err
			}
			got = append(got, m.GetId())
			last = m.GetId()
		}
		return nil
	}
	ctx, cancel := context.WithCancel(callCtx(t, as("alice")))
	s := subscribe(t, ctx, c, 0)
	h.placed(t, "alice", 0)
	h.placed(t, "alice", 0)
	if err := recv(s, 2); err != nil {
		t.Fatal(err)
	}
	cancel() // the client goes away...
	h.placed(t, "alice", 0)
	h.placed(t, "alice", 0) // ...while these are committed

	ctx, cancel = context.WithCancel(callCtx(t, as("alice")))
	s = subscribe(t, ctx, c, last)
	h.placed(t, "alice", 0)
	if err := recv(s, 3); err != nil {
		t.Fatal(err)
	}
	h.restart()
	if _, err := s.Recv(); errs.FromError(err).Code != codes.Unavailable || errs.FromError(err).Reason != "SERVER_DRAINING" {
		t.Fatalf("Recv() across a restart = %v, want UNAVAILABLE SERVER_DRAINING", err)
	}
	cancel()
	h.placed(t, "alice", 0) // committed by the new process before the client is back
	ctx, cancel = context.WithCancel(callCtx(t, as("alice")))
	defer cancel()
	s = subscribe(t, ctx, c, last)
	h.placed(t, "alice", 0)
	if err := recv(s, 2); err != nil {
		t.Fatal(err)
	}
	for i, id := range got {
		if id != int64(i+1) {
			t.Fatalf("ids received = %v, want 1..%d without gap or duplicate", got, len(got))
		}
	}
	if len(got) != 7 {
		t.Fatalf("received %d notifications, want 7", len(got))
	}
}

// TestResumeAcrossMaxConnectionAge: the server closes every connection
// after a tiny MaxConnectionAge (grace shorter than the stream's life), as
// it does every 30 minutes in production to rebalance; the client
// resubscribes after the last id it saw and misses nothing, repeats
// nothing.
func TestResumeAcrossMaxConnectionAge(t *testing.T) {
	t.Parallel()
	l := grpcx.DefaultLimits()
	l.MaxConnectionAge, l.MaxConnectionAgeGrace = 150*time.Millisecond, 50*time.Millisecond
	h := start(t, notification.Config{Heartbeat: time.Hour}, grpcx.WithLimits(l))
	c := h.dial(t)
	const total = 40
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range total {
			h.placed(t, "alice", 0)
			time.Sleep(15 * time.Millisecond)
		}
	}()
	var got []int64
	subscriptions := 0
	for len(got) < total {
		ctx, cancel := context.WithCancel(callCtx(t, as("alice")))
		var last int64
		if len(got) > 0 {
			last = got[len(got)-1]
		}
		s := subscribe(t, ctx, c, last)
		subscriptions++
		for {
			m, err := recvNotification(s)
			if err != nil {
				if code := errs.FromError(err).Code; code != codes.Unavailable {
					t.Fatalf("Recv() = %v, want UNAVAILABLE when the connection ages out", err)
				}
				break
			}
			got = append(got, m.GetId())
			if len(got) == total {
				break
			}
		}
		cancel()
	}
	<-done
	for i, id := range got {
		if id != int64(i+1) {
			t.Fatalf("ids received = %v, want 1..%d without gap or duplicate", got, total)
		}
	}
	if subscriptions < 2 {
		t.Errorf("%d subscription(s): the connection never aged out, the test proves nothing", subscriptions)
	}
}

func TestHeartbeats(t *testing.T) {
	t.Parallel()
	h := start(t, notification.Config{Heartbeat: 30 * time.Millisecond})
	c := h.dial(t)
	h.placed(t, "alice", 0)
	ctx, cancel := context.WithCancel(callCtx(t, as("alice")))
	defer cancel()
	s := subscribe(t, ctx, c, 0)
	if n, err := recvNotification(s); err != nil || n.GetId() != 1 {
		t.Fatalf("Recv() = %v, %v; want #1", n, err)
	}
	for range 3 {
		m, err := s.Recv()
		if err != nil || m.GetHeartbeat() == nil || m.GetHeartbeat().GetLastId() != 1 {
			t.Fatalf("Recv() on an idle stream = %v, %v; want a heartbeat with last_id 1", m, err)
		}
	}
}

// TestSlowConsumer: a client that stops reading fills its transport
// buffers, then its queue; the stream ends with RESOURCE_EXHAUSTED and the
// last delivered id, and a resumed stream gets the rest.
func TestSlowConsumer(t *testing.T) {
	t.Parallel()
	h := start(t, notification.Config{Heartbeat: time.Hour, QueueLimit: 4})
	// A fixed 64 KiB window (no BDP growth) so the buffers fill quickly.
	c := h.dial(t, grpc.WithInitialWindowSize(1<<16), grpc.WithInitialConnWindowSize(1<<16))
	ctx, cancel := context.WithCancel(callCtx(t, as("alice")))
	defer cancel()
	s := subscribe(t, ctx, c, 0)
	const total = 80
	for range total {
		h.placed(t, "alice", 4000) // ~4 KB each: the buffers hold a few dozen
	}
	var got []int64
	var err error
	for {
		var n *notificationv1.Notification
		if n, err = recvNotification(s); err != nil {
			break
		}
		got = append(got, n.GetId())
	}
	d := errs.FromError(err)
	resume, _ := strconv.ParseInt(d.Metadata[notification.MetadataResumeAfterID], 10, 64)
	if d.Code != codes.ResourceExhausted || d.Reason != notification.ReasonSubscriberTooSlow || resume != int64(len(got)) || len(got) >= total {
		t.Fatalf("slow stream ended with %v (reason %q, resume %d) after %d notifications, want RESOURCE_EXHAUSTED %s resuming after the last received",
			err, d.Reason, resume, len(got), notification.ReasonSubscriberTooSlow)
	}
	t.Logf("the slow stream delivered %d of %d before RESOURCE_EXHAUSTED", len(got), total)
	s = subscribe(t, ctx, c, resume)
	for want := resume + 1; want <= total; want++ {
		n, err := recvNotification(s)
		if err != nil || n.GetId() != want {
			t.Fatalf("resumed Recv() = %v, %v; want #%d", n.GetId(), err, want)
		}
	}
}

// TestManySubscribers: 1,000 concurrent streams (one per user) each
// receive their user's order notification; when they leave, the service
// and the goroutines are back to where they were.
func TestManySubscribers(t *testing.T) {
	h := start(t, notification.Config{Heartbeat: time.Hour})
	const n = 1000
	const perConn = 200 // under the server's MaxConcurrentStreams
	clients := make([]notificationv1.NotificationServiceClient, n/perConn)
	for i := range clients {
		clients[i] = h.dial(t)
	}
	// Warm the connections so their goroutines count in the baseline.
	for _, c := range clients {
		if _, err := c.ListProductAlerts(callCtx(t, as("warm")), &notificationv1.ListProductAlertsRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	baseline := runtime.NumGoroutine()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	streams := make([]stream, n)
	var wg sync.WaitGroup
	errc := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			u := fmt.Sprintf("user-%d", i)
			s, err := clients[i/perConn].SubscribeNotifications(metadata.AppendToOutgoingContext(ctx, as(u)...), &notificationv1.SubscribeNotificationsRequest{})
			if err == nil {
				_, err = s.Header()
			}
			if err != nil {
				errc <- fmt.Errorf("subscribe %s: %w", u, err)
				return
			}
			streams[i] = s
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	if got := h.svc.Stats().Subscribers; got != n {
		t.Fatalf("Stats().Subscribers = %d, want %d", got, n)
	}
	start := time.Now()
	for i := range n {
		h.placed(t, fmt.Sprintf("user-%d", i), 0)
	}
	received := make(chan error, n)
	for i, s := range streams {
		go func() {
			m, err := recvNotification(s)
			if err == nil && m.GetId() != 1 {
				err = fmt.Errorf("user-%d got #%d", i, m.GetId())
			}
			received <- err
		}()
	}
	for range n {
		if err := <-received; err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d events applied and delivered to %d streams in %v", n, n, time.Since(start))
	cancel()
	deadline := time.Now().Add(10 * time.Second)
	for h.svc.Stats().Subscribers != 0 || runtime.NumGoroutine() > baseline+5 {
		if time.Now().After(deadline) {
			t.Fatalf("after the streams left: %d subscribers, %d goroutines (baseline %d)", h.svc.Stats().Subscribers, runtime.NumGoroutine(), baseline)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
