package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bazaarhq/bazaar/internal/order"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

type cartLine struct {
	ProductID string `json:"product_id"`
	Quantity  int64  `json:"quantity"`
}

func readCart(row rowScanner, customerID string) (*order.Cart, error) {
	c := &order.Cart{CustomerID: customerID, Lines: []order.CartLine{}}
	var (
		lines string
		upd   time.Time
	)
	switch err := row.Scan(&lines, &upd); {
	case errors.Is(err, sql.ErrNoRows):
		return c, nil
	case err != nil:
		return nil, err
	}
	var ls []cartLine
	if err := json.Unmarshal([]byte(lines), &ls); err != nil {
		return nil, fmt.Errorf("decoding cart of %s: %w", customerID, err)
	}
	for _, l := range ls {
		c.Lines = append(c.Lines, order.CartLine{ProductID: l.ProductID, Quantity: l.Quantity})
	}
	c.UpdateTime = upd.UTC()
	return c, nil
}

// Cart implements order.Store.
func (s *Store) Cart(ctx context.Context, customerID string) (*order.Cart, error) {
	c, err := readCart(s.db.QueryRowContext(ctx, `SELECT lines, update_time FROM carts WHERE customer_id = ?`, customerID), customerID)
	if err != nil {
		return nil, fmt.Errorf("store: read cart: %w", err)
	}
	return c, nil
}

// UpdateCart implements order.Store.
func (s *Store) UpdateCart(ctx context.Context, customerID string, fn func(c *order.Cart) error) (*order.Cart, error) {
	var (
		out   *order.Cart
		fnErr error
	)
	err := s.db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		fnErr = nil
		c, err := readCart(tx.QueryRowContext(ctx, `SELECT lines, update_time FROM carts WHERE customer_id = ?`+
			forUpdate(tx.Dialect()), customerID), customerID)
		if err != nil {
			return err
		}
		if err := fn(c); err != nil {
			fnErr = err
			return err
		}
		ls := make([]cartLine, 0, len(c.Lines))
		for _, l := range c.Lines {
			ls = append(ls, cartLine{ProductID: l.ProductID, Quantity: l.Quantity})
		}
		b, err := json.Marshal(ls)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO carts (customer_id, lines, update_time) VALUES (?, ?, ?)
			ON CONFLICT (customer_id) DO UPDATE SET lines = excluded.lines, update_time = excluded.update_time`,
			customerID, string(b), c.UpdateTime); err != nil {
			return err
		}
		c.CustomerID = customerID
		out = c
		return nil
	})
	switch {
	case fnErr != nil:
		return nil, fnErr
	case err != nil:
		return nil, fmt.Errorf("store: update cart: %w", err)
	}
	return out, nil
}
