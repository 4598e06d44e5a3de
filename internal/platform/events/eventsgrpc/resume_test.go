package eventsgrpc_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/events"
	"github.com/bazaarhq/bazaar/internal/platform/grpcx"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb/sqldbtest"
)

// The consumer is stopped and started again (its process restarts) while
// the producer keeps writing: it resumes from its durable cursor.
func TestResumeAcrossClientReconnect(t *testing.T) {
	backends(t, func(t *testing.T, b sqldbtest.Backend) {
		p := newProducer(t, b, grpcx.DefaultLimits())
		s := newSink(t, b)
		cc := p.dial(t, notificationSvc)
		ids := p.write(t, 20) // a backlog before the first subscription
		stopWriter := p.writer(t, 5*time.Millisecond)
		for i := range int64(4) {
			stop := runConsumer(newConsumer(t, consumerConfig(p, s, cc)))
			p.waitSubscriptions(t, i+1)
			time.Sleep(30 * time.Millisecond)
			if err := stop(); err != nil {
				t.Fatalf("Run() = %v", err)
			}
		}
		ids = append(ids, stopWriter()...)
		stop := runConsumer(newConsumer(t, consumerConfig(p, s, cc)))
		// Wait for its subscription: when the last writes all came before
		// the fourth consumer stopped, everything is applied already.
		p.waitSubscriptions(t, 5)
		s.waitApplied(t, ids)
		if err := stop(); err != nil {
			t.Fatalf("Run() = %v", err)
		}
		if n := p.started.Load(); n < 5 {
			t.Errorf("%d subscriptions, want >= 5", n)
		}
	})
}

// The producer's server and feed are stopped and new ones started over
// the same database, twice, while it writes and the consumer reads.
func TestResumeAcrossServerRestart(t *testing.T) {
	backends(t, func(t *testing.T, b sqldbtest.Backend) {
		p := newProducer(t, b, grpcx.DefaultLimits())
		s := newSink(t, b)
		cc := p.dial(t, notificationSvc)
		stop := runConsumer(newConsumer(t, consumerConfig(p, s, cc)))
		stopWriter := p.writer(t, 5*time.Millisecond)
		for i := range int64(2) {
			p.waitSubscriptions(t, i+1)
			time.Sleep(50 * time.Millisecond)
			p.stop()
			time.Sleep(30 * time.Millisecond) // down for a while: the consumer retries
			p.start()
		}
		p.waitSubscriptions(t, 3) // the consumer is on the third server
		time.Sleep(50 * time.Millisecond)
		ids := stopWriter()
		s.waitApplied(t, ids)
		if err := stop(); err != nil {
			t.Fatalf("Run() = %v", err)
		}
	})
}

// The server closes every connection after a tiny MaxConnectionAge (with
// a short grace, shorter than the stream's life): the consumer's stream is
// cut, the client reconnects and the consumer resumes.
func TestResumeAcrossMaxConnectionAge(t *testing.T) {
	backends(t, func(t *testing.T, b sqldbtest.Backend) {
		l := grpcx.DefaultLimits()
		l.MaxConnectionAge, l.MaxConnectionAgeGrace = 150*time.Millisecond, 50*time.Millisecond
		p := newProducer(t, b, l)
		s := newSink(t, b)
		cc := p.dial(t, notificationSvc)
		stop := runConsumer(newConsumer(t, consumerConfig(p, s, cc)))
		stopWriter := p.writer(t, 20*time.Millisecond)
		p.waitSubscriptions(t, 3) // two rotations while writing
		ids := stopWriter()
		s.waitApplied(t, ids)
		if err := stop(); err != nil {
			t.Fatalf("Run() = %v", err)
		}
	})
}

// Handle fails after writing its effect, and the commit fails after Handle
// and the cursor update, each on the first attempt of some events (and of
// the events batched with them); then
// the cursor is reset to the start and every event is delivered again.
// Every event's effect is applied exactly once.
func TestExactlyOnceEffects(t *testing.T) {
	backends(t, func(t *testing.T, b sqldbtest.Backend) {
		p := newProducer(t, b, grpcx.DefaultLimits())
		s := newSink(t, b)
		cc := p.dial(t, notificationSvc)
		ids := p.write(t, 30)
		failed := map[string]bool{}
		errHandle := errors.New("handle failed midway")
		cfg := consumerConfig(p, s, cc)
		cfg.Handle = func(ctx context.Context, tx *sqldb.Tx, e events.Event) error {
			if err := s.handle(ctx, tx, e); err != nil {
				return err
			}
			if e.AggregateID == "3" && !failed[e.ID+"h"] { // a handler failing after its effect
				failed[e.ID+"h"] = true
				return errHandle
			}
			if e.AggregateID == "7" && !failed[e.ID+"c"] { // a commit that will fail
				failed[e.ID+"c"] = true
				_, err := tx.ExecContext(ctx, `UPDATE effects SET ref = 'dangling' WHERE event_id = ?`, e.ID)
				return err
			}
			return nil
		}
		stop := runConsumer(newConsumer(t, cfg))
		s.waitApplied(t, ids)
		if err := stop(); err != nil {
			t.Fatalf("Run() = %v", err)
		}
		if len(failed) != 2 {
			t.Errorf("failures injected: %v, want 2", failed)
		}
		// The events sharing a failed batch's transaction ran too, and run
		// again (waitApplied checked that each effect is there once).
		if got := s.attempts.Load(); got < int64(len(ids))+2 {
			t.Errorf("Handle ran %d times, want >= %d (the events plus the failed attempts)", got, len(ids)+2)
		}

		// Redelivery of everything: the inbox drops what was applied.
		if err := events.ResetCursor(t.Context(), s.db, "notification", "producer", ""); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.write(t, 5)...)
		before := s.attempts.Load()
		stop = runConsumer(newConsumer(t, consumerConfig(p, s, cc)))
		s.waitApplied(t, ids)
		if err := stop(); err != nil {
			t.Fatalf("Run() = %v", err)
		}
		if got := s.attempts.Load() - before; got != 5 {
			t.Errorf("after the reset Handle ran %d times, want 5 (new events only)", got)
		}
	})
}
