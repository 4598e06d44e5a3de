package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/bazaarhq/bazaar/internal/catalog"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

// stockSelect reads stocks with their product's id, category and status.
const stockSelect = `SELECT s.sku, s.available, s.reserved, s.sold, s.product_id, p.category, p.status
FROM stocks s JOIN products p ON p.id = s.product_id`

func scanStock(row rowScanner) (catalog.Stock, error) {
	var st catalog.Stock
	err := row.Scan(&st.SKU, &st.Available, &st.Reserved, &st.Sold, &st.ProductID, &st.Category, &st.ProductStatus)
	return st, err
}

// Stocks implements catalog.InventoryStore.
func (s *Store) Stocks(ctx context.Context, skus []string) ([]catalog.Stock, error) {
	if len(skus) == 0 {
		return []catalog.Stock{}, nil
	}
	rows, err := s.db.QueryContext(ctx, stockSelect+` WHERE s.sku IN (`+placeholders(len(skus))+`)`, anys(skus)...)
	if err != nil {
		return nil, fmt.Errorf("store: read stock: %w", err)
	}
	defer func() { _ = rows.Close() }()
	out := []catalog.Stock{}
	for rows.Next() {
		st, err := scanStock(rows)
		if err != nil {
			return nil, fmt.Errorf("store: read stock: %w", err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read stock: %w", err)
	}
	return out, nil
}

// lockStocks reads the stocks of skus in tx, locking them in SKU order.
func lockStocks(ctx context.Context, tx *sqldb.Tx, skus []string) (map[string]*catalog.Stock, error) {
	sorted := slices.Sorted(slices.Values(skus))
	rows, err := tx.QueryContext(ctx, stockSelect+` WHERE s.sku IN (`+placeholders(len(sorted))+`) ORDER BY s.sku`+
		forUpdate(tx.Dialect(), "s"), anys(sorted)...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := make(map[string]*catalog.Stock, len(skus))
	for rows.Next() {
		st, err := scanStock(rows)
		if err != nil {
			return nil, err
		}
		out[st.SKU] = &st
	}
	return out, rows.Err()
}

// writeStocks writes back the given stocks in tx.
func writeStocks(ctx context.Context, tx *sqldb.Tx, stocks map[string]*catalog.Stock) error {
	for _, sku := range slices.Sorted(maps.Keys(stocks)) {
		st := stocks[sku]
		if _, err := tx.ExecContext(ctx, `UPDATE stocks SET available = ?, reserved = ?, sold = ? WHERE sku = ?`,
			st.Available, st.Reserved, st.Sold, sku); err != nil {
			return err
		}
	}
	return nil
}

// AdjustStock implements catalog.InventoryStore.
func (s *Store) AdjustStock(ctx context.Context, a catalog.Adjustment, fn func(st *catalog.Stock) ([]catalog.Event, error)) (catalog.Adjustment, bool, error) {
	var (
		out    catalog.Adjustment
		replay bool
		fnErr  error
	)
	err := s.db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		replay, fnErr = false, nil
		stocks, err := lockStocks(ctx, tx, []string{a.SKU})
		if err != nil {
			return err
		}
		// Read the request after locking the stock: a concurrent retry of
		// the same request has then committed or not started.
		prev, err := scanAdjustment(tx.QueryRowContext(ctx, `SELECT request_id, sku, delta, reason, create_time,
			available, reserved, sold FROM stock_adjustments WHERE request_id = ?`, a.RequestID))
		switch {
		case err == nil:
			out, replay = prev, true
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		st, ok := stocks[a.SKU]
		if !ok {
			return catalog.ErrNotFound
		}
		events, err := fn(st)
		if err != nil {
			fnErr = err
			return err
		}
		if err := writeStocks(ctx, tx, stocks); err != nil {
			return err
		}
		a.After = *st
		if _, err := tx.ExecContext(ctx, `INSERT INTO stock_adjustments (request_id, sku, delta, reason, create_time,
			available, reserved, sold) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, a.RequestID, a.SKU, a.Delta, a.Reason,
			a.Time.UTC(), st.Available, st.Reserved, st.Sold); err != nil {
			return err
		}
		out = a
		return appendEvents(ctx, tx, events)
	})
	switch {
	case fnErr != nil:
		return catalog.Adjustment{}, false, fnErr
	case errors.Is(err, catalog.ErrNotFound):
		return catalog.Adjustment{}, false, catalog.ErrNotFound
	case err != nil:
		return catalog.Adjustment{}, false, fmt.Errorf("store: adjust stock: %w", err)
	}
	return out, replay, nil
}

func scanAdjustment(row rowScanner) (catalog.Adjustment, error) {
	var a catalog.Adjustment
	err := row.Scan(&a.RequestID, &a.SKU, &a.Delta, &a.Reason, &a.Time, &a.After.Available, &a.After.Reserved, &a.After.Sold)
	a.After.SKU = a.SKU
	a.Time = a.Time.UTC()
	return a, err
}

// CreateReservation implements catalog.InventoryStore.
func (s *Store) CreateReservation(ctx context.Context, r *catalog.Reservation, fn func(stocks map[string]*catalog.Stock) ([]catalog.Event, error)) (*catalog.Reservation, bool, error) {
	var (
		out    *catalog.Reservation
		replay bool
		fnErr  error
	)
	skus := make([]string, len(r.Items))
	for i, it := range r.Items {
		skus[i] = it.SKU
	}
	err := s.db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		replay, fnErr = false, nil
		stocks, err := lockStocks(ctx, tx, skus)
		if err != nil {
			return err
		}
		// Read after locking: a concurrent reservation with the same id
		// locked the same stocks, so it has committed or not started.
		prev, err := readReservation(ctx, tx, r.ID, "")
		switch {
		case err == nil:
			out, replay = prev, true
			return nil
		case !errors.Is(err, catalog.ErrNotFound):
			return err
		}
		events, err := fn(stocks)
		if err != nil {
			fnErr = err
			return err
		}
		if err := writeStocks(ctx, tx, stocks); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO reservations (id, state, create_time, expire_time) VALUES (?, ?, ?, ?)`,
			r.ID, int(r.State), r.CreateTime.UTC(), r.ExpireTime.UTC())
		if sqldb.IsUniqueViolation(err) {
			// Only possible for an id whose items are disjoint from these.
			return catalog.ErrDuplicate
		}
		if err != nil {
			return err
		}
		for _, it := range r.Items {
			if _, err := tx.ExecContext(ctx, `INSERT INTO reservation_items (reservation_id, sku, quantity) VALUES (?, ?, ?)`,
				r.ID, it.SKU, it.Quantity); err != nil {
				return err
			}
		}
		out = r
		return appendEvents(ctx, tx, events)
	})
	switch {
	case fnErr != nil:
		return nil, false, fnErr
	case errors.Is(err, catalog.ErrDuplicate):
		// A concurrent reservation with this id but other SKUs won.
		prev, rerr := s.Reservation(ctx, r.ID)
		if rerr != nil {
			return nil, false, rerr
		}
		return prev, true, nil
	case err != nil:
		return nil, false, fmt.Errorf("store: create reservation: %w", err)
	}
	return out, replay, nil
}

// querier is what reads need of a *sqldb.DB or a *sqldb.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// readReservation reads reservation id with its items (sorted by SKU),
// locking it with lock (a forUpdate clause) if not "". Items never change
// after the insert, so the two reads need no common snapshot.
func readReservation(ctx context.Context, tx querier, id, lock string) (*catalog.Reservation, error) {
	r := catalog.Reservation{ID: id}
	err := tx.QueryRowContext(ctx, `SELECT state, create_time, expire_time FROM reservations WHERE id = ?`+lock, id).
		Scan(&r.State, &r.CreateTime, &r.ExpireTime)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, catalog.ErrNotFound
	case err != nil:
		return nil, err
	}
	r.CreateTime, r.ExpireTime = r.CreateTime.UTC(), r.ExpireTime.UTC()
	rows, err := tx.QueryContext(ctx, `SELECT sku, quantity FROM reservation_items WHERE reservation_id = ? ORDER BY sku`, id)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var it catalog.ReservationItem
		if err := rows.Scan(&it.SKU, &it.Quantity); err != nil {
			return nil, err
		}
		r.Items = append(r.Items, it)
	}
	return &r, rows.Err()
}

// Reservation implements catalog.InventoryStore.
func (s *Store) Reservation(ctx context.Context, id string) (*catalog.Reservation, error) {
	out, err := readReservation(ctx, s.db, id, "")
	switch {
	case errors.Is(err, catalog.ErrNotFound):
		return nil, catalog.ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("store: read reservation: %w", err)
	}
	return out, nil
}

// UpdateReservation implements catalog.InventoryStore.
func (s *Store) UpdateReservation(ctx context.Context, id string, fn func(r *catalog.Reservation, stocks map[string]*catalog.Stock) ([]catalog.Event, error)) (*catalog.Reservation, error) {
	var (
		out   *catalog.Reservation
		fnErr error
	)
	err := s.db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		fnErr = nil
		r, err := readReservation(ctx, tx, id, forUpdate(tx.Dialect(), ""))
		if err != nil {
			return err
		}
		skus := make([]string, len(r.Items))
		for i, it := range r.Items {
			skus[i] = it.SKU
		}
		stocks, err := lockStocks(ctx, tx, skus)
		if err != nil {
			return err
		}
		if len(stocks) != len(skus) {
			return fmt.Errorf("reservation %s: %d of %d stock rows missing", id, len(skus)-len(stocks), len(skus))
		}
		events, err := fn(r, stocks)
		if err != nil {
			fnErr = err
			return err
		}
		if len(events) > 0 {
			if err := writeStocks(ctx, tx, stocks); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE reservations SET state = ? WHERE id = ?`, int(r.State), id); err != nil {
			return err
		}
		out = r
		return appendEvents(ctx, tx, events)
	})
	switch {
	case fnErr != nil:
		return nil, fnErr
	case errors.Is(err, catalog.ErrNotFound):
		return nil, catalog.ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("store: update reservation: %w", err)
	}
	return out, nil
}

// ExpiredReservations implements catalog.InventoryStore.
func (s *Store) ExpiredReservations(ctx context.Context, at time.Time, limit int) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM reservations WHERE state = ? AND expire_time <= ?
		ORDER BY expire_time, id LIMIT ?`, int(catalog.ReservationReserved), at.UTC(), limit)
	if err != nil {
		return nil, fmt.Errorf("store: expired reservations: %w", err)
	}
	defer func() { _ = rows.Close() }()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: expired reservations: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: expired reservations: %w", err)
	}
	return ids, nil
}
