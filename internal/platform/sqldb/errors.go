package sqldb

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

var (
	// ErrInvalidConfig is wrapped by errors from [Open] for a URL it does not
	// understand or an invalid [Option]. Retrying will not help.
	ErrInvalidConfig = errors.New("invalid configuration")

	// ErrNestedTx is returned by [DB.InTx] and [DB.ExecContext] when called
	// with a context that already belongs to a transaction of the same DB.
	// Inside InTx, use the *Tx; on SQLite the nested call would otherwise
	// wait forever for the single writer connection the outer transaction
	// holds.
	ErrNestedTx = errors.New("nested transaction")

	// ErrInvalidEvent is wrapped by [Tx.AppendEvent] when the event lacks a
	// required field.
	ErrInvalidEvent = errors.New("invalid event")

	// ErrInvalidArgument is wrapped by errors for a caller argument outside
	// its documented range (for example a non-positive limit).
	ErrInvalidArgument = errors.New("invalid argument")
)

// IsUniqueViolation reports whether err (or an error it wraps) is a unique or
// primary-key constraint violation on either engine: Postgres SQLSTATE 23505,
// SQLite SQLITE_CONSTRAINT_UNIQUE or SQLITE_CONSTRAINT_PRIMARYKEY. Stores use
// it to turn a duplicate idempotency key or natural key into a domain error.
func IsUniqueViolation(err error) bool {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pgErr.Code == "23505"
	}
	if sqlErr, ok := errors.AsType[*sqlite.Error](err); ok {
		code := sqlErr.Code()
		return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// isTransient reports whether running the same transaction again may
// succeed: a Postgres serialization failure or deadlock, or SQLite BUSY
// (another process held the write lock for longer than busy_timeout).
func isTransient(err error) bool {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pgErr.Code == "40001" || pgErr.Code == "40P01"
	}
	if sqlErr, ok := errors.AsType[*sqlite.Error](err); ok {
		return sqlErr.Code()&0xff == sqlite3.SQLITE_BUSY
	}
	return false
}
