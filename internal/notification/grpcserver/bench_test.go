package grpcserver_test

import (
	"context"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/internal/notification"
)

// BenchmarkApplyToSubscriber measures an order event from Apply (its
// transaction on SQLite, the commit, the hub) to its notification received
// on a live SubscribeNotifications stream over the full server chain.
func BenchmarkApplyToSubscriber(b *testing.B) {
	h := start(b, notification.Config{Heartbeat: time.Hour})
	c := h.dial(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := subscribe(b, metadataCtx(ctx, as("alice")), c, 0)
	b.ReportAllocs()
	for b.Loop() {
		h.placed(b, "alice", 0)
		if _, err := recvNotification(s); err != nil {
			b.Fatal(err)
		}
	}
}
