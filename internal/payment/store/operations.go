package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bazaarhq/bazaar/internal/payment"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

const operationColumns = `method, idem_key, fingerprint, payment_id, currency, amount, done, result, lease_until, epoch, create_time`

func scanOperation(row rowScanner) (*payment.Operation, error) {
	var (
		op     payment.Operation
		done   int
		result string
	)
	err := row.Scan(&op.Method, &op.Key, &op.Fingerprint, &op.PaymentID, &op.Amount.Currency, &op.Amount.Nanos, &done,
		&result, &op.LeaseUntil, &op.Epoch, &op.CreateTime)
	if err != nil {
		return nil, err
	}
	if done == 1 {
		op.Result = &payment.Result{}
		if err := json.Unmarshal([]byte(result), op.Result); err != nil {
			return nil, fmt.Errorf("operation %s %s result: %w", op.Method, op.Key, err)
		}
	}
	op.LeaseUntil, op.CreateTime = op.LeaseUntil.UTC(), op.CreateTime.UTC()
	return &op, nil
}

// readOperation reads the operation (method, key) in tx, or ErrNotFound.
func readOperation(ctx context.Context, tx *sqldb.Tx, method, key string, lock bool) (*payment.Operation, error) {
	q := `SELECT ` + operationColumns + ` FROM operations WHERE method = ? AND idem_key = ?`
	if lock {
		q += forUpdate(tx.Dialect())
	}
	op, err := scanOperation(tx.QueryRowContext(ctx, q, method, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, payment.ErrNotFound
	}
	return op, err
}

// insertOperation inserts op (unfinished, unless it has a Result) unless
// its key exists, and reports whether it did.
func insertOperation(ctx context.Context, tx *sqldb.Tx, op *payment.Operation) (bool, error) {
	done, result := 0, ""
	if op.Result != nil {
		b, err := json.Marshal(op.Result)
		if err != nil {
			return false, err
		}
		done, result = 1, string(b)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO operations (`+operationColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (method, idem_key) DO NOTHING`,
		op.Method, op.Key, op.Fingerprint, op.PaymentID, op.Amount.Currency, op.Amount.Nanos, done, result,
		op.LeaseUntil.UTC(), op.Epoch, op.CreateTime.UTC())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ClaimAuthorize implements payment.Store.
func (s *Store) ClaimAuthorize(ctx context.Context, op *payment.Operation, p *payment.Payment) (*payment.Operation, error) {
	var existing *payment.Operation
	err := s.db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		existing = nil
		inserted, err := insertOperation(ctx, tx, op)
		if err != nil {
			return err
		}
		if !inserted {
			// On Postgres the insert waited for a concurrent claim of the
			// key to commit; this statement sees it.
			existing, err = readOperation(ctx, tx, op.Method, op.Key, false)
			return err
		}
		return insertPayment(ctx, tx, p)
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim authorization: %w", err)
	}
	return existing, nil
}

// errExisting ends a claim whose key exists.
var errExisting = errors.New("operation exists")

// ClaimOperation implements payment.Store.
func (s *Store) ClaimOperation(ctx context.Context, op *payment.Operation, fn func(p *payment.Payment, busy *payment.Operation) error) (*payment.Operation, error) {
	// A repeat is the common case of a claim that finds its key: answer it
	// without taking the payment's lock.
	if existing, err := s.Operation(ctx, op.Method, op.Key); err == nil {
		return existing, nil
	} else if !errors.Is(err, payment.ErrNotFound) {
		return nil, err
	}
	var (
		existing *payment.Operation
		fnErr    error
	)
	err := s.db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		existing, fnErr = nil, nil
		p, err := lockPayment(ctx, tx, op.PaymentID)
		if err != nil {
			return err
		}
		// Claims on one payment are serialised by its lock: a claim of the
		// key committed meanwhile is visible now. One query reads it and the
		// unfinished operations on the payment.
		var busy *payment.Operation
		if existing, busy, err = claimed(ctx, tx, op); err != nil {
			return err
		}
		if existing != nil {
			return errExisting
		}
		if fnErr = fn(p, busy); fnErr != nil {
			return fnErr
		}
		if _, err := insertOperation(ctx, tx, op); err != nil {
			return err
		}
		return nil
	})
	switch {
	case errors.Is(err, errExisting):
		return existing, nil
	case fnErr != nil:
		return nil, fnErr
	case errors.Is(err, payment.ErrNotFound):
		return nil, payment.ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("store: claim %s: %w", op.Method, err)
	}
	return nil, nil
}

// claimed reads the operation (op.Method, op.Key), if it exists, and an
// unfinished capture, void or refund of op's payment under another key, if
// any.
func claimed(ctx context.Context, tx *sqldb.Tx, op *payment.Operation) (existing, busy *payment.Operation, err error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+operationColumns+` FROM operations
		WHERE (method = ? AND idem_key = ?) OR (payment_id = ? AND done = 0 AND method <> ?)`,
		op.Method, op.Key, op.PaymentID, payment.MethodAuthorize)
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		o, err := scanOperation(rows)
		if err != nil {
			return nil, nil, err
		}
		if o.Method == op.Method && o.Key == op.Key {
			existing = o
		} else {
			busy = o
		}
	}
	return existing, busy, rows.Err()
}

// Operation implements payment.Store.
func (s *Store) Operation(ctx context.Context, method, key string) (*payment.Operation, error) {
	op, err := scanOperation(s.db.QueryRowContext(ctx, `SELECT `+operationColumns+` FROM operations
		WHERE method = ? AND idem_key = ?`, method, key))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, payment.ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("store: read operation: %w", err)
	}
	return op, nil
}

// TakeOver implements payment.Store.
func (s *Store) TakeOver(ctx context.Context, method, key string, epoch int64, leaseUntil time.Time) (*payment.Operation, error) {
	var out *payment.Operation
	err := s.db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE operations SET lease_until = ?, epoch = epoch + 1
			WHERE method = ? AND idem_key = ? AND done = 0 AND epoch = ?`, leaseUntil.UTC(), method, key, epoch)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errors.Join(err, payment.ErrLeaseLost)
		}
		out, err = readOperation(ctx, tx, method, key, false)
		return err
	})
	switch {
	case errors.Is(err, payment.ErrLeaseLost):
		return nil, payment.ErrLeaseLost
	case err != nil:
		return nil, fmt.Errorf("store: take over %s: %w", method, err)
	}
	return out, nil
}

// errDone ends a finish whose operation is finished already.
var errDone = errors.New("operation finished")

// FinishOperation implements payment.Store.
func (s *Store) FinishOperation(ctx context.Context, paymentID, method, key string, fn func(p *payment.Payment, op *payment.Operation) (payment.Finish, error)) (*payment.Operation, error) {
	var (
		out   *payment.Operation
		fnErr error
	)
	err := s.db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		out, fnErr = nil, nil
		// The payment first, as every read-modify-write locks it first.
		p, err := lockPayment(ctx, tx, paymentID)
		if err != nil {
			return err
		}
		op, err := readOperation(ctx, tx, method, key, true)
		if err != nil {
			return err
		}
		if op.PaymentID != paymentID {
			return payment.ErrNotFound
		}
		if op.Result != nil {
			out = op
			return errDone
		}
		fin, err := fn(p, op)
		if err != nil {
			fnErr = err
			return err
		}
		result, err := json.Marshal(fin.Result)
		if err != nil {
			return err
		}
		if err := updatePayment(ctx, tx, p); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE operations SET done = 1, result = ? WHERE method = ? AND idem_key = ?`,
			string(result), method, key); err != nil {
			return err
		}
		if err := insertPostings(ctx, tx, fin.Postings); err != nil {
			return err
		}
		if err := appendEvents(ctx, tx, fin.Events); err != nil {
			return err
		}
		res := fin.Result
		op.Result = &res
		out = op
		return nil
	})
	switch {
	case errors.Is(err, errDone):
		return out, payment.ErrLeaseLost
	case fnErr != nil:
		return nil, fnErr
	case errors.Is(err, payment.ErrNotFound):
		return nil, payment.ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("store: finish %s: %w", method, err)
	}
	return out, nil
}

// insertPostings inserts a journal transaction's postings in one
// statement.
func insertPostings(ctx context.Context, tx *sqldb.Tx, postings []payment.Posting) error {
	if len(postings) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO ledger_postings (txn_id, line, payment_id, account, currency, amount, create_time) VALUES `)
	args := make([]any, 0, 7*len(postings))
	for i, e := range postings {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?)")
		args = append(args, e.TxnID, e.Line, e.PaymentID, e.Account, e.Currency, e.Amount, e.Time.UTC())
	}
	_, err := tx.ExecContext(ctx, b.String(), args...)
	return err
}

// ReleaseOperation implements payment.Store.
func (s *Store) ReleaseOperation(ctx context.Context, method, key string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM operations WHERE method = ? AND idem_key = ? AND done = 0`, method, key); err != nil {
		return fmt.Errorf("store: release %s: %w", method, err)
	}
	return nil
}

// ExpireLease implements payment.Store.
func (s *Store) ExpireLease(ctx context.Context, method, key string, at time.Time) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE operations SET lease_until = ? WHERE method = ? AND idem_key = ? AND done = 0`,
		at.UTC(), method, key); err != nil {
		return fmt.Errorf("store: expire lease of %s: %w", method, err)
	}
	return nil
}

// StaleOperations implements payment.Store.
func (s *Store) StaleOperations(ctx context.Context, before, at time.Time, limit int) ([]*payment.Operation, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+operationColumns+` FROM operations
		WHERE done = 0 AND create_time < ? AND lease_until <= ? ORDER BY create_time LIMIT ?`, before.UTC(), at.UTC(), limit)
	if err != nil {
		return nil, fmt.Errorf("store: stale operations: %w", err)
	}
	defer func() { _ = rows.Close() }()
	out := []*payment.Operation{}
	for rows.Next() {
		op, err := scanOperation(rows)
		if err != nil {
			return nil, fmt.Errorf("store: stale operations: %w", err)
		}
		out = append(out, op)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: stale operations: %w", err)
	}
	return out, nil
}

// DeleteFinishedOperations implements payment.Store.
func (s *Store) DeleteFinishedOperations(ctx context.Context, before time.Time, limit int) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM operations WHERE (method, idem_key) IN (
		SELECT method, idem_key FROM operations WHERE done = 1 AND create_time < ? ORDER BY create_time LIMIT ?)`,
		before.UTC(), limit)
	if err != nil {
		return 0, fmt.Errorf("store: prune operations: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: prune operations: %w", err)
	}
	return n, nil
}
