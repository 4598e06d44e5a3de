package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Tx is a write transaction handed to the function run by [DB.InTx]. Its
// query methods rebind '?' placeholders for the dialect. It is valid only
// until that function returns and, like the function, must not be used from
// several goroutines at once.
type Tx struct {
	tx           *sql.Tx
	db           *DB
	outboxLocked bool
}

// Dialect reports the engine the transaction runs on.
func (tx *Tx) Dialect() Dialect { return tx.db.dialect }

// Rebind is tx.Dialect().Rebind(query); see [Dialect.Rebind].
func (tx *Tx) Rebind(query string) string { return tx.db.dialect.Rebind(query) }

// Raw returns the underlying *sql.Tx, for code that needs database/sql
// directly. Queries sent through it are not rebound. Do not commit or roll
// it back: [DB.InTx] does.
func (tx *Tx) Raw() *sql.Tx { return tx.tx }

// ExecContext rebinds query and executes it in the transaction.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	query = tx.Rebind(query)
	if st := tx.stmt(query); st != nil {
		return tx.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.tx.ExecContext(ctx, query, args...)
}

// stmt returns the writer's prepared statement of query (SQLite), or nil
// after noting the query for preparation once this transaction ends.
func (tx *Tx) stmt(query string) *sql.Stmt {
	st := tx.db.writeStmts.lookup(query)
	if st == nil {
		tx.db.writeStmts.want(query)
	}
	return st
}

// QueryContext rebinds query and runs it in the transaction; it sees the
// transaction's own writes. The caller must close the rows.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	query = tx.Rebind(query)
	if st := tx.stmt(query); st != nil {
		return tx.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return tx.tx.QueryContext(ctx, query, args...)
}

// QueryRowContext rebinds query and runs it in the transaction; errors are
// deferred to Row.Scan, which returns sql.ErrNoRows when nothing matched.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	query = tx.Rebind(query)
	if st := tx.stmt(query); st != nil {
		return tx.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.tx.QueryRowContext(ctx, query, args...)
}

// txKey marks a context handed to an InTx function; its value is the *DB.
type txKey struct{}

func inTx(ctx context.Context, db *DB) bool {
	owner, _ := ctx.Value(txKey{}).(*DB)
	return owner == db
}

// InTx runs fn in a write transaction and commits it if fn returns nil. The
// transaction is rolled back if fn returns an error (which InTx returns
// unchanged, so callers can match their own errors), if fn panics (the panic
// then continues, with its original stack), or if ctx is done before the
// commit (InTx then returns an error wrapping ctx.Err()). A commit failure is
// returned wrapped; the transaction was not applied, except when the
// connection broke during COMMIT, where the outcome is unknown (which is why
// mutating calls carry idempotency keys).
//
// fn may be called more than once: when an attempt fails with a transient
// conflict (Postgres serialization failure or deadlock, SQLite BUSY), InTx
// rolls back and runs fn again, up to [WithTxRetries] times, with a short
// randomised backoff. So fn must have no effect outside the transaction
// (no remote calls — a rule of this codebase anyway) and must not keep state
// between attempts.
//
// Inside fn, use tx (and the ctx passed to fn) for every write; calling
// db.InTx or db.ExecContext with that ctx returns [ErrNestedTx]. On SQLite
// transactions start with BEGIN IMMEDIATE on the single writer connection,
// so they are serialised: keep them short.
func (db *DB) InTx(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	if inTx(ctx, db) {
		return fmt.Errorf("sqldb: InTx: %w", ErrNestedTx)
	}
	ctx = context.WithValue(ctx, txKey{}, db)
	// The writer's connection is free again once the transaction ended:
	// prepare the statements it ran for the first time.
	defer db.writeStmts.preparePending(ctx)
	for attempt := 0; ; attempt++ {
		err := db.runTx(ctx, fn)
		if err == nil || attempt >= db.cfg.txRetries || !isTransient(err) || ctx.Err() != nil {
			return err
		}
		if sleepErr := sleep(ctx, backoff(attempt)); sleepErr != nil {
			return fmt.Errorf("sqldb: InTx: waiting to retry: %w (last attempt: %w)", sleepErr, err)
		}
	}
}

func (db *DB) runTx(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqldb: begin: %w", err)
	}
	sqlTx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqldb: begin: %w", err)
	}
	// Runs on every path out, including a panic in fn (which keeps
	// unwinding) and runtime.Goexit. After a commit it is a no-op.
	defer func() { _ = sqlTx.Rollback() }()

	if err := fn(ctx, &Tx{tx: sqlTx, db: db}); err != nil {
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, sql.ErrTxDone) {
			// database/sql rolled back when ctx ended; say why.
			err = ctxErr
		}
		return fmt.Errorf("sqldb: commit: %w", err)
	}
	return nil
}

// backoff grows 10ms, 20ms, 40ms... up to 320ms, with jitter so that the
// transactions that collided do not collide again.
func backoff(attempt int) time.Duration {
	d := 10 * time.Millisecond << min(attempt, 5)
	return d/2 + rand.N(d/2+1) //nolint:gosec // jitter, not a secret
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
