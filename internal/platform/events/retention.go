package events

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

// ErrConsumerNotRegistered is returned by AckConsumer for a name that
// RegisterConsumers did not register.
var ErrConsumerNotRegistered = errors.New("events: consumer not registered")

// RegisterConsumers makes names the producer's registered consumers,
// exactly: missing ones are added with cursor 0 (so the outbox is kept for
// them until they acknowledge progress), ones no longer named are removed
// (they stop holding back pruning). A producing service calls it at start
// with its configured list, after DB.Migrate.
func RegisterConsumers(ctx context.Context, db *sqldb.DB, names ...string) error {
	for _, n := range names {
		if n == "" {
			return errors.New("events: register consumers: empty name")
		}
	}
	now := time.Now().UTC()
	return db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		for _, n := range names {
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO event_consumers (name, cursor, update_time) VALUES (?, 0, ?) ON CONFLICT (name) DO NOTHING`,
				n, now); err != nil {
				return fmt.Errorf("events: register consumer %q: %w", n, err)
			}
		}
		rows, err := tx.QueryContext(ctx, `SELECT name FROM event_consumers`)
		if err != nil {
			return fmt.Errorf("events: register consumers: %w", err)
		}
		var stale []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				_ = rows.Close()
				return fmt.Errorf("events: register consumers: %w", err)
			}
			if !slices.Contains(names, n) {
				stale = append(stale, n)
			}
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("events: register consumers: %w", err)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("events: register consumers: %w", err)
		}
		for _, n := range stale {
			if _, err := tx.ExecContext(ctx, `DELETE FROM event_consumers WHERE name = ?`, n); err != nil {
				return fmt.Errorf("events: unregister consumer %q: %w", n, err)
			}
		}
		return nil
	})
}

// ConsumerState is a registered consumer's acknowledged progress.
type ConsumerState struct {
	Name       string
	Cursor     int64
	UpdateTime time.Time
}

// RegisteredConsumer returns the state of the registered consumer name, or
// ErrConsumerNotRegistered.
func RegisteredConsumer(ctx context.Context, db *sqldb.DB, name string) (ConsumerState, error) {
	s := ConsumerState{Name: name}
	err := db.QueryRowContext(ctx, `SELECT cursor, update_time FROM event_consumers WHERE name = ?`, name).
		Scan(&s.Cursor, &s.UpdateTime)
	if errors.Is(err, sql.ErrNoRows) {
		return ConsumerState{}, fmt.Errorf("%w: %q", ErrConsumerNotRegistered, name)
	}
	if err != nil {
		return ConsumerState{}, fmt.Errorf("events: read consumer %q: %w", name, err)
	}
	s.UpdateTime = s.UpdateTime.UTC()
	return s, nil
}

// AckConsumer records that the registered consumer name has durably
// processed every event up to cursor. Acks never move a cursor backwards
// (a late, reordered ack is a no-op). Errors: ErrConsumerNotRegistered, or
// a database error.
func AckConsumer(ctx context.Context, db *sqldb.DB, name string, cursor int64) error {
	if cursor < 0 {
		return fmt.Errorf("events: ack %q: negative cursor %d", name, cursor)
	}
	res, err := db.ExecContext(ctx,
		`UPDATE event_consumers SET cursor = CASE WHEN cursor < ? THEN ? ELSE cursor END, update_time = ? WHERE name = ?`,
		cursor, cursor, time.Now().UTC(), name)
	if err != nil {
		return fmt.Errorf("events: ack %q: %w", name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("events: ack %q: %w", name, err)
	} else if n == 0 {
		return fmt.Errorf("%w: %q", ErrConsumerNotRegistered, name)
	}
	return nil
}

// PrunedThrough returns the highest outbox id Prune has deleted (0 when
// nothing was ever pruned): a subscription may resume after any cursor >=
// it; one behind it has lost events.
func PrunedThrough(ctx context.Context, db *sqldb.DB) (int64, error) {
	var through int64
	err := db.QueryRowContext(ctx, `SELECT through FROM outbox_pruned WHERE singleton = 1`).Scan(&through)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("events: read prune watermark: %w", err)
	}
	return through, nil
}

// Prune deletes the outbox events that every registered consumer has
// acknowledged (id <= the smallest acknowledged cursor) and that are older
// than retention; with no registered consumer, every event older than
// retention. It records the highest deleted id (see PrunedThrough), in the
// same transaction, and returns how many events it deleted.
//
// The newest event is never deleted, so the outbox's head (the ids a
// "from now" subscription starts after) survives pruning.
//
// A registered consumer never loses an event to pruning: what is deleted
// is at most its acknowledged cursor, which is at most where it resumes.
// A subscription of anyone else is checked when it starts (a cursor
// behind PrunedThrough is refused), but one that is still reading events
// older than the retention period while Prune runs can miss the events
// deleted ahead of it: subscribers that need every event register.
func Prune(ctx context.Context, db *sqldb.DB, retention time.Duration) (int64, error) {
	if retention < 0 {
		return 0, fmt.Errorf("events: prune: negative retention %v", retention)
	}
	cutoff := time.Now().UTC().Add(-retention)
	var deleted int64
	err := db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		deleted = 0
		// The highest prunable id: older than the cutoff, at most every
		// registered consumer's cursor, below the newest event.
		var limit sql.NullInt64
		err := tx.QueryRowContext(ctx, `
			SELECT MAX(id) FROM outbox
			WHERE created_at < ?
			  AND id < (SELECT MAX(id) FROM outbox)
			  AND id <= COALESCE((SELECT MIN(cursor) FROM event_consumers), id)`, cutoff).Scan(&limit)
		if err != nil {
			return fmt.Errorf("events: prune: %w", err)
		}
		if !limit.Valid {
			return nil
		}
		// Events up to limit, even those created after the cutoff (a clock
		// step), go together: pruning must leave no hole behind the
		// watermark.
		res, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE id <= ?`, limit.Int64)
		if err != nil {
			return fmt.Errorf("events: prune: %w", err)
		}
		if deleted, err = res.RowsAffected(); err != nil {
			return fmt.Errorf("events: prune: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO outbox_pruned (singleton, through) VALUES (1, ?)
			ON CONFLICT (singleton) DO UPDATE SET through = CASE
				WHEN outbox_pruned.through < excluded.through THEN excluded.through ELSE outbox_pruned.through END`,
			limit.Int64); err != nil {
			return fmt.Errorf("events: prune: record watermark: %w", err)
		}
		return nil
	})
	return deleted, err
}

// RunPruner calls Prune every interval until ctx ends, logging failures
// (and deletions at Debug), and returns nil then. It prunes once at start.
func RunPruner(ctx context.Context, db *sqldb.DB, retention, interval time.Duration, log *slog.Logger) error {
	if interval <= 0 {
		return fmt.Errorf("events: pruner interval %v: want > 0", interval)
	}
	if retention < 0 {
		return fmt.Errorf("events: pruner retention %v: want >= 0", retention)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := Prune(ctx, db, retention)
		switch {
		case err != nil && ctx.Err() == nil:
			log.WarnContext(ctx, "events: prune outbox", "error", err.Error())
		case n > 0:
			log.DebugContext(ctx, "events: pruned outbox", "deleted", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
