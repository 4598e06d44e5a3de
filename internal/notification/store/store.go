// Package store is the notification service's persistence on SQLite and
// Postgres (through internal/platform/sqldb). It implements
// notification.Store; one contract test suite runs against both engines.
//
// A user's notification ids come from a counter row per user, updated in
// the transaction that inserts the notification: on Postgres the row stays
// locked until that transaction ends, and SQLite has a single writer, so a
// user's ids commit in order and without gaps, which is what lets a
// subscriber resume after the last id it saw.
package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"strings"
	"time"

	"github.com/bazaarhq/bazaar/internal/notification"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

// migrations holds migrations/sqlite/*.sql and migrations/postgres/*.sql.
//
//go:embed migrations
var migrations embed.FS

// Store implements notification.Store. It is safe for concurrent use.
type Store struct {
	db *sqldb.DB
}

var _ notification.Store = (*Store)(nil)

// Open opens the database at url (see sqldb.Open; on Postgres pass
// sqldb.WithSchema to give the service its own schema), brings its schema
// up to date and returns the store, which owns the database: Close it.
func Open(ctx context.Context, url string, opts ...sqldb.Option) (*Store, error) {
	db, err := sqldb.Open(ctx, url, opts...)
	if err != nil {
		return nil, fmt.Errorf("notification store: %w", err)
	}
	if err := db.Migrate(ctx, migrations); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("notification store: %w", err)
	}
	return &Store{db: db}, nil
}

// DB returns the database: the event consumer keeps its inbox and cursor
// in it (so they commit with the notifications), and readiness probes ping
// it.
func (s *Store) DB() *sqldb.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// InTx implements notification.Store.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context, tx *sqldb.Tx) error) error {
	return s.db.InTx(ctx, fn)
}

// MarkEventHandled implements notification.Store.
func (s *Store) MarkEventHandled(ctx context.Context, tx *sqldb.Tx, eventID string, at time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx,
		`INSERT INTO handled_events (event_id, handle_time) VALUES (?, ?) ON CONFLICT (event_id) DO NOTHING`,
		eventID, at.UTC())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// PruneHandledEvents implements notification.Store.
func (s *Store) PruneHandledEvents(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM handled_events WHERE handle_time < ?`, before.UTC())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// AddNotification implements notification.Store.
func (s *Store) AddNotification(ctx context.Context, tx *sqldb.Tx, n *notification.Notification) error {
	var id int64
	if err := tx.QueryRowContext(ctx, `
		INSERT INTO notification_users (user_id, last_id) VALUES (?, 1)
		ON CONFLICT (user_id) DO UPDATE SET last_id = notification_users.last_id + 1
		RETURNING last_id`, n.UserID).Scan(&id); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO notifications (user_id, id, kind, title, body, order_id, product_id, event_id, create_time, read_time)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		n.UserID, id, int(n.Kind), n.Title, n.Body, n.OrderID, n.ProductID, n.EventID, n.CreateTime.UTC(), nullTime(n.ReadTime)); err != nil {
		return err
	}
	n.ID = id
	return nil
}

// AddEmail implements notification.Store.
func (s *Store) AddEmail(ctx context.Context, tx *sqldb.Tx, m *notification.Email) error {
	return tx.QueryRowContext(ctx, `
		INSERT INTO emails (user_id, address, subject, body, event_id, create_time)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		m.UserID, m.To, m.Subject, m.Body, m.EventID, m.CreateTime.UTC()).Scan(&m.ID)
}

// AlertedUsers implements notification.Store.
func (s *Store) AlertedUsers(ctx context.Context, tx *sqldb.Tx, productID string, kind notification.AlertKind) ([]string, error) {
	col := "back_in_stock"
	if kind == notification.AlertPriceDrop {
		col = "price_drop"
	}
	rows, err := tx.QueryContext(ctx, `SELECT user_id FROM product_alerts WHERE product_id = ? AND `+col+` = ? ORDER BY user_id`, productID, true)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var users []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, rows.Err()
}

// ProductState implements notification.Store.
func (s *Store) ProductState(ctx context.Context, tx *sqldb.Tx, productID string) (notification.ProductState, bool, error) {
	lock := ""
	if tx.Dialect() == sqldb.Postgres {
		lock = " FOR UPDATE"
	}
	var (
		cur                  sql.NullString
		units, nanos, avail  sql.NullInt64
		priceTime, stockTime sql.NullTime
	)
	err := tx.QueryRowContext(ctx, `
		SELECT price_currency, price_units, price_nanos, price_time, available, stock_time
		FROM product_states WHERE product_id = ?`+lock, productID).
		Scan(&cur, &units, &nanos, &priceTime, &avail, &stockTime)
	switch {
	case err == sql.ErrNoRows:
		return notification.ProductState{ProductID: productID}, false, nil
	case err != nil:
		return notification.ProductState{}, false, err
	}
	st := notification.ProductState{ProductID: productID}
	if cur.Valid {
		st.HasPrice = true
		st.Price = notification.Money{Currency: cur.String, Units: units.Int64, Nanos: int32(nanos.Int64)} //nolint:gosec // stored from an int32
		st.PriceTime = priceTime.Time.UTC()
	}
	if avail.Valid {
		st.HasStock, st.Available, st.StockTime = true, avail.Int64, stockTime.Time.UTC()
	}
	return st, true, nil
}

// PutProductState implements notification.Store.
func (s *Store) PutProductState(ctx context.Context, tx *sqldb.Tx, st notification.ProductState) error {
	var cur, units, nanos, priceTime, avail, stockTime any
	if st.HasPrice {
		cur, units, nanos, priceTime = st.Price.Currency, st.Price.Units, int64(st.Price.Nanos), st.PriceTime.UTC()
	}
	if st.HasStock {
		avail, stockTime = st.Available, st.StockTime.UTC()
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO product_states (product_id, price_currency, price_units, price_nanos, price_time, available, stock_time)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (product_id) DO UPDATE SET price_currency = excluded.price_currency,
			price_units = excluded.price_units, price_nanos = excluded.price_nanos,
			price_time = excluded.price_time, available = excluded.available, stock_time = excluded.stock_time`,
		st.ProductID, cur, units, nanos, priceTime, avail, stockTime)
	return err
}

const notificationColumns = `user_id, id, kind, title, body, order_id, product_id, event_id, create_time, read_time`

func scanNotifications(rows *sql.Rows) ([]notification.Notification, error) {
	defer func() { _ = rows.Close() }()
	var out []notification.Notification
	for rows.Next() {
		var (
			n    notification.Notification
			kind int
			read sql.NullTime
		)
		if err := rows.Scan(&n.UserID, &n.ID, &kind, &n.Title, &n.Body, &n.OrderID, &n.ProductID, &n.EventID, &n.CreateTime, &read); err != nil {
			return nil, err
		}
		n.Kind = notification.Kind(kind)
		n.CreateTime = n.CreateTime.UTC()
		if read.Valid {
			n.ReadTime = read.Time.UTC()
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// ListNotifications implements notification.Store.
func (s *Store) ListNotifications(ctx context.Context, q notification.ListQuery) ([]notification.Notification, error) {
	where := []string{"user_id = ?"}
	args := []any{q.UserID}
	if q.UnreadOnly {
		where = append(where, "read_time IS NULL")
	}
	if q.BeforeID > 0 {
		where = append(where, "id < ?")
		args = append(args, q.BeforeID)
	}
	args = append(args, q.Limit)
	rows, err := s.db.QueryContext(ctx, `SELECT `+notificationColumns+` FROM notifications WHERE `+
		strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	return scanNotifications(rows)
}

// NotificationsAfter implements notification.Store.
func (s *Store) NotificationsAfter(ctx context.Context, userID string, afterID int64, limit int) ([]notification.Notification, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+notificationColumns+` FROM notifications
		WHERE user_id = ? AND id > ? ORDER BY id LIMIT ?`, userID, afterID, limit)
	if err != nil {
		return nil, err
	}
	return scanNotifications(rows)
}

// MarkRead implements notification.Store.
func (s *Store) MarkRead(ctx context.Context, userID string, ids []int64, upTo int64, at time.Time) (int, error) {
	var match []string
	args := []any{at.UTC(), userID}
	if len(ids) > 0 {
		match = append(match, "id IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")+")")
		for _, id := range ids {
			args = append(args, id)
		}
	}
	if upTo > 0 {
		match = append(match, "id <= ?")
		args = append(args, upTo)
	}
	if len(match) == 0 {
		return 0, nil
	}
	var n int64
	err := s.db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE notifications SET read_time = ?
			WHERE user_id = ? AND read_time IS NULL AND (`+strings.Join(match, " OR ")+`)`, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// SetProductAlert implements notification.Store.
func (s *Store) SetProductAlert(ctx context.Context, a notification.ProductAlert) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		if !a.BackInStock && !a.PriceDrop {
			_, err := tx.ExecContext(ctx, `DELETE FROM product_alerts WHERE user_id = ? AND product_id = ?`, a.UserID, a.ProductID)
			return err
		}
		_, err := tx.ExecContext(ctx, `
			INSERT INTO product_alerts (user_id, product_id, back_in_stock, price_drop, update_time) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (user_id, product_id) DO UPDATE SET back_in_stock = excluded.back_in_stock,
				price_drop = excluded.price_drop, update_time = excluded.update_time`,
			a.UserID, a.ProductID, a.BackInStock, a.PriceDrop, a.UpdateTime.UTC())
		return err
	})
}

// ListProductAlerts implements notification.Store.
func (s *Store) ListProductAlerts(ctx context.Context, userID string, limit int) ([]notification.ProductAlert, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT product_id, back_in_stock, price_drop, update_time
		FROM product_alerts WHERE user_id = ? ORDER BY product_id LIMIT ?`, userID, limit)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []notification.ProductAlert
	for rows.Next() {
		a := notification.ProductAlert{UserID: userID}
		if err := rows.Scan(&a.ProductID, &a.BackInStock, &a.PriceDrop, &a.UpdateTime); err != nil {
			return nil, err
		}
		a.UpdateTime = a.UpdateTime.UTC()
		out = append(out, a)
	}
	return out, rows.Err()
}

// ListEmails implements notification.Store.
func (s *Store) ListEmails(ctx context.Context, q notification.EmailQuery) ([]notification.Email, error) {
	where := []string{"1 = 1"}
	var args []any
	if q.UserID != "" {
		where = append(where, "user_id = ?")
		args = append(args, q.UserID)
	}
	if q.BeforeID > 0 {
		where = append(where, "id < ?")
		args = append(args, q.BeforeID)
	}
	args = append(args, q.Limit)
	rows, err := s.db.QueryContext(ctx, `SELECT id, user_id, address, subject, body, event_id, create_time
		FROM emails WHERE `+strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []notification.Email
	for rows.Next() {
		var m notification.Email
		if err := rows.Scan(&m.ID, &m.UserID, &m.To, &m.Subject, &m.Body, &m.EventID, &m.CreateTime); err != nil {
			return nil, err
		}
		m.CreateTime = m.CreateTime.UTC()
		out = append(out, m)
	}
	return out, rows.Err()
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}
