package sqldb

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"
)

// Option configures [Open]. Options are validated by Open, which reports an
// invalid one as an error wrapping [ErrInvalidConfig].
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	schema      string
	clock       func() time.Time
	maxConns    int
	busyTimeout time.Duration
	txRetries   int
	logger      *slog.Logger
}

func newConfig(opts []Option) (*config, error) {
	c := &config{
		clock:       time.Now,
		maxConns:    defaultMaxConns,
		busyTimeout: 5 * time.Second,
		txRetries:   3,
		logger:      slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		if o != nil {
			o.apply(c)
		}
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("sqldb: %w: %w", ErrInvalidConfig, err)
	}
	return c, nil
}

const defaultMaxConns = 8

// schemaName is deliberately stricter than Postgres: a lower-case identifier
// needs no quoting anywhere (search_path, DDL, log lines).
var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

func (c *config) validate() error {
	switch {
	case c.schema != "" && !schemaName.MatchString(c.schema):
		return fmt.Errorf("schema %q: want a lower-case identifier matching %s", c.schema, schemaName)
	case c.clock == nil:
		return errors.New("clock must not be nil")
	case c.maxConns < 1:
		return fmt.Errorf("max conns %d: want at least 1", c.maxConns)
	case c.busyTimeout < 0:
		return fmt.Errorf("busy timeout %v: want >= 0", c.busyTimeout)
	case c.txRetries < 0:
		return fmt.Errorf("tx retries %d: want >= 0", c.txRetries)
	case c.logger == nil:
		return errors.New("logger must not be nil")
	}
	return nil
}

// WithSchema makes the DB live in the Postgres schema name: Open creates the
// schema if it is missing and sets search_path to it (and only it) on every
// pooled connection, so each service owns its tables, its outbox and its
// goose version tables inside one shared database. name must be a lower-case
// SQL identifier ([a-z_][a-z0-9_]*, at most 63 bytes).
//
// Default: no schema; the URL's own search_path (or the server default)
// applies. Ignored on SQLite, where each service has its own file.
func WithSchema(name string) Option {
	return optionFunc(func(c *config) { c.schema = name })
}

// WithClock sets the clock that stamps [Event.CreatedAt], for deterministic
// tests. Default: time.Now.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) { c.clock = now })
}

// WithMaxConns sets the pool size: on Postgres the one pool shared by reads
// and writes; on SQLite the read pool (the writer is always exactly one
// connection). Default: 8.
func WithMaxConns(n int) Option {
	return optionFunc(func(c *config) { c.maxConns = n })
}

// WithBusyTimeout sets SQLite's busy_timeout: how long a connection waits for
// a lock held by another connection or process before failing with
// SQLITE_BUSY. Default: 5s. Ignored on Postgres.
func WithBusyTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.busyTimeout = d })
}

// WithTxRetries sets how many times [DB.InTx] re-runs a transaction that
// failed with a transient conflict (Postgres serialization failure 40001 or
// deadlock 40P01; SQLite BUSY). 0 disables retries. Default: 3.
func WithTxRetries(n int) Option {
	return optionFunc(func(c *config) { c.txRetries = n })
}

// WithLogger sets the logger used for migration progress. Default: a logger
// that discards everything.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger = l })
}
