// Package store is the payment service's persistence on SQLite and Postgres
// (through internal/platform/sqldb). It implements payment.Store; one
// contract test suite runs against both engines. Its migrations also create
// the simulated processor's tables (see internal/payment/processor), which
// the processor writes in transactions of its own.
//
// Each write is one short transaction; a finishing operation writes the
// payment, the operation's stored answer, the ledger postings and the
// outbox events together. Read-modify-writes lock what they read: on
// SQLite every write transaction is exclusive (BEGIN IMMEDIATE on the
// single writer); on Postgres the rows are read FOR UPDATE, always the
// payment first, so that concurrent calls on one payment serialise and
// never deadlock.
package store

import (
	"context"
	"embed"
	"fmt"

	"github.com/bazaarhq/bazaar/internal/payment"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

// migrations holds migrations/sqlite/*.sql and migrations/postgres/*.sql.
//
//go:embed migrations
var migrations embed.FS

// Store implements payment.Store. It is safe for concurrent use.
type Store struct {
	db *sqldb.DB
}

var _ payment.Store = (*Store)(nil)

// Open opens the database at url (see sqldb.Open; on Postgres pass
// sqldb.WithSchema to give the payment service its own schema), brings its
// schema up to date and returns the store, which owns the database: Close
// it.
func Open(ctx context.Context, url string, opts ...sqldb.Option) (*Store, error) {
	db, err := sqldb.Open(ctx, url, opts...)
	if err != nil {
		return nil, fmt.Errorf("payment store: %w", err)
	}
	if err := db.Migrate(ctx, migrations); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("payment store: %w", err)
	}
	return &Store{db: db}, nil
}

// DB returns the database, for the simulated processor
// (processor.New(st.DB(), …)), the outbox relay and readiness probes.
func (s *Store) DB() *sqldb.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// forUpdate is the locking clause of a read-modify-write: FOR UPDATE on
// Postgres; nothing on SQLite, whose write transactions are exclusive.
func forUpdate(d sqldb.Dialect) string {
	if d == sqldb.Postgres {
		return " FOR UPDATE"
	}
	return ""
}

func appendEvents(ctx context.Context, tx *sqldb.Tx, events []payment.Event) error {
	for _, e := range events {
		if _, err := tx.AppendEvent(ctx, sqldb.Event{Topic: e.Topic, AggregateID: e.AggregateID, Payload: e.Payload}); err != nil {
			return err
		}
	}
	return nil
}
