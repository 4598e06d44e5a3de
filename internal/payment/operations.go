package payment

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bazaarhq/bazaar/internal/platform/errs"
)

// Capture takes the money of the AUTHORIZED payment paymentID: amount, or
// all of it when amount is nil. A payment is captured once. It is
// idempotent by key.
//
// Errors: INVALID_ARGUMENT REQUEST_INVALID, IDEMPOTENCY_KEY_REUSED;
// NOT_FOUND PAYMENT_NOT_FOUND; FAILED_PRECONDITION PAYMENT_STATE (not
// AUTHORIZED, a second capture included), AMOUNT_EXCEEDS_AUTHORIZED,
// CURRENCY_MISMATCH, PROCESSOR_REJECTED; ABORTED PAYMENT_BUSY; UNAVAILABLE
// PROCESSOR_UNAVAILABLE, PAYMENT_PENDING, REQUEST_IN_PROGRESS.
func (s *Service) Capture(ctx context.Context, key, paymentID string, amount *Money) (*Payment, error) {
	if err := checkOperation(key, paymentID, amount); err != nil {
		return nil, err
	}
	return s.operate(ctx, MethodCapture, key, paymentID, fingerprint(MethodCapture, paymentID, optional(amount)),
		func(p *Payment, op *Operation) error {
			if p.Status != StatusAuthorized {
				return errPaymentState(p, "capture")
			}
			op.Amount = p.Amount
			if amount != nil {
				if amount.Currency != p.Amount.Currency {
					return errAmount(ReasonCurrencyMismatch, p.ID, "amount must be in "+p.Amount.Currency)
				}
				if amount.Nanos > p.Amount.Nanos {
					return errAmount(ReasonAmountExceedsAuthorized, p.ID,
						fmt.Sprintf("amount %v exceeds the authorized %v", *amount, p.Amount))
				}
				op.Amount = *amount
			}
			return nil
		})
}

// Void releases the authorization of the AUTHORIZED payment paymentID.
// Voiding a VOIDED or DECLINED payment changes nothing and returns it (that
// answer is recorded under key too). It is idempotent by key.
//
// Errors: INVALID_ARGUMENT REQUEST_INVALID, IDEMPOTENCY_KEY_REUSED;
// NOT_FOUND PAYMENT_NOT_FOUND; FAILED_PRECONDITION PAYMENT_STATE (captured:
// refund it; pending: retry its Authorize first), PROCESSOR_REJECTED;
// ABORTED PAYMENT_BUSY; UNAVAILABLE PROCESSOR_UNAVAILABLE, PAYMENT_PENDING,
// REQUEST_IN_PROGRESS.
func (s *Service) Void(ctx context.Context, key, paymentID string) (*Payment, error) {
	if err := checkOperation(key, paymentID, nil); err != nil {
		return nil, err
	}
	return s.operate(ctx, MethodVoid, key, paymentID, fingerprint(MethodVoid, paymentID),
		func(p *Payment, op *Operation) error {
			switch p.Status {
			case StatusAuthorized:
				return nil
			case StatusVoided, StatusDeclined:
				// Nothing to do: the answer is recorded at once.
				op.Result = &Result{Payment: p.Clone()}
				return nil
			case StatusCaptured, StatusPartiallyRefunded, StatusRefunded:
				e := errPaymentState(p, "void")
				e.Message += ": refund it instead"
				return e
			case StatusPending, StatusUnspecified:
			}
			return errPaymentState(p, "void")
		})
}

// Refund gives back amount of the captured money of payment paymentID, or
// all that is left when amount is nil. Refunds never exceed the captured
// amount in total. It is idempotent by key.
//
// Errors: INVALID_ARGUMENT REQUEST_INVALID, IDEMPOTENCY_KEY_REUSED;
// NOT_FOUND PAYMENT_NOT_FOUND; FAILED_PRECONDITION PAYMENT_STATE (nothing
// captured: void it instead), REFUND_EXCEEDS_CAPTURE (more than is left,
// or a payment refunded in full), CURRENCY_MISMATCH,
// PROCESSOR_REJECTED; ABORTED PAYMENT_BUSY; UNAVAILABLE
// PROCESSOR_UNAVAILABLE, PAYMENT_PENDING, REQUEST_IN_PROGRESS.
func (s *Service) Refund(ctx context.Context, key, paymentID string, amount *Money) (*Payment, error) {
	if err := checkOperation(key, paymentID, amount); err != nil {
		return nil, err
	}
	return s.operate(ctx, MethodRefund, key, paymentID, fingerprint(MethodRefund, paymentID, optional(amount)),
		func(p *Payment, op *Operation) error {
			left := p.CapturedAmount.Nanos - p.RefundedAmount.Nanos
			op.Amount = Money{Currency: p.Amount.Currency, Nanos: left}
			switch p.Status {
			case StatusCaptured, StatusPartiallyRefunded:
			case StatusRefunded:
				return errAmount(ReasonRefundExceedsCapture, p.ID, "the payment is refunded in full: nothing is left to refund")
			case StatusUnspecified, StatusPending, StatusAuthorized, StatusDeclined, StatusVoided:
				return errPaymentState(p, "refund")
			}
			if amount != nil {
				if amount.Currency != p.Amount.Currency {
					return errAmount(ReasonCurrencyMismatch, p.ID, "amount must be in "+p.Amount.Currency)
				}
				if amount.Nanos > left {
					return errAmount(ReasonRefundExceedsCapture, p.ID,
						fmt.Sprintf("amount %v exceeds the %v captured and not yet refunded", *amount, op.Amount))
				}
				op.Amount = *amount
			}
			return nil
		})
}

func checkOperation(key, paymentID string, amount *Money) error {
	if err := checkID("idempotency_key", key); err != nil {
		return err
	}
	if err := checkID("payment_id", paymentID); err != nil {
		return err
	}
	if amount != nil {
		return checkAmount("amount", *amount)
	}
	return nil
}

// optional is an optional amount as fingerprinted: its value, or "all".
func optional(m *Money) any {
	if m == nil {
		return "all"
	}
	return *m
}

// operate runs a capture, void or refund: claim the key (check's
// preconditions run under the payment's lock; check may also finish the
// operation at once by setting its Result), call the processor, record its
// answer.
func (s *Service) operate(ctx context.Context, method, key, paymentID string, fp []byte,
	check func(p *Payment, op *Operation) error,
) (*Payment, error) {
	now := s.now()
	op := &Operation{
		Method: method, Key: key, Fingerprint: fp, PaymentID: paymentID,
		LeaseUntil: now.Add(s.cfg.Lease), CreateTime: now,
	}
	existing, err := s.store.ClaimOperation(ctx, op, func(p *Payment, busy *Operation) error {
		op.Result = nil
		if busy != nil {
			return errPaymentBusy(p.ID)
		}
		return check(p, op)
	})
	var de *errs.Error
	switch {
	case err == nil && existing == nil && op.Result != nil:
		return replay(op) // finished at once
	case errors.Is(err, ErrNotFound):
		return nil, errPaymentNotFound(paymentID)
	case errors.As(err, &de):
		return nil, err
	case err != nil:
		return nil, storeError(err, "claiming %s", method)
	case existing != nil:
		if op, err = s.join(ctx, existing, fp); err != nil {
			return nil, err
		}
		if op.Result != nil {
			return replay(op)
		}
	}
	return s.driveOperation(ctx, op)
}

// driveOperation calls the processor for the owned, unfinished operation
// op (idempotent there by reference, so a retry or a take-over repeats
// nothing) and records its answer.
func (s *Service) driveOperation(ctx context.Context, op *Operation) (*Payment, error) {
	ref := op.PaymentID
	charge, err := s.callProcessor(ctx, func(ctx context.Context) (Charge, error) {
		switch op.Method {
		case MethodCapture:
			return s.proc.Capture(ctx, ref, op.Amount)
		case MethodVoid:
			return s.proc.Void(ctx, ref)
		}
		return s.proc.Refund(ctx, ref, refundRef(op.PaymentID, op.Key), op.Amount)
	})
	wctx, cancel := bookkeeping(ctx)
	defer cancel()
	switch {
	case errors.Is(err, ErrProcessorUnavailable), errors.Is(err, ErrProcessorRejected):
		// Nothing happened: free the key and the payment.
		if rerr := s.store.ReleaseOperation(wctx, op.Method, op.Key); rerr != nil {
			return nil, storeError(rerr, "releasing %s", op.Method)
		}
		if errors.Is(err, ErrProcessorRejected) {
			return nil, errs.Wrap(err, errs.FailedPrecondition, ReasonProcessorRejected,
				"the processor refused to "+op.Method+" the payment")
		}
		return nil, errProcessorUnavailable(s.cfg.RetryAfter)
	case err != nil:
		if eerr := s.store.ExpireLease(wctx, op.Method, op.Key, s.now()); eerr != nil {
			return nil, storeError(eerr, "releasing %s", op.Method)
		}
		return nil, errPending(op.PaymentID, s.cfg.RetryAfter)
	}
	return s.finishOperation(wctx, op, charge)
}

// finishOperation records a capture, void or refund the processor
// confirmed: the payment's new state, the ledger postings and the event.
func (s *Service) finishOperation(ctx context.Context, op *Operation, charge Charge) (*Payment, error) {
	now := s.now()
	done, err := s.store.FinishOperation(ctx, op.PaymentID, op.Method, op.Key, func(p *Payment, op *Operation) (Finish, error) {
		p.UpdateTime = now
		var (
			topic    string
			postings []Posting
			moved    *Money
		)
		switch op.Method {
		case MethodCapture:
			p.Status = StatusCaptured
			p.CapturedAmount = op.Amount
			topic, moved = TopicCaptured, &op.Amount
			postings = capturePostings(p, op, now)
		case MethodVoid:
			p.Status = StatusVoided
			topic = TopicVoided
		case MethodRefund:
			p.RefundedAmount.Nanos += op.Amount.Nanos
			if p.RefundedAmount.Nanos > p.CapturedAmount.Nanos {
				return Finish{}, errs.New(errs.Internal, "", "refunds of payment "+p.ID+" exceed its capture")
			}
			p.Status = StatusPartiallyRefunded
			if p.RefundedAmount.Nanos == p.CapturedAmount.Nanos {
				p.Status = StatusRefunded
			}
			topic, moved = TopicRefunded, &op.Amount
			postings = refundPostings(p, op, now)
		}
		return Finish{Result: Result{Payment: p.Clone()}, Postings: postings, Events: []Event{newEvent(topic, p, moved)}}, nil
	})
	switch {
	case err == nil, errors.Is(err, ErrLeaseLost):
		return replay(done)
	case errors.Is(err, ErrNotFound):
		return nil, errs.New(errs.Internal, "", op.Method+" "+op.Key+" vanished")
	}
	var de *errs.Error
	if errors.As(err, &de) {
		return nil, err
	}
	return nil, storeError(err, "recording %s", op.Method)
}

// The ledger accounts.
const (
	AccountMerchant          = "merchant"
	AccountProcessorClearing = "processor_clearing"
)

// CustomerAccount is the ledger account of a customer.
func CustomerAccount(customerID string) string { return "customer:" + customerID }

// capturePostings: the card was charged (processor_clearing +X,
// customer -X) and the charge pays the merchant (customer +X, merchant
// -X).
func capturePostings(p *Payment, op *Operation, at time.Time) []Posting {
	return journal(p, "capture/"+op.Key, at, []string{AccountProcessorClearing, CustomerAccount(p.CustomerID),
		CustomerAccount(p.CustomerID), AccountMerchant}, op.Amount.Nanos)
}

// refundPostings reverse a capture for the refunded amount.
func refundPostings(p *Payment, op *Operation, at time.Time) []Posting {
	return journal(p, "refund/"+op.Key, at, []string{AccountMerchant, CustomerAccount(p.CustomerID),
		CustomerAccount(p.CustomerID), AccountProcessorClearing}, op.Amount.Nanos)
}

// journal posts amount to pairs of accounts: +amount to accounts[0], -amount
// to accounts[1], +amount to accounts[2], and so on.
func journal(p *Payment, what string, at time.Time, accounts []string, amount int64) []Posting {
	out := make([]Posting, len(accounts))
	for i, a := range accounts {
		amt := amount
		if i%2 == 1 {
			amt = -amount
		}
		out[i] = Posting{
			TxnID: p.ID + "/" + what, Line: i + 1, PaymentID: p.ID, Account: a, Currency: p.Amount.Currency,
			Amount: amt, Time: at,
		}
	}
	return out
}
