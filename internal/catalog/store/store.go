// Package store is the catalog service's persistence on SQLite and Postgres
// (through internal/platform/sqldb). It implements catalog.Store; one
// contract test suite runs against both engines.
//
// Each write is one transaction that also appends the caller's events to
// the outbox. Read-modify-writes lock what they read: on SQLite every write
// transaction is exclusive (BEGIN IMMEDIATE on the single writer); on
// Postgres the rows are read FOR UPDATE, and stock rows are always locked
// in SKU order so that reservations over overlapping SKUs cannot deadlock.
//
// Full-text search uses an FTS5 table kept in sync by triggers on SQLite,
// and a generated tsvector column with a GIN index on Postgres.
package store

import (
	"context"
	"embed"
	"fmt"
	"strings"

	"github.com/bazaarhq/bazaar/internal/catalog"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

// migrations holds migrations/sqlite/*.sql and migrations/postgres/*.sql.
//
//go:embed migrations
var migrations embed.FS

// Store implements catalog.Store. It is safe for concurrent use.
type Store struct {
	db *sqldb.DB
}

var _ catalog.Store = (*Store)(nil)

// Open opens the database at url (see sqldb.Open; on Postgres pass
// sqldb.WithSchema to give the catalog its own schema), brings its schema
// up to date and returns the store, which owns the database: Close it.
func Open(ctx context.Context, url string, opts ...sqldb.Option) (*Store, error) {
	db, err := sqldb.Open(ctx, url, opts...)
	if err != nil {
		return nil, fmt.Errorf("catalog store: %w", err)
	}
	if err := db.Migrate(ctx, migrations); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("catalog store: %w", err)
	}
	return &Store{db: db}, nil
}

// DB returns the database, for the outbox relay (sqldb.DB.ReadEvents) and
// readiness probes (sqldb.DB.Ping).
func (s *Store) DB() *sqldb.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// appendEvents appends events to the outbox in tx.
func appendEvents(ctx context.Context, tx *sqldb.Tx, events []catalog.Event) error {
	for _, e := range events {
		if _, err := tx.AppendEvent(ctx, sqldb.Event{Topic: e.Topic, AggregateID: e.AggregateID, Payload: e.Payload}); err != nil {
			return err
		}
	}
	return nil
}

// forUpdate is the locking clause of a read-modify-write: FOR UPDATE (of
// the given table alias, when a join reads others) on Postgres; nothing on
// SQLite, whose write transactions are exclusive.
func forUpdate(d sqldb.Dialect, of string) string {
	switch {
	case d != sqldb.Postgres:
		return ""
	case of != "":
		return " FOR UPDATE OF " + of
	}
	return " FOR UPDATE"
}

// placeholders returns "?, ?, ?" for n arguments.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func anys[T any](v []T) []any {
	out := make([]any, len(v))
	for i, x := range v {
		out[i] = x
	}
	return out
}
