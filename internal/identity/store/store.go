// Package store is the identity service's persistence on SQLite and
// Postgres (through internal/platform/sqldb). It implements
// identity.Store; one contract test suite runs against both engines.
//
// Each write is one transaction that also appends the caller's events to
// the outbox. Read-modify-writes lock what they read: on SQLite every write
// transaction is exclusive (BEGIN IMMEDIATE on the single writer); on
// Postgres the rows are read FOR UPDATE, the signing keys table is locked,
// a refresh-token rotation updates its session row first, so that it and a
// revocation of the session are serialised, and an update that must keep a
// role held locks every holder's role row before counting them.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bazaarhq/bazaar/internal/identity"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

// migrations holds migrations/sqlite/*.sql and migrations/postgres/*.sql.
//
//go:embed migrations
var migrations embed.FS

// Store implements identity.Store. It is safe for concurrent use.
type Store struct {
	db *sqldb.DB
}

var _ identity.Store = (*Store)(nil)

// Open opens the database at url (see sqldb.Open; on Postgres pass
// sqldb.WithSchema to give identity its own schema), brings its schema up
// to date and returns the store, which owns the database: Close it.
func Open(ctx context.Context, url string, opts ...sqldb.Option) (*Store, error) {
	db, err := sqldb.Open(ctx, url, opts...)
	if err != nil {
		return nil, fmt.Errorf("identity store: %w", err)
	}
	if err := db.Migrate(ctx, migrations); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("identity store: %w", err)
	}
	return &Store{db: db}, nil
}

// DB returns the database, for the outbox relay (sqldb.DB.ReadEvents) and
// readiness probes (sqldb.DB.Ping).
func (s *Store) DB() *sqldb.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// appendEvents appends events to the outbox in tx.
func appendEvents(ctx context.Context, tx *sqldb.Tx, events []identity.Event) error {
	for _, e := range events {
		if _, err := tx.AppendEvent(ctx, sqldb.Event{Topic: e.Topic, AggregateID: e.AggregateID, Payload: e.Payload}); err != nil {
			return err
		}
	}
	return nil
}

// forUpdate is the locking clause of a read-modify-write: FOR UPDATE on
// Postgres; nothing on SQLite, whose write transactions are exclusive.
func forUpdate(d sqldb.Dialect) string {
	if d == sqldb.Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// nullTime is the value stored for an optional time: NULL for zero.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// timeOf reads an optional time: zero for NULL, UTC otherwise.
func timeOf(t sql.NullTime) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

// Scopes are stored space-separated (a scope has no spaces).
func joinScopes(scopes []string) string { return strings.Join(scopes, " ") }

func splitScopes(s string) []string {
	f := strings.Fields(s)
	if f == nil {
		return []string{}
	}
	return f
}

// exists reports whether query (selecting one row) finds a row in tx.
func exists(ctx context.Context, tx *sqldb.Tx, query string, args ...any) (bool, error) {
	var one int
	err := tx.QueryRowContext(ctx, query, args...).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// affected returns the rows affected by an exec.
func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
