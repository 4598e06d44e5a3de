package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

func openPostgres(ctx context.Context, rawURL string, cfg *config) (*DB, error) {
	// pgx redacts the password in its parse errors.
	pgcfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("sqldb: open postgres: %w: %w", ErrInvalidConfig, err)
	}
	if cfg.schema != "" {
		// A runtime parameter is sent in the startup message of every
		// connection the pool opens, so no connection can miss it. Only the
		// service's schema: its tables must not resolve anywhere else.
		// (pg_catalog is always searched implicitly.)
		pgcfg.RuntimeParams["search_path"] = cfg.schema
	}
	db := stdlib.OpenDB(*pgcfg)
	db.SetMaxOpenConns(cfg.maxConns)
	db.SetMaxIdleConns(cfg.maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	// Recycle connections now and then so that a failover or a changed DNS
	// entry is picked up without a restart.
	db.SetConnMaxLifetime(30 * time.Minute)

	schema, err := preparePostgres(ctx, db, cfg.schema)
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	out := newDB(Postgres, db, db, cfg)
	out.schema = schema
	out.outboxLock = advisoryKey("bazaar/sqldb/outbox", schema)
	return out, nil
}

// preparePostgres creates the schema if asked to and returns the schema
// unqualified table names resolve to.
func preparePostgres(ctx context.Context, db *sql.DB, schema string) (string, error) {
	if err := db.PingContext(ctx); err != nil {
		return "", fmt.Errorf("sqldb: open postgres: %w", err)
	}
	if schema != "" {
		// Look first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege
		// on the database even when the schema exists, which a service's
		// least-privilege role may lack.
		var exists bool
		err := db.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists)
		if err != nil {
			return "", fmt.Errorf("sqldb: look up schema %s: %w", schema, err)
		}
		// schema was validated as a plain lower-case identifier, so it is
		// safe to splice into DDL. Two processes starting at once may race
		// here; the loser's unique violation means the schema exists.
		if !exists {
			// Quoted: a service may be named by a reserved word ("order").
			if _, err := db.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS "`+schema+`"`); err != nil && !IsUniqueViolation(err) {
				return "", fmt.Errorf("sqldb: create schema %s: %w", schema, err)
			}
		}
	}
	var current sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&current); err != nil {
		return "", fmt.Errorf("sqldb: read current schema: %w", err)
	}
	if !current.Valid {
		return "", fmt.Errorf("sqldb: open postgres: %w: search_path names no existing schema", ErrInvalidConfig)
	}
	return current.String, nil
}

// advisoryKey derives a Postgres advisory lock key (a bigint shared by the
// whole database) for one purpose in one schema, so that services sharing a
// database never contend for each other's locks.
func advisoryKey(purpose, schema string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(purpose + "\x00" + schema)) // a hash.Hash never fails
	return int64(h.Sum64())                           //nolint:gosec // reinterpreting the 64 bits is the point

}
