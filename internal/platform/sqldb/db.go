package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DB is a service's handle on its database: a writer pool for writes and
// transactions, a reader pool for reads, the dialect, and the outbox. It is
// safe for concurrent use. Create it with [Open]; release it with [DB.Close].
type DB struct {
	dialect    Dialect
	writer     *sql.DB
	reader     *sql.DB // the same pool as writer on Postgres
	cfg        *config
	schema     string // Postgres: the schema unqualified names resolve to
	outboxLock int64  // Postgres: advisory lock key serialising outbox appends
	// SQLite: prepared statements of the reader and writer pools (nil on
	// Postgres, whose driver caches them per connection itself).
	readStmts, writeStmts *stmtCache
}

// Open connects to the database named by url and verifies the connection:
//
//	sqlite:///abs/path/file.db   SQLite file (absolute path)
//	sqlite://rel/path/file.db    SQLite file (relative to the working directory)
//	postgres://user@host/db?...  Postgres (also postgresql://), any libpq-style URL pgx accepts
//
// On SQLite, Open creates the file if it is missing (its directory must
// exist) and switches it to WAL mode. Every connection runs with
// busy_timeout, foreign_keys=ON and synchronous=NORMAL; writes go through a
// single writer connection whose transactions start with BEGIN IMMEDIATE,
// reads through a pool of read-only connections. In-memory databases are not
// supported: a shared-cache in-memory database cannot be split into a writer
// and a reader pool safely; tests use a file in t.TempDir(). time.Time
// arguments are stored as text in the form "2006-01-02 15:04:05.999999999-07:00",
// which SQLite's date functions read and which sorts correctly for values in
// one zone: store UTC.
//
// On Postgres, one pool serves reads and writes; with [WithSchema] the
// schema is created if missing and is the search_path of every connection.
//
// Open does not run migrations; call [DB.Migrate]. An error wraps
// [ErrInvalidConfig] for an unsupported URL or option; otherwise it is a
// connection error (the server is unreachable, the file cannot be opened, ctx
// expired). Errors never include the URL's password.
func Open(ctx context.Context, url string, opts ...Option) (*DB, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	switch scheme, rest, _ := strings.Cut(url, ":"); strings.ToLower(scheme) {
	case "sqlite":
		path, err := sqlitePath(rest)
		if err != nil {
			return nil, fmt.Errorf("sqldb: open: %w: %w", ErrInvalidConfig, err)
		}
		return openSQLite(ctx, path, cfg)
	case "postgres", "postgresql":
		return openPostgres(ctx, url, cfg)
	default:
		return nil, fmt.Errorf("sqldb: open: %w: unsupported URL scheme %q (want sqlite:// or postgres://)", ErrInvalidConfig, scheme)
	}
}

func newDB(d Dialect, writer, reader *sql.DB, cfg *config) *DB {
	db := &DB{dialect: d, writer: writer, reader: reader, cfg: cfg}
	if d == SQLite {
		db.readStmts, db.writeStmts = newStmtCache(reader), newStmtCache(writer)
	}
	return db
}

// Dialect reports which engine the DB talks to.
func (db *DB) Dialect() Dialect { return db.dialect }

// Rebind is db.Dialect().Rebind(query): it turns '?' placeholders into $n on
// Postgres. See [Dialect.Rebind] for what it skips and its limitation.
func (db *DB) Rebind(query string) string { return db.dialect.Rebind(query) }

// Writer returns the pool that writes go to. On SQLite it holds exactly one
// connection: do not keep a *sql.Conn or *sql.Tx from it open while waiting
// for something else, and never use it inside [DB.InTx] (use the *Tx).
// Queries sent through it directly are not rebound.
func (db *DB) Writer() *sql.DB { return db.writer }

// Reader returns the pool for reads. On SQLite its connections are
// read-only (a write fails with SQLITE_READONLY) and see every committed
// transaction, but not the uncommitted writes of a transaction in progress.
// On Postgres it is the same pool as [DB.Writer]. Queries sent through it
// directly are not rebound.
func (db *DB) Reader() *sql.DB { return db.reader }

// ExecContext rebinds query and runs it on the writer outside any explicit
// transaction (one statement, autocommit). It returns [ErrNestedTx] when ctx
// belongs to a transaction of db, since that statement would not be part of
// it (and on SQLite would wait forever for the writer connection).
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if inTx(ctx, db) {
		return nil, fmt.Errorf("sqldb: exec: %w", ErrNestedTx)
	}
	query = db.Rebind(query)
	if st := db.writeStmts.get(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return db.writer.ExecContext(ctx, query, args...)
}

// QueryContext rebinds query and runs it on the reader pool. The caller must
// close the rows. Inside [DB.InTx] it does not see the transaction's
// uncommitted writes; use [Tx.QueryContext] for that.
func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	query = db.Rebind(query)
	if st := db.readStmts.get(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return db.reader.QueryContext(ctx, query, args...)
}

// QueryRowContext rebinds query and runs it on the reader pool; errors are
// deferred to Row.Scan, which returns sql.ErrNoRows when nothing matched.
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	query = db.Rebind(query)
	if st := db.readStmts.get(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return db.reader.QueryRowContext(ctx, query, args...)
}

// Ping checks that the writer and reader pools can reach the database, for a
// readiness probe. It returns the first failure, wrapped.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.writer.PingContext(ctx); err != nil {
		return fmt.Errorf("sqldb: ping writer: %w", err)
	}
	if db.reader != db.writer {
		if err := db.reader.PingContext(ctx); err != nil {
			return fmt.Errorf("sqldb: ping reader: %w", err)
		}
	}
	return nil
}

// Close closes both pools, waiting for queries in progress to finish. Call it
// once, after every use of db has ended.
func (db *DB) Close() error {
	db.readStmts.close()
	db.writeStmts.close()
	var errs []error
	if db.reader != db.writer {
		if err := db.reader.Close(); err != nil {
			errs = append(errs, fmt.Errorf("sqldb: close reader: %w", err))
		}
	}
	if err := db.writer.Close(); err != nil {
		errs = append(errs, fmt.Errorf("sqldb: close writer: %w", err))
	}
	return errors.Join(errs...)
}

// now is the timestamp stored with rows this package writes: UTC, at the
// microsecond precision both engines keep, so a value read back compares
// equal to the value written.
func (db *DB) now() time.Time {
	return db.cfg.clock().UTC().Truncate(time.Microsecond)
}
