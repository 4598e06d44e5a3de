// Package store is the order service's persistence on SQLite and Postgres
// (through internal/platform/sqldb). It implements order.Store; one
// contract test suite runs against both engines.
//
// Each write is one short transaction that also inserts the order's
// transitions and appends the caller's events to the outbox. Read-modify-
// writes lock what they read: on SQLite every write transaction is
// exclusive (BEGIN IMMEDIATE on the single writer); on Postgres the row is
// read FOR UPDATE. A lease is taken by one conditional UPDATE.
package store

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bazaarhq/bazaar/internal/order"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

// migrations holds migrations/sqlite/*.sql and migrations/postgres/*.sql.
//
//go:embed migrations
var migrations embed.FS

// Store implements order.Store. It is safe for concurrent use. Its hot
// statements are prepared once by sqldb's statement cache on SQLite (pgx
// caches its own on Postgres).
type Store struct {
	db *sqldb.DB
}

var _ order.Store = (*Store)(nil)

// Open opens the database at url (see sqldb.Open; on Postgres pass
// sqldb.WithSchema to give the order service its own schema), brings its
// schema up to date and returns the store, which owns the database: Close
// it.
func Open(ctx context.Context, url string, opts ...sqldb.Option) (*Store, error) {
	db, err := sqldb.Open(ctx, url, opts...)
	if err != nil {
		return nil, fmt.Errorf("order store: %w", err)
	}
	if err := db.Migrate(ctx, migrations); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("order store: %w", err)
	}
	return &Store{db: db}, nil
}

// DB returns the database, for the outbox feed (events.NewFeed) and
// readiness probes (sqldb.DB.Ping).
func (s *Store) DB() *sqldb.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// The bits of the flags column.
const (
	flagReserved = 1 << iota
	flagAuthorized
	flagCommitted
	flagCaptured
	flagTriedReturn
	flagCancelRequested
)

func flagsOf(o *order.Order) int64 {
	var f int64
	for _, b := range [...]struct {
		bit int64
		on  bool
	}{
		{flagReserved, o.Reserved}, {flagAuthorized, o.Authorized}, {flagCommitted, o.Committed},
		{flagCaptured, o.Captured}, {flagTriedReturn, o.TriedReturn}, {flagCancelRequested, o.CancelRequested},
	} {
		if b.on {
			f |= b.bit
		}
	}
	return f
}

func setFlags(o *order.Order, f int64) {
	o.Reserved = f&flagReserved != 0
	o.Authorized = f&flagAuthorized != 0
	o.Committed = f&flagCommitted != 0
	o.Captured = f&flagCaptured != 0
	o.TriedReturn = f&flagTriedReturn != 0
	o.CancelRequested = f&flagCancelRequested != 0
}

const selectOrder = `SELECT ` + orderColumns + ` FROM orders WHERE id = ?`

const orderColumns = `id, customer_id, idempotency_key, fingerprint, items, total_currency, total_units, total_nanos,
status, step, cancel_code, cancel_reason, payment_id, flags, attempts, next_attempt_at, step_start_time, last_error,
lease_owner, lease_until, card_number, sequence, create_time, update_time`

type rowScanner interface {
	Scan(dest ...any) error
}

func scanOrder(row rowScanner) (*order.Order, error) {
	var (
		o     order.Order
		items string
		flags int64
	)
	err := row.Scan(&o.ID, &o.CustomerID, &o.IdempotencyKey, &o.Fingerprint, &items, &o.Total.Currency,
		&o.Total.Units, &o.Total.Nanos, &o.Status, &o.Step, &o.CancelCode, &o.CancelReason, &o.PaymentID, &flags,
		&o.Attempts, &o.NextAttemptAt, &o.StepStartTime, &o.LastError, &o.LeaseOwner, &o.LeaseUntil, &o.CardNumber,
		&o.Sequence, &o.CreateTime, &o.UpdateTime)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, order.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(items), &o.Items); err != nil {
		return nil, fmt.Errorf("decoding items of order %s: %w", o.ID, err)
	}
	setFlags(&o, flags)
	for _, t := range []*time.Time{&o.NextAttemptAt, &o.StepStartTime, &o.LeaseUntil, &o.CreateTime, &o.UpdateTime} {
		*t = t.UTC()
	}
	return &o, nil
}

// CreateOrder implements order.Store.
func (s *Store) CreateOrder(ctx context.Context, o *order.Order, t *order.Transition, clearCart bool, events ...order.Event) error {
	items, err := json.Marshal(o.Items)
	if err != nil {
		return fmt.Errorf("store: encoding items: %w", err)
	}
	err = s.db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO orders (`+orderColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			o.ID, o.CustomerID, o.IdempotencyKey, o.Fingerprint, string(items), o.Total.Currency, o.Total.Units,
			o.Total.Nanos, o.Status, o.Step, o.CancelCode, o.CancelReason, o.PaymentID, flagsOf(o), o.Attempts,
			o.NextAttemptAt, o.StepStartTime, o.LastError, o.LeaseOwner, o.LeaseUntil, o.CardNumber, o.Sequence,
			o.CreateTime, o.UpdateTime); err != nil {
			if sqldb.IsUniqueViolation(err) {
				return order.ErrDuplicate
			}
			return err
		}
		if err := s.insertTransitions(ctx, tx, []order.Transition{*t}); err != nil {
			return err
		}
		if clearCart {
			if _, err := tx.ExecContext(ctx, `DELETE FROM carts WHERE customer_id = ?`, o.CustomerID); err != nil {
				return err
			}
		}
		return appendEvents(ctx, tx, events)
	})
	if err != nil && !errors.Is(err, order.ErrDuplicate) {
		return fmt.Errorf("store: create order: %w", err)
	}
	return err
}

// Order implements order.Store.
func (s *Store) Order(ctx context.Context, id string) (*order.Order, error) {
	o, err := scanOrder(s.db.QueryRowContext(ctx, selectOrder, id))
	if err != nil && !errors.Is(err, order.ErrNotFound) {
		return nil, fmt.Errorf("store: read order: %w", err)
	}
	return o, err
}

// OrderByKey implements order.Store.
func (s *Store) OrderByKey(ctx context.Context, customerID, key string) (*order.Order, error) {
	o, err := scanOrder(s.db.QueryRowContext(ctx, `SELECT `+orderColumns+` FROM orders
		WHERE customer_id = ? AND idempotency_key = ?`, customerID, key))
	if err != nil && !errors.Is(err, order.ErrNotFound) {
		return nil, fmt.Errorf("store: read order by key: %w", err)
	}
	return o, err
}

// ListOrders implements order.Store.
func (s *Store) ListOrders(ctx context.Context, q order.Query) ([]*order.Order, error) {
	if q.Limit <= 0 {
		return nil, fmt.Errorf("store: list orders: %w: limit %d", sqldb.ErrInvalidArgument, q.Limit)
	}
	var (
		where []string
		args  []any
	)
	if q.CustomerID != "" {
		where, args = append(where, "customer_id = ?"), append(args, q.CustomerID)
	}
	if q.Status != order.StatusUnspecified {
		where, args = append(where, "status = ?"), append(args, q.Status)
	}
	if q.After != nil {
		where = append(where, "(create_time < ? OR (create_time = ? AND id < ?))")
		args = append(args, q.After.CreateTime, q.After.CreateTime, q.After.ID)
	}
	query := `SELECT ` + orderColumns + ` FROM orders`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY create_time DESC, id DESC LIMIT ?`
	args = append(args, q.Limit)
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list orders: %w", err)
	}
	defer func() { _ = rows.Close() }()
	out := []*order.Order{}
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list orders: %w", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list orders: %w", err)
	}
	return out, nil
}

// UpdateOrder implements order.Store.
func (s *Store) UpdateOrder(ctx context.Context, id string, fn func(o *order.Order) ([]order.Transition, []order.Event, error)) (*order.Order, error) {
	var (
		out   *order.Order
		fnErr error
	)
	err := s.db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		fnErr = nil
		o, err := scanOrder(tx.QueryRowContext(ctx, selectOrder+forUpdate(tx.Dialect()), id))
		if err != nil {
			return err
		}
		ts, events, err := fn(o)
		if err != nil {
			fnErr = err
			return err
		}
		if _, err := tx.ExecContext(ctx, updateOrder, o.Status, o.Step, o.CancelCode, o.CancelReason, o.PaymentID,
			flagsOf(o), o.Attempts, o.NextAttemptAt, o.StepStartTime, o.LastError, o.LeaseOwner, o.LeaseUntil,
			o.CardNumber, o.Sequence, o.UpdateTime, id); err != nil {
			return err
		}
		if err := s.insertTransitions(ctx, tx, ts); err != nil {
			return err
		}
		if err := appendEvents(ctx, tx, events); err != nil {
			return err
		}
		out = o
		return nil
	})
	switch {
	case fnErr != nil:
		return nil, fnErr
	case errors.Is(err, order.ErrNotFound):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("store: update order: %w", err)
	}
	return out, nil
}

const updateOrder = `UPDATE orders SET status = ?, step = ?, cancel_code = ?, cancel_reason = ?, payment_id = ?,
flags = ?, attempts = ?, next_attempt_at = ?, step_start_time = ?, last_error = ?, lease_owner = ?, lease_until = ?,
card_number = ?, sequence = ?, update_time = ? WHERE id = ?`

// AcquireLease implements order.Store.
func (s *Store) AcquireLease(ctx context.Context, id, owner string, now, until time.Time) (*order.Order, error) {
	var out *order.Order
	err := s.db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		o, err := scanOrder(tx.QueryRowContext(ctx, `UPDATE orders SET lease_owner = ?, lease_until = ?
			WHERE id = ? AND status IN (?, ?) AND (lease_owner = '' OR lease_owner = ? OR lease_until <= ?)
			RETURNING `+orderColumns, owner, until, id, order.StatusPending, order.StatusCancelling, owner, now))
		if errors.Is(err, order.ErrNotFound) {
			var one int
			err = tx.QueryRowContext(ctx, `SELECT 1 FROM orders WHERE id = ?`, id).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return order.ErrNotFound
			}
			if err == nil {
				return order.ErrNotLeasable
			}
		}
		out = o
		return err
	})
	switch {
	case errors.Is(err, order.ErrNotFound), errors.Is(err, order.ErrNotLeasable):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("store: acquire lease: %w", err)
	}
	return out, nil
}

// DueOrders implements order.Store.
func (s *Store) DueOrders(ctx context.Context, now time.Time, limit int) ([]string, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("store: due orders: %w: limit %d", sqldb.ErrInvalidArgument, limit)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM orders
		WHERE status IN (?, ?) AND next_attempt_at <= ? AND (lease_owner = '' OR lease_until <= ?)
		ORDER BY next_attempt_at LIMIT ?`, order.StatusPending, order.StatusCancelling, now, now, limit)
	if err != nil {
		return nil, fmt.Errorf("store: due orders: %w", err)
	}
	defer func() { _ = rows.Close() }()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: due orders: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: due orders: %w", err)
	}
	return ids, nil
}

// Transitions implements order.Store.
func (s *Store) Transitions(ctx context.Context, orderID string, after int64, limit int) ([]order.Transition, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("store: transitions: %w: limit %d", sqldb.ErrInvalidArgument, limit)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT sequence, status, step, reason, time, snapshot FROM order_transitions
		WHERE order_id = ? AND sequence > ? ORDER BY sequence LIMIT ?`, orderID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: transitions: %w", err)
	}
	defer func() { _ = rows.Close() }()
	out := []order.Transition{}
	for rows.Next() {
		t := order.Transition{OrderID: orderID}
		var snap string
		if err := rows.Scan(&t.Sequence, &t.Status, &t.Step, &t.Reason, &t.Time, &snap); err != nil {
			return nil, fmt.Errorf("store: transitions: %w", err)
		}
		t.Time = t.Time.UTC()
		if t.Order, err = order.UnmarshalSnapshot([]byte(snap)); err != nil {
			return nil, fmt.Errorf("store: transitions: decoding snapshot: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: transitions: %w", err)
	}
	return out, nil
}

const insertTransition = `INSERT INTO order_transitions (order_id, sequence, status, step, reason, time, snapshot)
VALUES (?, ?, ?, ?, ?, ?, ?)`

func (s *Store) insertTransitions(ctx context.Context, tx *sqldb.Tx, ts []order.Transition) error {
	for _, t := range ts {
		if _, err := tx.ExecContext(ctx, insertTransition, t.OrderID, t.Sequence, t.Status, t.Step, t.Reason, t.Time,
			string(order.MarshalSnapshot(t.Order))); err != nil {
			return err
		}
	}
	return nil
}

// appendEvents appends events to the outbox in tx.
func appendEvents(ctx context.Context, tx *sqldb.Tx, events []order.Event) error {
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
