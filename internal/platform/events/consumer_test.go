package events_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/events"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb/sqldbtest"
)

// The consumer depends only on events.Source: here it runs over the
// in-process FeedSource, with a handler failing once midway.
func TestConsumerOverFeedSource(t *testing.T) {
	backends(t, func(t *testing.T, b sqldbtest.Backend) {
		producer := openDB(t, b)
		feed := startFeed(t, producer, events.WithPollInterval(10*time.Millisecond))
		consumerDB := openDB(t, b)
		if _, err := consumerDB.ExecContext(t.Context(), `CREATE TABLE seen (aggregate_id TEXT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		write(t, producer, "a", "b", "c")
		failed := false
		var mu sync.Mutex
		var committed []string
		committedIDs := func() string {
			mu.Lock()
			defer mu.Unlock()
			return strings.Join(committed, ",")
		}
		c, err := events.NewConsumer(events.ConsumerConfig{
			AfterCommit: func(e events.Event) {
				mu.Lock()
				defer mu.Unlock()
				committed = append(committed, e.AggregateID)
			},
			Name: "test", SourceName: "producer", DB: consumerDB, Source: events.NewFeedSource(feed),
			MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond,
			Handle: func(ctx context.Context, tx *sqldb.Tx, e events.Event) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO seen (aggregate_id) VALUES (?)`, e.AggregateID); err != nil {
					return err
				}
				if e.AggregateID == "b" && !failed {
					failed = true
					return errors.New("midway")
				}
				return nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		write(t, producer, "d")
		feed.Notify()
		// Wait for the AfterCommit calls rather than the rows: cancelling
		// while a commit is in flight may fail it on the client's side
		// after the server committed (its AfterCommit is then never called).
		deadline := time.Now().Add(10 * time.Second)
		for strings.Count(committedIDs(), ",") < 3 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run() = %v", err)
		}
		var n int
		if err := consumerDB.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM seen`).Scan(&n); err != nil || n != 4 {
			t.Errorf("%d effects (%v), want 4", n, err)
		}
		if got := committedIDs(); got != "a,b,c,d" {
			t.Errorf("AfterCommit calls %s, want a,b,c,d (b once, after its retry committed)", got)
		}
		if cur, err := c.Cursor(t.Context()); err != nil || cur != "4" {
			t.Errorf("Cursor() = %q, %v; want 4", cur, err)
		}

		// Pruned behind the cursor: Run stops with the typed error.
		if err := events.ResetCursor(t.Context(), consumerDB, "test", "producer", "1"); err != nil {
			t.Fatal(err)
		}
		if n, err := events.Prune(t.Context(), producer, 0); err != nil || n != 3 {
			t.Fatalf("Prune() = %d, %v", n, err)
		}
		var pruned *events.CursorPrunedError
		if err := c.Run(t.Context()); !errors.As(err, &pruned) || pruned.Oldest != strconv.Itoa(3) {
			t.Fatalf("Run() = %v, want CursorPrunedError with oldest 3", err)
		}
	})
}

func TestNewConsumerValidates(t *testing.T) {
	db := openDB(t, sqldbtest.SQLite())
	ok := events.ConsumerConfig{
		Name: "n", SourceName: "s", DB: db, Source: events.NewFeedSource(nil),
		Handle: func(context.Context, *sqldb.Tx, events.Event) error { return nil },
	}
	if _, err := events.NewConsumer(ok); err != nil {
		t.Fatalf("NewConsumer() = %v", err)
	}
	for name, mut := range map[string]func(*events.ConsumerConfig){
		"no name":     func(c *events.ConsumerConfig) { c.Name = "" },
		"no source":   func(c *events.ConsumerConfig) { c.Source = nil },
		"no db":       func(c *events.ConsumerConfig) { c.DB = nil },
		"no handle":   func(c *events.ConsumerConfig) { c.Handle = nil },
		"bad batch":   func(c *events.ConsumerConfig) { c.MaxBatch = -1 },
		"bad backoff": func(c *events.ConsumerConfig) { c.MinBackoff, c.MaxBackoff = time.Second, time.Millisecond },
	} {
		cfg := ok
		mut(&cfg)
		if _, err := events.NewConsumer(cfg); err == nil {
			t.Errorf("NewConsumer(%s) = nil error", name)
		}
	}
}
