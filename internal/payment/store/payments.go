package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/bazaarhq/bazaar/internal/payment"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

const paymentColumns = `id, order_id, customer_id, currency, amount, captured, refunded, status, card_brand, card_last4,
processor_reference, decline_code, create_time, update_time`

type rowScanner interface {
	Scan(dest ...any) error
}

func scanPayment(row rowScanner) (*payment.Payment, error) {
	var p payment.Payment
	err := row.Scan(&p.ID, &p.OrderID, &p.CustomerID, &p.Amount.Currency, &p.Amount.Nanos, &p.CapturedAmount.Nanos,
		&p.RefundedAmount.Nanos, &p.Status, &p.CardBrand, &p.CardLast4, &p.ProcessorReference, &p.DeclineCode,
		&p.CreateTime, &p.UpdateTime)
	if err != nil {
		return nil, err
	}
	p.CapturedAmount.Currency, p.RefundedAmount.Currency = p.Amount.Currency, p.Amount.Currency
	p.CreateTime, p.UpdateTime = p.CreateTime.UTC(), p.UpdateTime.UTC()
	return &p, nil
}

func insertPayment(ctx context.Context, tx *sqldb.Tx, p *payment.Payment) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO payments (`+paymentColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.OrderID, p.CustomerID, p.Amount.Currency, p.Amount.Nanos, p.CapturedAmount.Nanos, p.RefundedAmount.Nanos,
		int(p.Status), p.CardBrand, p.CardLast4, p.ProcessorReference, p.DeclineCode, p.CreateTime.UTC(), p.UpdateTime.UTC())
	return err
}

func updatePayment(ctx context.Context, tx *sqldb.Tx, p *payment.Payment) error {
	_, err := tx.ExecContext(ctx, `UPDATE payments SET captured = ?, refunded = ?, status = ?, processor_reference = ?,
		decline_code = ?, update_time = ? WHERE id = ?`,
		p.CapturedAmount.Nanos, p.RefundedAmount.Nanos, int(p.Status), p.ProcessorReference, p.DeclineCode,
		p.UpdateTime.UTC(), p.ID)
	return err
}

// lockPayment reads the payment id for update.
func lockPayment(ctx context.Context, tx *sqldb.Tx, id string) (*payment.Payment, error) {
	p, err := scanPayment(tx.QueryRowContext(ctx, `SELECT `+paymentColumns+` FROM payments WHERE id = ?`+forUpdate(tx.Dialect()), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, payment.ErrNotFound
	}
	return p, err
}

// Payment implements payment.Store.
func (s *Store) Payment(ctx context.Context, id string) (*payment.Payment, error) {
	p, err := scanPayment(s.db.QueryRowContext(ctx, `SELECT `+paymentColumns+` FROM payments WHERE id = ?`, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, payment.ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("store: read payment: %w", err)
	}
	return p, nil
}

// ListPayments implements payment.Store.
func (s *Store) ListPayments(ctx context.Context, q payment.ListQuery) ([]*payment.Payment, error) {
	if q.Limit <= 0 {
		return nil, fmt.Errorf("store: list payments: limit %d: %w", q.Limit, sqldb.ErrInvalidArgument)
	}
	where := []string{"1 = 1"}
	var args []any
	if q.OrderID != "" {
		where = append(where, "order_id = ?")
		args = append(args, q.OrderID)
	}
	if q.Status != payment.StatusUnspecified {
		where = append(where, "status = ?")
		args = append(args, int(q.Status))
	}
	if q.AfterID != "" {
		where = append(where, "id < ?")
		args = append(args, q.AfterID)
	}
	args = append(args, q.Limit)
	rows, err := s.db.QueryContext(ctx, `SELECT `+paymentColumns+` FROM payments WHERE `+strings.Join(where, " AND ")+
		` ORDER BY id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list payments: %w", err)
	}
	defer func() { _ = rows.Close() }()
	out := []*payment.Payment{}
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list payments: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list payments: %w", err)
	}
	return out, nil
}
