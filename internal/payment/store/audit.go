package store

import (
	"context"
	"fmt"

	"github.com/bazaarhq/bazaar/internal/payment"
)

// Audit implements payment.Store. It reads the whole ledger, the payments
// and the processor's records (in the same database, so the comparison
// needs no call to the processor), in four queries.
func (s *Store) Audit(ctx context.Context) (payment.Audit, error) {
	a := payment.Audit{Imbalance: map[string]int64{}, Orders: map[string]payment.OrderAudit{}}
	if err := s.auditLedger(ctx, &a); err != nil {
		return payment.Audit{}, fmt.Errorf("store: audit ledger: %w", err)
	}
	ledger, err := s.ledgerByPayment(ctx)
	if err != nil {
		return payment.Audit{}, fmt.Errorf("store: audit ledger: %w", err)
	}
	if err := s.auditPayments(ctx, &a, ledger); err != nil {
		return payment.Audit{}, fmt.Errorf("store: audit payments: %w", err)
	}
	if err := s.auditOrphanCharges(ctx, &a); err != nil {
		return payment.Audit{}, fmt.Errorf("store: audit processor: %w", err)
	}
	return a, nil
}

// auditLedger finds the journal transactions that do not balance. Each
// transaction's sum is small, so summing per transaction first cannot
// overflow where a running total over the whole ledger could.
func (s *Store) auditLedger(ctx context.Context, a *payment.Audit) error {
	rows, err := s.db.QueryContext(ctx, `SELECT txn_id, currency, SUM(amount) FROM ledger_postings
		GROUP BY txn_id, currency HAVING SUM(amount) <> 0 ORDER BY txn_id`)
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	seen := map[string]bool{}
	for rows.Next() {
		var (
			txn, currency string
			sum           int64
		)
		if err := rows.Scan(&txn, &currency, &sum); err != nil {
			return err
		}
		a.Imbalance[currency] += sum
		if !seen[txn] {
			seen[txn] = true
			a.UnbalancedTransactions = append(a.UnbalancedTransactions, txn)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(a.Imbalance) == 0 {
		a.Imbalance = nil
	}
	return nil
}

// ledgerByPayment returns each payment's balance per ledger account.
func (s *Store) ledgerByPayment(ctx context.Context) (map[string]map[string]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT payment_id, account, SUM(amount) FROM ledger_postings
		GROUP BY payment_id, account`)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := map[string]map[string]int64{}
	for rows.Next() {
		var (
			id, account string
			sum         int64
		)
		if err := rows.Scan(&id, &account, &sum); err != nil {
			return nil, err
		}
		if out[id] == nil {
			out[id] = map[string]int64{}
		}
		out[id][account] = sum
	}
	return out, rows.Err()
}

// ledgerMismatch describes how a payment's ledger balances disagree with
// what it captured and refunded (processor_clearing holds captured minus
// refunded, merchant owes as much, the customer's account nets to zero),
// or returns "".
func ledgerMismatch(balances map[string]int64, captured, refunded int64) string {
	want := map[string]int64{}
	if net := captured - refunded; net != 0 {
		want[payment.AccountProcessorClearing] = net
		want[payment.AccountMerchant] = -net
	}
	for account, sum := range balances {
		if sum != want[account] {
			return fmt.Sprintf("ledger account %s holds %d, want %d (captured %d, refunded %d)",
				account, sum, want[account], captured, refunded)
		}
	}
	for account, w := range want {
		if _, ok := balances[account]; !ok {
			return fmt.Sprintf("ledger account %s holds nothing, want %d", account, w)
		}
	}
	return ""
}

// auditPayments totals each order and compares every payment with its
// ledger postings and its processor charge.
func (s *Store) auditPayments(ctx context.Context, a *payment.Audit, ledger map[string]map[string]int64) error {
	rows, err := s.db.QueryContext(ctx, `SELECT p.id, p.order_id, p.currency, p.amount, p.captured, p.refunded, p.status,
		c.status, c.captured, c.refunded
		FROM payments p LEFT JOIN processor_charges c ON c.ref = p.id ORDER BY p.id`)
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var (
			id, order, currency        string
			amount, captured, refunded int64
			status                     payment.Status
			chStatus                   *string
			chCaptured, chRefunded     *int64
		)
		if err := rows.Scan(&id, &order, &currency, &amount, &captured, &refunded, &status, &chStatus, &chCaptured,
			&chRefunded); err != nil {
			return err
		}
		o := a.Orders[order]
		if o.Statuses == nil {
			o.Statuses = map[string]payment.Status{}
			o.Currency = currency
		}
		o.Statuses[id] = status
		o.Captured += captured
		o.Refunded += refunded
		if captured > 0 {
			o.Captures++
		}
		a.Orders[order] = o

		if problem := ledgerMismatch(ledger[id], captured, refunded); problem != "" {
			a.LedgerMismatches = append(a.LedgerMismatches, payment.Mismatch{PaymentID: id, Problem: problem})
		}
		if problem := processorMismatch(status, captured, refunded, chStatus, chCaptured, chRefunded); problem != "" {
			a.ProcessorMismatches = append(a.ProcessorMismatches, payment.Mismatch{PaymentID: id, Problem: problem})
		}
	}
	return rows.Err()
}

// processorMismatch describes how a payment disagrees with the processor's
// charge (nil columns: the processor has none), or returns "".
func processorMismatch(status payment.Status, captured, refunded int64, chStatus *string, chCaptured, chRefunded *int64) string {
	if status == payment.StatusPending {
		return "" // unknown by definition until reconciled
	}
	if chStatus == nil {
		if status == payment.StatusDeclined {
			return "" // declined before the processor recorded anything
		}
		return "payment is " + status.String() + " but the processor has no charge"
	}
	cs := payment.ChargeStatus(*chStatus)
	want := map[payment.Status]payment.ChargeStatus{
		payment.StatusAuthorized: payment.ChargeAuthorized, payment.StatusDeclined: payment.ChargeDeclined,
		payment.StatusCaptured: payment.ChargeCaptured, payment.StatusPartiallyRefunded: payment.ChargeCaptured,
		payment.StatusRefunded: payment.ChargeCaptured, payment.StatusVoided: payment.ChargeVoided,
	}[status]
	switch {
	case status == payment.StatusDeclined && cs == payment.ChargeVoided:
		// Reconciled: the processor never authorized, and its reference was
		// voided.
	case cs != want:
		return fmt.Sprintf("payment is %s but the processor's charge is %s", status, cs)
	case *chCaptured != captured:
		return fmt.Sprintf("payment captured %d, the processor %d", captured, *chCaptured)
	case *chRefunded != refunded:
		return fmt.Sprintf("payment refunded %d, the processor %d", refunded, *chRefunded)
	}
	return ""
}

// auditOrphanCharges finds processor charges that hold money (authorized
// or captured) without a payment.
func (s *Store) auditOrphanCharges(ctx context.Context, a *payment.Audit) error {
	rows, err := s.db.QueryContext(ctx, `SELECT c.ref, c.status FROM processor_charges c
		WHERE c.status IN ('authorized', 'captured') AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.id = c.ref)`)
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var ref, status string
		if err := rows.Scan(&ref, &status); err != nil {
			return err
		}
		a.ProcessorMismatches = append(a.ProcessorMismatches, payment.Mismatch{PaymentID: ref,
			Problem: "the processor holds a " + status + " charge with no payment"})
	}
	return rows.Err()
}
