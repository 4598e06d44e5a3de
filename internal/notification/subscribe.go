package notification

import (
	"context"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// readBatch is how many notifications a subscription reads from the store
// at a time.
const readBatch = 100

// Subscription is one live subscription to a user's notifications. It is
// used by one goroutine: call Next until it fails, then Close.
type Subscription struct {
	svc    *Service
	sub    *subscriber
	user   string
	cursor int64 // the last id Next returned (or the starting after_id)
	buf    []Notification
	more   bool // the last store read was full: read again before waiting
	timer  *time.Timer
}

// Item is what Next returns: a notification, or a heartbeat (Notification
// nil) after Config.Heartbeat of silence.
type Item struct {
	Notification *Notification
	// LastID is the subscription's cursor after this item.
	LastID int64
}

// Subscribe opens a subscription to the caller's notifications after
// afterID (0: all of them): Next returns the stored ones first, then live
// ones, each once, in id order. Errors: UNAUTHENTICATED without a user;
// INVALID_ARGUMENT for a negative afterID.
func (s *Service) Subscribe(ctx context.Context, caller *auth.Principal, afterID int64) (*Subscription, error) {
	user, err := userOf(caller)
	if err != nil {
		return nil, err
	}
	if afterID < 0 {
		return nil, invalidField(ReasonRequestInvalid, "after_id", "must be 0 or more")
	}
	// Joining the hub before reading the store: whatever commits after
	// the read is queued, whatever committed before is read; the overlap
	// is dropped by id.
	sub := &Subscription{svc: s, sub: s.hub.add(user, s.cfg.QueueLimit), user: user, cursor: afterID, more: true}
	sub.timer = time.NewTimer(s.cfg.Heartbeat)
	if err := sub.fill(ctx); err != nil {
		sub.Close()
		return nil, err
	}
	return sub, nil
}

// Close leaves the hub. It is safe to call more than once.
func (sub *Subscription) Close() {
	sub.svc.hub.remove(sub.sub)
	sub.timer.Stop()
}

// Cursor returns the last id Next returned (or the starting after_id).
func (sub *Subscription) Cursor() int64 { return sub.cursor }

// Next returns the next notification, or a heartbeat when none came for
// Config.Heartbeat. It fails with context.Cause(ctx) when ctx ends; with a
// RESOURCE_EXHAUSTED SUBSCRIBER_TOO_SLOW error carrying the cursor when the
// subscriber's queue overflowed (it read too slowly); with UNAVAILABLE
// STORE_UNAVAILABLE when the store cannot be read.
func (sub *Subscription) Next(ctx context.Context) (Item, error) {
	for {
		select {
		case <-sub.sub.overflow:
			return Item{}, errTooSlow(sub.cursor)
		default:
		}
		for len(sub.buf) > 0 {
			n := sub.buf[0]
			sub.buf = sub.buf[1:]
			if n.ID > sub.cursor {
				return sub.deliver(n), nil
			}
		}
		if sub.more {
			if err := sub.fill(ctx); err != nil {
				return Item{}, err
			}
			continue
		}
		select {
		case <-ctx.Done():
			return Item{}, context.Cause(ctx)
		case <-sub.sub.overflow:
			return Item{}, errTooSlow(sub.cursor)
		case n := <-sub.sub.queue:
			switch {
			case n.ID <= sub.cursor: // already read from the store
			case n.ID == sub.cursor+1:
				return sub.deliver(n), nil
			default: // a gap: an announcement was lost or is late
				sub.more = true
			}
		case <-sub.timer.C:
			// Idle: look at the store in case an announcement was lost
			// (another process, a consumer that did not call Committed),
			// then beat if there was nothing.
			if err := sub.fill(ctx); err != nil {
				return Item{}, err
			}
			if len(sub.buf) == 0 {
				sub.timer.Reset(sub.svc.cfg.Heartbeat)
				return Item{LastID: sub.cursor}, nil
			}
		}
	}
}

func (sub *Subscription) deliver(n Notification) Item {
	sub.cursor = n.ID
	sub.timer.Reset(sub.svc.cfg.Heartbeat)
	return Item{Notification: &n, LastID: n.ID}
}

// fill reads the next batch after the cursor into buf.
func (sub *Subscription) fill(ctx context.Context) error {
	ns, err := sub.svc.store.NotificationsAfter(ctx, sub.user, sub.cursor, readBatch)
	if err != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return errs.Wrap(err, errs.Unavailable, ReasonStoreUnavailable, "cannot read notifications; resume with the last id")
	}
	sub.buf = ns
	sub.more = len(ns) == readBatch
	return nil
}
