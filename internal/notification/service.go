package notification

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/auth"
)

// RoleAdmin is the role that may list every user's e-mails.
const RoleAdmin = "admin"

// Service is the notification use cases. It is safe for concurrent use.
// Create it with New.
type Service struct {
	store   Store
	cfg     Config
	hub     *hub
	pending *pendingEffects
	stats   counters
}

type counters struct {
	handled, duplicates, unknown atomic.Int64
}

// Stats counts the events the Service has seen since it was created.
type Stats struct {
	// Handled events (that may or may not have notified anyone).
	Handled int64
	// Duplicates: events skipped because their id was handled before.
	Duplicates int64
	// Ignored: events of unknown topics or undecodable payloads.
	Ignored int64
	// Subscribers is the number of live subscriptions.
	Subscribers int
	// Pending is the number of handled events awaiting Committed.
	Pending int
}

// New returns a Service over store. Zero fields of cfg take their defaults
// (see Config). It returns an error for an invalid configuration.
func New(store Store, cfg Config) (*Service, error) {
	if store == nil {
		return nil, errors.New("notification: nil store")
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Service{store: store, cfg: cfg, hub: newHub(), pending: newPendingEffects(cfg.PendingLimit)}, nil
}

// Stats returns the service's counters.
func (s *Service) Stats() Stats {
	return Stats{
		Handled: s.stats.handled.Load(), Duplicates: s.stats.duplicates.Load(), Ignored: s.stats.unknown.Load(),
		Subscribers: s.hub.subscribers(), Pending: s.pending.len(),
	}
}

// PruneHandledEvents forgets the ids of events handled more than age ago
// (the record that makes Apply of the same event harmless), and returns how
// many it removed. Run it periodically with an age well above the longest
// redelivery delay (the consumer's own inbox dedupes as well); 7 days is a
// sensible default.
func (s *Service) PruneHandledEvents(ctx context.Context, age time.Duration) (int64, error) {
	n, err := s.store.PruneHandledEvents(ctx, s.now().Add(-age))
	if err != nil {
		return 0, storeError(err, "pruning handled events")
	}
	return n, nil
}

// userOf returns the user id of caller: notifications belong to users.
func userOf(caller *auth.Principal) (string, error) {
	if caller == nil || caller.Kind != auth.User || caller.Subject == "" {
		return "", ErrUnauthenticated
	}
	return caller.Subject, nil
}

func isAdmin(caller *auth.Principal) bool {
	return caller != nil && caller.Kind == auth.User && slices.Contains(caller.Roles, RoleAdmin)
}
