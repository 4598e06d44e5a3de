// Package processor simulates an external card processor for the payment
// service. It keeps its own records (tables processor_charges,
// processor_refunds and processor_attempts in the payment database, created
// by the payment store's migrations) and writes them in its own
// transactions, never inside the payment service's, exactly as a remote
// system would: it survives restarts, and reconciliation can ask it the
// truth (Lookup).
//
// Every operation is idempotent by the reference it is given, so a retry
// never charges twice. Well-known test cards:
//
//	4242424242424242  always succeeds
//	4000000000000002  declined, "generic_decline"
//	4000000000009995  declined, "insufficient_funds"
//	4000000000000259  the authorization is recorded, then the call times
//	                  out (payment.ErrProcessorTimeout); a repeat under the
//	                  same reference returns the authorization
//	4000000000000341  each operation on the charge fails transiently
//	                  (payment.ErrProcessorUnavailable) on its first 2
//	                  attempts per reference, then succeeds
//
// Any other number succeeds (the payment service refuses malformed numbers
// before calling). Only the brand and last four digits are stored.
package processor

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/bazaarhq/bazaar/internal/payment"
	"github.com/bazaarhq/bazaar/internal/platform/sqldb"
)

// The well-known test cards.
const (
	CardSuccess           = "4242424242424242"
	CardDeclined          = "4000000000000002"
	CardInsufficientFunds = "4000000000009995"
	CardTimeout           = "4000000000000259"
	CardTransient         = "4000000000000341"
)

// The decline codes.
const (
	DeclineGeneric           = "generic_decline"
	DeclineInsufficientFunds = "insufficient_funds"
)

// transientFailures is how many attempts of each operation fail for
// CardTransient.
const transientFailures = 2

// Config configures the simulation.
type Config struct {
	// Latency is added to every call. Default 0.
	Latency time.Duration
	// Jitter adds up to this much more, at random. Default 0.
	Jitter time.Duration
	// Clock stamps the records. Default time.Now.
	Clock func() time.Time
}

// Processor implements payment.Processor. It is safe for concurrent use.
type Processor struct {
	db  *sqldb.DB
	cfg Config
}

var _ payment.Processor = (*Processor)(nil)

// New returns a processor keeping its records in db (the payment store's
// database: store.Store.DB()).
func New(db *sqldb.DB, cfg Config) (*Processor, error) {
	if db == nil {
		return nil, errors.New("processor: nil database")
	}
	if cfg.Latency < 0 || cfg.Jitter < 0 {
		return nil, fmt.Errorf("processor: invalid config: negative latency or jitter")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &Processor{db: db, cfg: cfg}, nil
}

func (p *Processor) now() time.Time { return p.cfg.Clock().UTC().Truncate(time.Microsecond) }

// delay simulates the network and the processor's work.
func (p *Processor) delay(ctx context.Context) error {
	d := p.cfg.Latency
	if p.cfg.Jitter > 0 {
		d += rand.N(p.cfg.Jitter) //nolint:gosec // simulated jitter, not a secret
	}
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// chargeID is the processor's id of the charge under ref.
func chargeID(ref string) string {
	sum := sha256.Sum256([]byte(ref))
	return "ch_" + hex.EncodeToString(sum[:12])
}

const chargeColumns = `ref, charge_id, status, decline_code, currency, amount, captured, refunded, card_last4`

func scanCharge(row interface{ Scan(...any) error }) (payment.Charge, string, error) {
	var (
		c      payment.Charge
		status string
		last4  string
	)
	err := row.Scan(&c.Ref, &c.ID, &status, &c.DeclineCode, &c.Amount.Currency, &c.Amount.Nanos, &c.Captured.Nanos,
		&c.Refunded.Nanos, &last4)
	c.Status = payment.ChargeStatus(status)
	c.Captured.Currency, c.Refunded.Currency = c.Amount.Currency, c.Amount.Currency
	return c, last4, err
}

// failTransiently counts an attempt of op on ref and reports whether it is
// one of the first transientFailures, which fail for CardTransient.
func (p *Processor) failTransiently(ctx context.Context, tx *sqldb.Tx, op, ref string) (bool, error) {
	key := op + ":" + ref
	if _, err := tx.ExecContext(ctx, `INSERT INTO processor_attempts (op_key, attempts) VALUES (?, 1)
		ON CONFLICT (op_key) DO UPDATE SET attempts = processor_attempts.attempts + 1`, key); err != nil {
		return false, err
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT attempts FROM processor_attempts WHERE op_key = ?`, key).Scan(&n); err != nil {
		return false, err
	}
	return n <= transientFailures, nil
}

// errTransient rolls a transaction back after recording nothing but the
// attempt; see run.
var errTransient = errors.New("transient")

// run runs fn in a transaction of the processor's own. fn returning
// errTransient commits (the attempt counter) and answers
// payment.ErrProcessorUnavailable.
func (p *Processor) run(ctx context.Context, fn func(ctx context.Context, tx *sqldb.Tx) error) error {
	if err := p.delay(ctx); err != nil {
		return fmt.Errorf("%w: %w", payment.ErrProcessorTimeout, err)
	}
	var transient bool
	err := p.db.InTx(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		transient = false
		err := fn(ctx, tx)
		if errors.Is(err, errTransient) {
			transient = true
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	if transient {
		return payment.ErrProcessorUnavailable
	}
	return nil
}

// Authorize implements payment.Processor.
func (p *Processor) Authorize(ctx context.Context, ref string, card payment.CardNumber, amount payment.Money) (payment.Charge, error) {
	var (
		out     payment.Charge
		timeout bool
	)
	err := p.run(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		timeout = false
		c, _, err := scanCharge(tx.QueryRowContext(ctx, `SELECT `+chargeColumns+` FROM processor_charges WHERE ref = ?`, ref))
		if err == nil {
			out = c // a repeat: the first outcome
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if card.Reveal() == CardTransient {
			if fail, err := p.failTransiently(ctx, tx, "authorize", ref); err != nil || fail {
				return errors.Join(err, errTransient)
			}
		}
		c = payment.Charge{Ref: ref, ID: chargeID(ref), Status: payment.ChargeAuthorized, Amount: amount,
			Captured: payment.Money{Currency: amount.Currency}, Refunded: payment.Money{Currency: amount.Currency}}
		switch card.Reveal() {
		case CardDeclined:
			c.Status, c.DeclineCode = payment.ChargeDeclined, DeclineGeneric
		case CardInsufficientFunds:
			c.Status, c.DeclineCode = payment.ChargeDeclined, DeclineInsufficientFunds
		case CardTimeout:
			timeout = true
		}
		now := p.now()
		_, err = tx.ExecContext(ctx, `INSERT INTO processor_charges (ref, charge_id, status, decline_code, currency, amount,
			captured, refunded, card_brand, card_last4, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?, ?)`,
			ref, c.ID, string(c.Status), c.DeclineCode, amount.Currency, amount.Nanos, card.Brand(), card.Last4(), now, now)
		out = c
		return err
	})
	switch {
	case err != nil:
		return payment.Charge{}, err
	case timeout:
		return payment.Charge{}, payment.ErrProcessorTimeout
	case out.Status == payment.ChargeDeclined:
		return out, &payment.DeclineError{Code: out.DeclineCode}
	}
	return out, nil
}

// update reads the charge ref for update, lets fn change it and writes it.
func (p *Processor) update(ctx context.Context, op, ref string, fn func(ctx context.Context, tx *sqldb.Tx, c *payment.Charge) error) (payment.Charge, error) {
	var out payment.Charge
	err := p.run(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		lock := ""
		if tx.Dialect() == sqldb.Postgres {
			lock = " FOR UPDATE"
		}
		c, last4, err := scanCharge(tx.QueryRowContext(ctx, `SELECT `+chargeColumns+` FROM processor_charges WHERE ref = ?`+lock, ref))
		switch {
		case errors.Is(err, sql.ErrNoRows) && op == "void":
			// Voiding an unknown reference records it as voided, so that a
			// late authorization under it cannot succeed.
			now := p.now()
			out = payment.Charge{Ref: ref, ID: chargeID(ref), Status: payment.ChargeVoided}
			_, err := tx.ExecContext(ctx, `INSERT INTO processor_charges (ref, charge_id, status, decline_code, currency,
				amount, captured, refunded, card_brand, card_last4, create_time, update_time)
				VALUES (?, ?, 'voided', '', '', 0, 0, 0, '', '', ?, ?)`, ref, out.ID, now, now)
			return err
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("%w: no charge %s", payment.ErrProcessorRejected, ref)
		case err != nil:
			return err
		}
		if last4 == "0341" { // CardTransient
			if fail, err := p.failTransiently(ctx, tx, op, ref); err != nil || fail {
				return errors.Join(err, errTransient)
			}
		}
		if err := fn(ctx, tx, &c); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE processor_charges SET status = ?, captured = ?, refunded = ?, update_time = ?
			WHERE ref = ?`, string(c.Status), c.Captured.Nanos, c.Refunded.Nanos, p.now(), ref); err != nil {
			return err
		}
		out = c
		return nil
	})
	if err != nil {
		return payment.Charge{}, err
	}
	return out, nil
}

// Capture implements payment.Processor.
func (p *Processor) Capture(ctx context.Context, ref string, amount payment.Money) (payment.Charge, error) {
	return p.update(ctx, "capture", ref, func(_ context.Context, _ *sqldb.Tx, c *payment.Charge) error {
		switch {
		case c.Status == payment.ChargeCaptured && c.Captured == amount:
			return nil // a repeat
		case c.Status != payment.ChargeAuthorized:
			return fmt.Errorf("%w: charge %s is %s", payment.ErrProcessorRejected, ref, c.Status)
		case amount.Currency != c.Amount.Currency || amount.Nanos > c.Amount.Nanos:
			return fmt.Errorf("%w: capture of %v exceeds the authorized %v", payment.ErrProcessorRejected, amount, c.Amount)
		}
		c.Status, c.Captured = payment.ChargeCaptured, amount
		return nil
	})
}

// Void implements payment.Processor.
func (p *Processor) Void(ctx context.Context, ref string) (payment.Charge, error) {
	return p.update(ctx, "void", ref, func(_ context.Context, _ *sqldb.Tx, c *payment.Charge) error {
		switch c.Status {
		case payment.ChargeAuthorized:
			c.Status = payment.ChargeVoided
		case payment.ChargeVoided, payment.ChargeDeclined:
		case payment.ChargeCaptured:
			return fmt.Errorf("%w: charge %s is captured", payment.ErrProcessorRejected, ref)
		}
		return nil
	})
}

// Refund implements payment.Processor.
func (p *Processor) Refund(ctx context.Context, ref, refundRef string, amount payment.Money) (payment.Charge, error) {
	return p.update(ctx, "refund:"+refundRef, ref, func(ctx context.Context, tx *sqldb.Tx, c *payment.Charge) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM processor_refunds WHERE refund_ref = ?`, refundRef).Scan(&n); err != nil {
			return err
		}
		switch {
		case n > 0:
			return nil // a repeat
		case c.Status != payment.ChargeCaptured:
			return fmt.Errorf("%w: charge %s is %s", payment.ErrProcessorRejected, ref, c.Status)
		case amount.Currency != c.Amount.Currency || c.Refunded.Nanos+amount.Nanos > c.Captured.Nanos:
			return fmt.Errorf("%w: refund of %v exceeds what is left of charge %s", payment.ErrProcessorRejected, amount, ref)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO processor_refunds (refund_ref, ref, amount, create_time) VALUES (?, ?, ?, ?)`,
			refundRef, ref, amount.Nanos, p.now()); err != nil {
			return err
		}
		c.Refunded.Nanos += amount.Nanos
		return nil
	})
}

// Lookup implements payment.Processor.
func (p *Processor) Lookup(ctx context.Context, ref string) (payment.Charge, bool, error) {
	if err := p.delay(ctx); err != nil {
		return payment.Charge{}, false, fmt.Errorf("%w: %w", payment.ErrProcessorTimeout, err)
	}
	c, _, err := scanCharge(p.db.QueryRowContext(ctx, `SELECT `+chargeColumns+` FROM processor_charges WHERE ref = ?`, ref))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return payment.Charge{}, false, nil
	case err != nil:
		return payment.Charge{}, false, err
	}
	return c, true, nil
}
