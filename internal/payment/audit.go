package payment

import (
	"context"
	"fmt"
)

// Audit is a consistency check of the payment service's money, for the
// cross-service invariant checker: every field that is not empty or zero
// describes a broken invariant, except Orders, which reports per order.
type Audit struct {
	// Imbalance is, per currency, the sum of the postings of the journal
	// transactions that do not balance (billionths): empty when the ledger
	// balances.
	Imbalance map[string]int64
	// UnbalancedTransactions are the ids of those transactions.
	UnbalancedTransactions []string
	// Orders are the payments' totals per order id.
	Orders map[string]OrderAudit
	// LedgerMismatches are payments whose ledger postings disagree with
	// their captured and refunded amounts.
	LedgerMismatches []Mismatch
	// ProcessorMismatches are payments whose state disagrees with the
	// processor's record of them, and processor charges with no payment.
	ProcessorMismatches []Mismatch
}

// OrderAudit is the money of one order's payments.
type OrderAudit struct {
	Currency string
	// Captured and Refunded are sums over the order's payments.
	Captured, Refunded int64
	// Captures counts the order's captured payments.
	Captures int
	// Statuses of the order's payments, by payment id.
	Statuses map[string]Status
}

// Mismatch is one disagreement found by Audit.
type Mismatch struct {
	PaymentID string
	Problem   string
}

// OK reports whether the audit found no broken invariant: a balanced
// ledger, ledger and processor agreeing with the payments, and at most one
// capture per order with refunds within captures.
func (a Audit) OK() bool {
	if len(a.Imbalance) > 0 || len(a.UnbalancedTransactions) > 0 || len(a.LedgerMismatches) > 0 ||
		len(a.ProcessorMismatches) > 0 {
		return false
	}
	for _, o := range a.Orders {
		if o.Captures > 1 || o.Refunded > o.Captured {
			return false
		}
	}
	return true
}

// String summarises the problems found.
func (a Audit) String() string {
	if a.OK() {
		return "audit: ok"
	}
	return fmt.Sprintf("audit: imbalance %v, unbalanced transactions %v, ledger mismatches %v, processor mismatches %v",
		a.Imbalance, a.UnbalancedTransactions, a.LedgerMismatches, a.ProcessorMismatches)
}

// Audit checks that the ledger balances per currency, that each payment's
// postings match its captured and refunded amounts, and that the payments
// match the processor's records; it reports each order's totals. It reads
// everything: run it from a checker, not per request.
func (s *Service) Audit(ctx context.Context) (Audit, error) {
	a, err := s.store.Audit(ctx)
	if err != nil {
		return Audit{}, storeError(err, "auditing payments")
	}
	return a, nil
}
