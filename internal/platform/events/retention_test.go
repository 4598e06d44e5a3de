package events_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/events"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb/sqldbtest"
)

// age makes every outbox event d older.
func age(t *testing.T, db *sqldb.DB, d time.Duration) {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT id, created_at FROM outbox`)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		id int64
		at time.Time
	}
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.at); err != nil {
			t.Fatal(err)
		}
		all = append(all, r)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		if _, err := db.ExecContext(t.Context(), `UPDATE outbox SET created_at = ? WHERE id = ?`, r.at.UTC().Add(-d), r.id); err != nil {
			t.Fatal(err)
		}
	}
}

func outboxIDs(t *testing.T, db *sqldb.DB) []int64 {
	t.Helper()
	evs, err := db.ReadEvents(t.Context(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, e := range evs {
		ids = append(ids, e.ID)
	}
	return ids
}

func TestPrune(t *testing.T) {
	backends(t, func(t *testing.T, b sqldbtest.Backend) {
		ctx := t.Context()
		db := openDB(t, b)
		write(t, db, "a", "b", "c", "d", "e") // ids 1..5
		age(t, db, 2*time.Hour)
		write(t, db, "f") // 6, young

		// No registered consumer: retention only (the young one stays).
		if n, err := events.Prune(ctx, db, time.Hour); err != nil || n != 5 {
			t.Fatalf("Prune() = %d, %v; want 5", n, err)
		}
		if got := outboxIDs(t, db); len(got) != 1 || got[0] != 6 {
			t.Fatalf("after Prune without consumers: ids %v, want [6]", got)
		}
		if w, err := events.PrunedThrough(ctx, db); err != nil || w != 5 {
			t.Fatalf("PrunedThrough() = %d, %v; want 5", w, err)
		}

		// A registered consumer holds back pruning until it acknowledges.
		if err := events.RegisterConsumers(ctx, db, "notification", "search"); err != nil {
			t.Fatal(err)
		}
		write(t, db, "g", "h", "i") // 7, 8, 9
		age(t, db, 2*time.Hour)
		if n, err := events.Prune(ctx, db, time.Hour); err != nil || n != 0 {
			t.Fatalf("Prune() with consumers at 0 = %d, %v; want 0", n, err)
		}
		if err := events.AckConsumer(ctx, db, "notification", 8); err != nil {
			t.Fatal(err)
		}
		if err := events.AckConsumer(ctx, db, "search", 7); err != nil {
			t.Fatal(err)
		}
		if n, err := events.Prune(ctx, db, time.Hour); err != nil || n != 2 {
			t.Fatalf("Prune() = %d, %v; want 2 (6 and 7: up to the slowest consumer)", n, err)
		}
		if w, _ := events.PrunedThrough(ctx, db); w != 7 {
			t.Errorf("PrunedThrough() = %d, want 7", w)
		}
		// Removing a consumer from the list releases what it held.
		if err := events.RegisterConsumers(ctx, db, "notification"); err != nil {
			t.Fatal(err)
		}
		if _, err := events.RegisteredConsumer(ctx, db, "search"); !errors.Is(err, events.ErrConsumerNotRegistered) {
			t.Errorf("RegisteredConsumer(search) = %v, want ErrConsumerNotRegistered", err)
		}
		if err := events.AckConsumer(ctx, db, "search", 9); !errors.Is(err, events.ErrConsumerNotRegistered) {
			t.Errorf("AckConsumer(search) = %v, want ErrConsumerNotRegistered", err)
		}
		if err := events.AckConsumer(ctx, db, "notification", 9); err != nil {
			t.Fatal(err)
		}
		// The newest event is never pruned.
		if n, err := events.Prune(ctx, db, 0); err != nil || n != 1 {
			t.Fatalf("Prune() = %d, %v; want 1", n, err)
		}
		if got := outboxIDs(t, db); len(got) != 1 || got[0] != 9 {
			t.Errorf("ids %v, want [9]", got)
		}
		if w, _ := events.PrunedThrough(ctx, db); w != 8 {
			t.Errorf("PrunedThrough() = %d, want 8", w)
		}
	})
}

func TestRunPrunerStops(t *testing.T) {
	db := openDB(t, sqldbtest.SQLite())
	write(t, db, "a", "b")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- events.RunPruner(ctx, db, 0, 10*time.Millisecond, nil) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(outboxIDs(t, db)) != 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("RunPruner() = %v", err)
	}
	if got := outboxIDs(t, db); len(got) != 1 {
		t.Errorf("ids %v, want one left", got)
	}
	if err := events.RunPruner(t.Context(), db, 0, 0, nil); err == nil {
		t.Error("RunPruner(interval 0) = nil, want an error")
	}
}
